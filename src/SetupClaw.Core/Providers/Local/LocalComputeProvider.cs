using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace SetupClaw.Providers.Local;

/// <summary>
/// Runs each customer's runtime as a child process on a free loopback port. A service is a spec file (port and
/// variables) under the state directory; a deployment is a process started from it. Specs survive a restart of
/// the host, so the runtimes of active customers can be brought back.
/// </summary>
internal sealed partial class LocalComputeProvider : IComputeProvider, IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, RuntimeProcess> running = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> delayed = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, WakeListener> sleeping = new(StringComparer.Ordinal);

    // One start, stop, sleep or wake of a service at a time: a wake never revives a deleted or redeployed service.
    private readonly ConcurrentDictionary<string, SemaphoreSlim> locks = new(StringComparer.Ordinal);
    private readonly Plans.PlanCatalog plans;
    private readonly LocalProviderOptions options;
    private readonly ILogger<LocalComputeProvider> logger;
    private readonly string stateDirectory;
    private readonly RuntimeBinary binary;
    private readonly SemaphoreSlim restoreSlots;
    private int restoring;
    private int deploying;
    private int peakRestoring;

    public LocalComputeProvider(IOptions<LocalProviderOptions> options, ILogger<LocalComputeProvider> logger, Plans.PlanCatalog? plans = null)
    {
        this.plans = plans ?? new Plans.PlanCatalog(Options.Create(new Plans.PlansOptions()));
        this.options = options.Value;
        this.logger = logger;
        stateDirectory = Path.GetFullPath(this.options.StateDirectory ?? Path.Combine(".local", "services"));
        binary = RuntimeBinary.Resolve(this.options);
        LogRuntime(logger, binary.Native ? "native" : "managed", binary.Path, binary.Why);
        Directory.CreateDirectory(stateDirectory);
        restoreSlots = new SemaphoreSlim(Math.Max(1, this.options.MaxConcurrentRestores));
    }

    /// <summary>Restores under way now (started, not yet listening).</summary>
    public int Restoring => Volatile.Read(ref restoring);

    /// <summary>The most restores that were ever under way at once (never above <see cref="LocalProviderOptions.MaxConcurrentRestores"/>).</summary>
    public int PeakRestoring => Volatile.Read(ref peakRestoring);

    public async Task<ServiceResource> CreateServiceAsync(ServiceRequest request, CancellationToken cancellationToken)
    {
        if (!File.Exists(binary.Path))
        {
            throw new PermanentProvisioningException(
                $"The runtime is not built at {binary.Path}. Build it (dotnet build runtime/SetupClaw.Runtime, or ./setupclaw publish-runtime for the native one) or set Providers:Local:RuntimePath.");
        }

        var serviceId = request.ServiceId is { } recorded ? Checked(recorded) : ResourceNames.Service(request.OwnerId);
        var existing = await ReadSpecAsync(serviceId, cancellationToken);
        var spec = new ServiceSpec(serviceId, existing?.CustomerId ?? request.OwnerId, existing?.Port ?? LoopbackPorts.Free(), new Dictionary<string, string>(request.Variables))
        {
            InstallationId = request.InstallationId ?? existing?.InstallationId,
            SleepsWhenIdle = plans.IdleOf(request.Plan).Sleep,
        };
        await WriteSpecAsync(spec, cancellationToken);
        return new ServiceResource(serviceId, AccessUrl(spec.Port));
    }

    /// <summary>
    /// Starts a deployment: at once, or after <c>Providers:Local:DeployDelaySeconds</c> (a real provider's deploy time,
    /// so the local stack shows what customers would wait) and while <c>Providers:Local:DeployHoldFile</c> exists;
    /// meanwhile the deployment is in progress.
    /// </summary>
    public async Task<string> DeployAsync(string serviceId, CancellationToken cancellationToken)
    {
        serviceId = Checked(serviceId);
        var deploymentId = "dep_" + Guid.NewGuid().ToString("N")[..12];
        if (options.DeployDelaySeconds <= 0 && options.DeployHoldFile is null)
        {
            await StartAsync(serviceId, deploymentId, cancellationToken);
            _ = GoFirstAsync(serviceId);
            return deploymentId;
        }

        _ = await ReadSpecAsync(serviceId, cancellationToken) ?? throw new PermanentProvisioningException($"Service {serviceId} does not exist.");
        delayed[serviceId] = deploymentId;
        _ = Task.Run(async () =>
        {
            await Task.Delay(TimeSpan.FromSeconds(Math.Max(0, options.DeployDelaySeconds)), CancellationToken.None);
            while (options.DeployHoldFile is { } hold && File.Exists(hold))
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100), CancellationToken.None);
            }

            if (delayed.TryGetValue(serviceId, out var current) && current == deploymentId && Exists(serviceId))
            {
                try
                {
                    await StartAsync(serviceId, deploymentId, CancellationToken.None);
                    _ = GoFirstAsync(serviceId);
                }
                catch (Exception e) when (e is IOException or InvalidOperationException or PermanentProvisioningException or System.ComponentModel.Win32Exception)
                {
                    LogDelayedStartFailed(logger, serviceId, e);
                }
                finally
                {
                    delayed.TryRemove(KeyValuePair.Create(serviceId, deploymentId));
                }
            }
        }, CancellationToken.None);
        return deploymentId;
    }

    /// <summary>
    /// Starts the service's last deployment again, under the same deployment id, after the host restarted (local
    /// runtimes die with it): a saga that was waiting on that deployment sees it come up, as it would on Railway.
    /// </summary>
    /// <remarks>
    /// At most <see cref="LocalProviderOptions.MaxConcurrentRestores"/> at once, each until its runtime listens: a host
    /// with many customers comes back smoothly instead of starting every runtime in the same second on the same cores,
    /// and a new customer's deployment (which takes no slot) is not starved of CPU meanwhile.
    /// </remarks>
    public async Task RestoreAsync(string serviceId, CancellationToken cancellationToken)
    {
        serviceId = Checked(serviceId);
        await restoreSlots.WaitAsync(cancellationToken);
        var now = Interlocked.Increment(ref restoring);
        for (var peak = Volatile.Read(ref peakRestoring); now > peak; peak = Volatile.Read(ref peakRestoring))
        {
            Interlocked.CompareExchange(ref peakRestoring, now, peak);
        }

        try
        {
            // A new customer's runtime that is starting goes first: the restore waits (a while at most) until it listens.
            for (var waited = 0; Volatile.Read(ref deploying) > 0 && waited < 300; waited++)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken);
            }

            var path = DeploymentPath(serviceId);
            var deploymentId = File.Exists(path) ? (await File.ReadAllTextAsync(path, cancellationToken)).Trim() : "dep_" + Guid.NewGuid().ToString("N")[..12];
            await StartAsync(serviceId, deploymentId, cancellationToken);
            await UntilListeningAsync(serviceId, TimeSpan.FromSeconds(options.RestoreWaitSeconds), cancellationToken);
        }
        finally
        {
            Interlocked.Decrement(ref restoring);
            restoreSlots.Release();
        }
    }

    /// <summary>Holds restores back while a newly deployed runtime starts (until it listens, exits, or a minute passes).</summary>
    private async Task GoFirstAsync(string serviceId)
    {
        Interlocked.Increment(ref deploying);
        try
        {
            await UntilListeningAsync(serviceId, TimeSpan.FromMinutes(1), CancellationToken.None);
        }
        catch (Exception e) when (e is SocketException or IOException or InvalidOperationException)
        {
            // Only a priority hint: the deployment itself is watched by its saga.
        }
        finally
        {
            Interlocked.Decrement(ref deploying);
        }
    }

    /// <summary>Waits until the service's runtime accepts connections, exits, or <paramref name="timeout"/> passes.</summary>
    private async Task UntilListeningAsync(string serviceId, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline && running.TryGetValue(serviceId, out var runtime) && !runtime.Process.HasExited)
        {
            if (await IsListeningAsync(runtime.Port, cancellationToken))
            {
                return;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken);
        }
    }

    private async Task<IDisposable> LockAsync(string serviceId, CancellationToken cancellationToken)
    {
        var gate = locks.GetOrAdd(serviceId, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken);
        return new Releaser(gate);
    }

    private sealed class Releaser(SemaphoreSlim gate) : IDisposable
    {
        public void Dispose() => gate.Release();
    }

    private async Task<string> StartAsync(string serviceId, string deploymentId, CancellationToken cancellationToken)
    {
        using (await LockAsync(serviceId, cancellationToken))
        {
            return await StartUnlockedAsync(serviceId, deploymentId, cancellationToken);
        }
    }

    private async Task<string> StartUnlockedAsync(string serviceId, string deploymentId, CancellationToken cancellationToken)
    {
        var spec = await ReadSpecAsync(serviceId, cancellationToken)
            ?? throw new PermanentProvisioningException($"Service {serviceId} does not exist.");
        await StopAsync(serviceId);

        var start = binary.StartInfo(options.DotnetPath);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        start.WorkingDirectory = Path.GetDirectoryName(binary.Path)!;
        // An empty environment, then only what .NET needs and the service's own variables: nothing of the control
        // plane's (its connection strings, keys, the superuser password) reaches a customer's process.
        start.Environment.Clear();
        foreach (var (key, value) in InheritedEnvironment())
        {
            start.Environment[key] = value;
        }

        foreach (var (key, value) in spec.Variables)
        {
            start.Environment[key] = value;
        }

        start.Environment["PORT"] = spec.Port.ToString(CultureInfo.InvariantCulture);
        start.Environment["ASPNETCORE_URLS"] = AccessUrl(spec.Port);
        start.Environment["SETUPCLAW_PARENT_PID"] = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        if (spec.SleepsWhenIdle && options.SleepAfterIdleSeconds > 0)
        {
            // The platform's setting, not a service variable: on Railway the platform itself puts an idle service to sleep.
            start.Environment["Runtime__ExitAfterIdleSeconds"] = options.SleepAfterIdleSeconds.ToString(CultureInfo.InvariantCulture);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("The runtime process did not start.");
        var runtime = new RuntimeProcess(process, deploymentId, spec.Port, Path.Combine(stateDirectory, serviceId + ".log"));
        running[serviceId] = runtime;
        process.EnableRaisingEvents = true;
        process.Exited += (_, _) => _ = SleepIfIdleAsync(serviceId, runtime);
        await File.WriteAllTextAsync(PidPath(serviceId), process.Id.ToString(CultureInfo.InvariantCulture), cancellationToken);
        await File.WriteAllTextAsync(DeploymentPath(serviceId), deploymentId, cancellationToken);
        LogStarted(logger, serviceId, process.Id, spec.Port);
        return deploymentId;
    }

    /// <summary>A runtime that exited because it was idle sleeps: its port is answered here, and the next request wakes it.</summary>
    private async Task SleepIfIdleAsync(string serviceId, RuntimeProcess runtime)
    {
        if (runtime.Process.ExitCode != SleepExitCode)
        {
            return;
        }

        using (await LockAsync(serviceId, CancellationToken.None))
        {
            // Still this service's current runtime (not deleted, not redeployed meanwhile): its port is answered here.
            if (running.TryGetValue(serviceId, out var current) && current == runtime && Exists(serviceId))
            {
                // The pid is gone with the process: never kill whatever process reuses it.
                File.Delete(PidPath(serviceId));
                Listen(serviceId, runtime);
            }
        }
    }

    private void Listen(string serviceId, RuntimeProcess runtime)
    {
        try
        {
            var listener = new WakeListener(runtime.Port, runtime.DeploymentId, () => WakeAsync(serviceId, runtime));
            if (sleeping.TryAdd(serviceId, listener))
            {
                LogSleeping(logger, serviceId, runtime.Port);
            }
            else
            {
                _ = listener.DisposeAsync().AsTask();
            }
        }
        catch (SocketException e)
        {
            LogSleepFailed(logger, serviceId, e);
        }
    }

    /// <summary>The first connection to a sleeping runtime's port: the same deployment starts again, unless the service was deleted or redeployed meanwhile.</summary>
    private async Task WakeAsync(string serviceId, RuntimeProcess slept)
    {
        var clock = Stopwatch.StartNew();
        using (await LockAsync(serviceId, CancellationToken.None))
        {
            // The listener has let go of the port and forwards this first connection: it is only forgotten here.
            if (!sleeping.TryGetValue(serviceId, out var listener) || listener.DeploymentId != slept.DeploymentId
                || !running.TryGetValue(serviceId, out var current) || current != slept || !Exists(serviceId))
            {
                return;
            }

            sleeping.TryRemove(serviceId, out _);
            try
            {
                await StartUnlockedAsync(serviceId, slept.DeploymentId, CancellationToken.None);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // It stays asleep: the next connection tries again.
                LogWakeFailed(logger, serviceId, e);
                Listen(serviceId, slept);
                return;
            }
        }

        await UntilListeningAsync(serviceId, TimeSpan.FromSeconds(Math.Max(1, options.RestoreWaitSeconds)), CancellationToken.None);
        LogWoken(logger, serviceId, clock.Elapsed.TotalMilliseconds);
    }

    /// <summary>A runtime that exited idle, before its port is answered here (the exit is being handled): asleep, not down.</summary>
    private static bool WentToSleep(RuntimeProcess runtime) => runtime.Process.HasExited && runtime.Process.ExitCode == SleepExitCode;

    /// <summary>The runtime's exit code when it went to sleep idle (<c>IdleTrimmer.SleepExitCode</c> in the runtime).</summary>
    private const int SleepExitCode = 75;

    /// <summary>Running, sleeping (its port answered here), being deployed, or gone; asking never wakes it.</summary>
    public Task<string> StateAsync(ResourceRef service, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(service);
        var serviceId = ServiceIdOf(service);
        return Task.FromResult(!Exists(serviceId) ? ServiceStates.Missing
            : sleeping.ContainsKey(serviceId) ? ServiceStates.Sleeping
            : delayed.ContainsKey(serviceId) ? ServiceStates.Deploying
            : running.TryGetValue(serviceId, out var runtime) ? (WentToSleep(runtime) ? ServiceStates.Sleeping : runtime.Process.HasExited ? ServiceStates.Down : ServiceStates.Running)
            : ServiceStates.NotDeployed);
    }

    public async Task<DeploymentState> GetDeploymentAsync(string serviceId, string deploymentId, CancellationToken cancellationToken)
    {
        if (delayed.TryGetValue(serviceId, out var pending) && pending == deploymentId)
        {
            return new DeploymentState(DeploymentPhase.InProgress);
        }

        if (sleeping.TryGetValue(serviceId, out var asleep) && asleep.DeploymentId == deploymentId)
        {
            // As Railway's SLEEPING: deployed, and woken by its next request.
            return new DeploymentState(DeploymentPhase.Succeeded);
        }

        if (!running.TryGetValue(serviceId, out var runtime) || runtime.DeploymentId != deploymentId)
        {
            return new DeploymentState(DeploymentPhase.Failed, $"Deployment {deploymentId} of {serviceId} is no longer running (the host restarted or a newer deployment replaced it).");
        }

        if (WentToSleep(runtime))
        {
            return new DeploymentState(DeploymentPhase.Succeeded);
        }

        if (runtime.Process.HasExited)
        {
            return new DeploymentState(DeploymentPhase.Failed,
                $"The runtime exited with code {runtime.Process.ExitCode}. Last output: {runtime.Tail()}");
        }

        return await IsListeningAsync(runtime.Port, cancellationToken)
            ? new DeploymentState(DeploymentPhase.Succeeded)
            : new DeploymentState(DeploymentPhase.InProgress);
    }

    /// <summary>Asking the local provider costs nothing.</summary>
    public TimeSpan DeploymentWatchWindow => TimeSpan.Zero;

    /// <summary>
    /// A local runtime has no size to set (the process takes what the machine has); whether the plan sleeps when idle
    /// is recorded for its next start.
    /// </summary>
    public async Task<bool> ResizeAsync(ResourceRef service, Plans.Plan plan, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(plan);
        var serviceId = ServiceIdOf(service);
        var sleeps = plans.IdleOf(plan).Sleep;
        if (await ReadSpecAsync(serviceId, cancellationToken) is { } spec && spec.SleepsWhenIdle != sleeps)
        {
            await WriteSpecAsync(spec with { SleepsWhenIdle = sleeps }, cancellationToken);
        }

        return false;
    }

    public async Task DeleteServiceAsync(ResourceRef service, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(service);
        var serviceId = ServiceIdOf(service);
        using var held = await LockAsync(serviceId, cancellationToken);
        delayed.TryRemove(serviceId, out _);
        await StopAsync(serviceId);
        File.Delete(SpecPath(serviceId));
        File.Delete(PidPath(serviceId));
        File.Delete(DeploymentPath(serviceId));
        LogDeleted(logger, serviceId);
    }

    public async Task<IReadOnlyList<ProviderResource>> ListAsync(CancellationToken cancellationToken)
    {
        var found = new List<ProviderResource>();
        foreach (var path in Directory.EnumerateFiles(stateDirectory, "claw-*.json").Order(StringComparer.Ordinal))
        {
            var serviceId = Path.GetFileNameWithoutExtension(path);
            if (ResourceNames.OwnerOf(serviceId) is { } owner)
            {
                var spec = await ReadSpecAsync(serviceId, cancellationToken);
                found.Add(new ProviderResource(owner, serviceId, spec?.InstallationId));
            }
        }

        return found;
    }

    public async Task<string?> InstallationOfAsync(string serviceId, CancellationToken cancellationToken) =>
        (await ReadSpecAsync(Checked(serviceId), cancellationToken))?.InstallationId;

    /// <summary>A recorded service id is a file name here: only the names SetupClaw gives are accepted.</summary>
    /// <summary>The recorded service, else the one named for its owner.</summary>
    private static string ServiceIdOf(ResourceRef service) => service.ResourceId is { } recorded ? Checked(recorded) : ResourceNames.Service(service.OwnerId);

    private static string Checked(string serviceId) =>
        serviceId.StartsWith("claw-", StringComparison.Ordinal) && ResourceNames.OwnerOf(serviceId) is not null
            ? serviceId
            : throw new PermanentProvisioningException($"'{serviceId}' is not a local service SetupClaw created.");

    /// <summary>Whether a spec exists for the service: the restore at start-up redeploys only those.</summary>
    public bool Exists(string serviceId) => File.Exists(SpecPath(serviceId));

    /// <summary>Whether the runtime runs, or sleeps with its port answered here.</summary>
    public bool IsRunning(string serviceId) => sleeping.ContainsKey(serviceId) || (running.TryGetValue(serviceId, out var runtime) && !runtime.Process.HasExited);

    public async ValueTask DisposeAsync()
    {
        foreach (var serviceId in running.Keys)
        {
            await StopAsync(serviceId);
        }
    }

    private async Task StopAsync(string serviceId)
    {
        if (sleeping.TryRemove(serviceId, out var listener))
        {
            await listener.DisposeAsync();
        }

        if (running.TryRemove(serviceId, out var runtime))
        {
            await runtime.StopAsync();
        }

        // A process left by a host that was killed: stop it, so the port is free and nothing runs unowned.
        if (File.Exists(PidPath(serviceId)) &&
            int.TryParse(await File.ReadAllTextAsync(PidPath(serviceId)), out var pid) &&
            IsOurRuntime(pid, (await ReadSpecAsync(serviceId, CancellationToken.None))?.Port))
        {
            using var stale = Process.GetProcessById(pid);
            stale.Kill(entireProcessTree: true);
            await stale.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
    }

    /// <summary>
    /// Whether the process with a recorded pid is still this service's runtime (a pid is reused once its process is
    /// gone): a runtime of either build (a host restarted with the other one still owns what the last one started),
    /// started by a host, on this service's port.
    /// </summary>
    private bool IsOurRuntime(int pid, int? port)
    {
        try
        {
            var commandLine = File.ReadAllText($"/proc/{pid}/cmdline");
            var runtime = commandLine.Contains(binary.Path, StringComparison.Ordinal)
                || commandLine.Contains(RuntimeBinary.ManagedFileName, StringComparison.Ordinal)
                || commandLine.Contains(RuntimeBinary.NativeFileName + "\0", StringComparison.Ordinal);
            if (!runtime || port is null)
            {
                return false;
            }

            var environment = File.ReadAllText($"/proc/{pid}/environ").Split('\0');
            return environment.Contains($"PORT={port.Value.ToString(CultureInfo.InvariantCulture)}", StringComparer.Ordinal)
                && environment.Any(variable => variable.StartsWith("SETUPCLAW_PARENT_PID=", StringComparison.Ordinal));
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static async Task<bool> IsListeningAsync(int port, CancellationToken cancellationToken)
    {
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static string AccessUrl(int port) => $"http://127.0.0.1:{port}";

    /// <summary>The few variables of this process a runtime may see: where programs and .NET are, locale, time zone, temp.</summary>
    internal static IEnumerable<KeyValuePair<string, string>> InheritedEnvironment()
    {
        string[] names = ["PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "TZ", "DOTNET_ROOT", "DOTNET_CLI_HOME", "DOTNET_NOLOGO", "DOTNET_CLI_TELEMETRY_OPTOUT", "DOTNET_gcServer", "DOTNET_GCHeapHardLimit"];
        foreach (var name in names)
        {
            if (Environment.GetEnvironmentVariable(name) is { Length: > 0 } value)
            {
                yield return new(name, value);
            }
        }
    }

    private string SpecPath(string serviceId) => Path.Combine(stateDirectory, serviceId + ".json");

    private string PidPath(string serviceId) => Path.Combine(stateDirectory, serviceId + ".pid");

    private string DeploymentPath(string serviceId) => Path.Combine(stateDirectory, serviceId + ".deployment");

    /// <summary>Whether the service was ever deployed (and so should be running).</summary>
    public bool WasDeployed(string serviceId) => File.Exists(DeploymentPath(serviceId));

    private async Task<ServiceSpec?> ReadSpecAsync(string serviceId, CancellationToken cancellationToken)
    {
        var path = SpecPath(serviceId);
        if (!File.Exists(path))
        {
            return null;
        }

        await using var stream = File.OpenRead(path);
        return await JsonSerializer.DeserializeAsync<ServiceSpec>(stream, cancellationToken: cancellationToken);
    }

    private async Task WriteSpecAsync(ServiceSpec spec, CancellationToken cancellationToken)
    {
        // The spec holds the database URL: owner-only, written whole or not at all.
        var temporary = SpecPath(spec.ServiceId) + ".tmp";
        var fileOptions = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            fileOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        await using (var stream = new FileStream(temporary, fileOptions))
        {
            await JsonSerializer.SerializeAsync(stream, spec, cancellationToken: cancellationToken);
        }

        File.Move(temporary, SpecPath(spec.ServiceId), overwrite: true);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Local runtimes run the {Build} runtime {Path}: {Why}")]
    private static partial void LogRuntime(ILogger logger, string build, string path, string why);

    [LoggerMessage(Level = LogLevel.Information, Message = "Runtime {ServiceId} started as process {Pid} on port {Port}")]
    private static partial void LogStarted(ILogger logger, string serviceId, int pid, int port);

    [LoggerMessage(Level = LogLevel.Information, Message = "Runtime {ServiceId} stopped and deleted")]
    private static partial void LogDeleted(ILogger logger, string serviceId);

    [LoggerMessage(Level = LogLevel.Information, Message = "{ServiceId} is idle and sleeps; its next request on port {Port} wakes it")]
    private static partial void LogSleeping(ILogger logger, string serviceId, int port);

    [LoggerMessage(Level = LogLevel.Information, Message = "{ServiceId} woke up in {Milliseconds:0} ms")]
    private static partial void LogWoken(ILogger logger, string serviceId, double milliseconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "{ServiceId} could not be woken; it stays asleep and the next request tries again")]
    private static partial void LogWakeFailed(ILogger logger, string serviceId, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{ServiceId} exited idle but its port could not be answered; the host's next start restores it")]
    private static partial void LogSleepFailed(ILogger logger, string serviceId, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "The delayed deployment of {ServiceId} did not start")]
    private static partial void LogDelayedStartFailed(ILogger logger, string serviceId, Exception exception);

    /// <param name="CustomerId">The owner: a customer, or a pool member (the name is kept so older specs still read).</param>
    private sealed record ServiceSpec(string ServiceId, string CustomerId, int Port, Dictionary<string, string> Variables)
    {
        public string? InstallationId { get; init; }

        /// <summary>Whether the plan lets it sleep when idle (with <see cref="LocalProviderOptions.SleepAfterIdleSeconds"/>).</summary>
        public bool SleepsWhenIdle { get; init; }
    }
}

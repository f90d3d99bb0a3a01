using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using SetupClaw.Plans;
using SetupClaw.Providers;
using SetupClaw.Providers.Local;
using SetupClaw.Tests.Infrastructure;

namespace SetupClaw.Tests.Providers;

/// <summary>
/// The local host's restores after a restart, with stand-in runtimes (a small Python program) that start, say so,
/// and listen only when the test lets them: so what is under way at once is seen, not timed. The go-ahead is a
/// handshake, not a poll: each stand-in opens a FIFO for reading, which blocks until the test holds its write end open.
/// </summary>
public sealed class LocalRestoreTests : IDisposable
{
    // Marks its start (a file named after the service), blocks until the test opens the "go" FIFO, then listens on PORT.
    private const string StandIn =
        """
        import os, socket
        d = os.environ["STANDIN_DIR"]
        open(os.path.join(d, os.environ["STANDIN_NAME"] + ".started"), "w").close()
        open(os.path.join(d, "go"), "rb").close()
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", int(os.environ["PORT"])))
        s.listen(16)
        while True:
            s.accept()[0].close()
        """;

    private readonly string markers = Directory.CreateTempSubdirectory("setupclaw-standin-").FullName;
    private readonly string state = Directory.CreateTempSubdirectory("setupclaw-services-").FullName;
    private readonly string script;
    private readonly string go;

    public LocalRestoreTests()
    {
        script = Path.Combine(markers, "runtime.py");
        File.WriteAllText(script, StandIn);
        go = Path.Combine(markers, "go");
        using var mkfifo = System.Diagnostics.Process.Start("mkfifo", [go]);
        mkfifo.WaitForExit();
        Assert.Equal(0, mkfifo.ExitCode);
    }

    private int Started => Directory.GetFiles(markers, "*.started").Length;

    [Fact]
    public async Task Restores_NeverExceedTheConfiguredConcurrency_AndANewCustomersDeploymentDoesNotWaitForThem()
    {
        var serviceIds = new List<string>();
        // Six deployed services, as before the host stopped (its runtimes die with it).
        await using (var before = Provider())
        {
            for (var i = 0; i < 6; i++)
            {
                serviceIds.Add(await DeployAsync(before, $"old{i}"));
            }

            await using (await GoAsync())
            {
                await Wait.UntilAsync(() => Task.FromResult(Started == 6), TimeSpan.FromSeconds(30), "the six runtimes to start");
            }
        }

        foreach (var file in Directory.GetFiles(markers, "*.started"))
        {
            File.Delete(file);
        }

        await using var provider = Provider();
        var restores = serviceIds.Select(id => provider.RestoreAsync(id, default)).ToList();

        // Two start; none listens until "go", so no slot frees and no third can start.
        await Wait.UntilAsync(() => Task.FromResult(Started == 2), TimeSpan.FromSeconds(30), "two restores to start");
        Assert.Equal(2, provider.Restoring);
        Assert.Equal(2, Started);
        Assert.DoesNotContain(restores, r => r.IsCompleted);

        // A new customer's deployment takes no restore slot: it starts while both are held.
        var fresh = await DeployAsync(provider, "new");
        await Wait.UntilAsync(() => Task.FromResult(File.Exists(Path.Combine(markers, "new.started"))), TimeSpan.FromSeconds(30), "the new customer's runtime to start");
        Assert.Equal(2, provider.Restoring);
        Assert.Equal(3, Started);

        await using var letThemListen = await GoAsync();
        await Task.WhenAll(restores).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(2, provider.PeakRestoring);
        Assert.Equal(7, Started);
        Assert.All(serviceIds.Append(fresh), id => Assert.True(provider.IsRunning(id), id));
    }

    public void Dispose()
    {
        Directory.Delete(markers, recursive: true);
        Directory.Delete(state, recursive: true);
    }

    /// <summary>Opens the FIFO's write end (once some stand-in waits on it): every stand-in goes on while it is held open.</summary>
    private async Task<FileStream> GoAsync() =>
        await Task.Run(() => new FileStream(go, FileMode.Open, FileAccess.Write)).WaitAsync(TimeSpan.FromSeconds(30));

    private LocalComputeProvider Provider() => new(Options.Create(new LocalProviderOptions
    {
        StateDirectory = state,
        DotnetPath = "python3",
        RuntimePath = script,
        MaxConcurrentRestores = 2,
        RestoreWaitSeconds = 120,
    }), NullLogger<LocalComputeProvider>.Instance);

    private async Task<string> DeployAsync(LocalComputeProvider provider, string name)
    {
        var service = await provider.CreateServiceAsync(new ServiceRequest(CustomerIds.New(), Plan.StarterPlan,
            new Dictionary<string, string> { ["STANDIN_DIR"] = markers, ["STANDIN_NAME"] = name }), default);
        await provider.DeployAsync(service.ServiceId, default);
        return service.ServiceId;
    }
}

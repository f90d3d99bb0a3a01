using System.Diagnostics;
using System.Globalization;
using System.Text;
using SetupClaw.Providers.Local;

namespace SetupClaw.Tests.Infrastructure;

/// <summary>The real local host, started as its own process on a free loopback port, as <c>./setupclaw up</c> runs it.</summary>
public sealed class LocalHostProcess : IAsyncDisposable
{
    public const string WebhookSecret = "whsec_test_0123456789abcdef0123456789abcdef";
    public const string AdminKey = "admin_test_key_0123456789";

    private readonly Process process;
    private readonly StringBuilder output = new();

    private LocalHostProcess(Process process, Uri baseUrl, string stateDirectory)
    {
        this.process = process;
        BaseUrl = baseUrl;
        StateDirectory = stateDirectory;
    }

    public Uri BaseUrl { get; }

    public string StateDirectory { get; }

    public int ProcessId => process.Id;

    public HttpClient CreateClient() => new() { BaseAddress = BaseUrl, Timeout = TimeSpan.FromSeconds(30) };

    public string Output
    {
        get
        {
            lock (output)
            {
                return output.ToString();
            }
        }
    }

    public static async Task<LocalHostProcess> StartAsync(
        string controlConnectionString, string? stateDirectory = null, IReadOnlyDictionary<string, string>? settings = null)
    {
        var port = LoopbackPorts.Free();
        var baseUrl = new Uri($"http://127.0.0.1:{port}");
        stateDirectory ??= Directory.CreateTempSubdirectory("setupclaw-services-").FullName;
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { Path.Combine(AppContext.BaseDirectory, "SetupClaw.LocalHost.dll") },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        var environment = new Dictionary<string, string>
        {
            ["ConnectionStrings__ControlDatabase"] = controlConnectionString,
            ["LocalHost__Url"] = baseUrl.ToString(),
            ["App__PublicBaseUrl"] = baseUrl.ToString(),
            ["Stripe__SecretKey"] = "",
            // Emails go to the state directory's outbox unless a test starts an SMTP server (CustomerPagesFixture).
            ["Email__SmtpHost"] = "",
            ["Email__OutboxDirectory"] = Path.Combine(stateDirectory, "outbox"),
            ["Stripe__WebhookSecret"] = WebhookSecret,
            ["Security__EncryptionKey"] = Convert.ToBase64String(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray()),
            ["Security__AdminKey"] = AdminKey,
            ["Providers__Local__StateDirectory"] = stateDirectory,
            ["Providers__Local__AdminConnectionString"] = TestDatabase.AdminConnectionString,
            ["Plans__Pro__MonthlyPriceUsd"] = "79",
            ["Plans__Starter__StripePriceId"] = "price_test_starter",
            ["Plans__Pro__StripePriceId"] = "price_test_pro",
            ["Plans__Team__StripePriceId"] = "price_test_team",
            // One address (loopback) signs up hundreds of customers here, and some tests send wrong admin keys on purpose.
            ["RateLimits__SignupsPerMinute"] = "100000",
            ["RateLimits__AdminFailuresBeforeLockout"] = "100000",
            ["Logging__LogLevel__Default"] = "Information",
            ["Logging__LogLevel__Microsoft.AspNetCore"] = "Warning",
        };
        foreach (var (key, value) in environment.Concat(settings ?? new Dictionary<string, string>()))
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start)!;
        var host = new LocalHostProcess(process, baseUrl, stateDirectory);
        process.OutputDataReceived += (_, e) => host.Append(e.Data);
        process.ErrorDataReceived += (_, e) => host.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var client = host.CreateClient();
        await Wait.UntilAsync(async () =>
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException("The local host exited:\n" + host.Output);
            }

            try
            {
                return (await client.GetAsync("/healthz")).IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(60), "the local host to answer /healthz");
        return host;
    }

    /// <summary>
    /// The host dies at once (SIGKILL, nothing flushed); the runtimes it started notice their parent is gone and exit.
    /// Not the whole tree in one call: walking it first took long enough for a fast step to finish meanwhile.
    /// </summary>
    public async Task CrashAsync()
    {
        process.Kill();
        await process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            using (var term = Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await term.WaitForExitAsync();
            }

            try
            {
                await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(15));
            }
            catch (TimeoutException)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (output)
            {
                output.AppendLine(line);
            }
        }
    }
}

public static class Wait
{
    /// <summary>Polls a condition until it holds or the deadline passes: no fixed sleeps in tests.</summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what, TimeSpan? poll = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0} s waiting for {what}.");
            }

            await Task.Delay(poll ?? TimeSpan.FromMilliseconds(50));
        }
    }
}

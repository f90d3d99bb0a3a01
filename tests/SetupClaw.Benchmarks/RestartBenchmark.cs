using System.Diagnostics;
using System.Globalization;
using SetupClaw.Billing;
using SetupClaw.Tests.Infrastructure;

namespace SetupClaw.Benchmarks;

/// <summary>
/// A local stack with N active customers restarts: how long until every runtime answers /health again, and how long a
/// customer who pays during the restores waits to be active, with restores bounded (the default) and with every
/// runtime started at once (the old behaviour). Prints figures; asserts nothing. Usage: ./setupclaw bench restart [N]
/// </summary>
internal static class RestartBenchmark
{
    public static async Task RunAsync(int count)
    {
        var database = new TestDatabase();
        await database.InitializeAsync();
        var state = Directory.CreateTempSubdirectory("setupclaw-bench-restart-").FullName;
        try
        {
            var wall = Stopwatch.StartNew();
            await using (var host = await LocalHostProcess.StartAsync(database.ConnectionString, state))
            {
                var client = new ControlPlaneClient(host.CreateClient());
                for (var i = 0; i < count; i++)
                {
                    await PayAsync(client, $"restart{i}@example.com");
                }
            }

            Console.WriteLine($"Restart benchmark: {count} active customers on the local stack, {Environment.ProcessorCount} cores ({wall.Elapsed.TotalSeconds:0} s to provision them)");
            Console.WriteLine();
            foreach (var (label, limit) in new[] { ("bounded, default 1", 1), ("bounded, 2", 2), ("all at once (before)", 1000) })
            {
                var settings = new Dictionary<string, string> { ["Providers__Local__MaxConcurrentRestores"] = limit.ToString(CultureInfo.InvariantCulture) };
                var restart = Stopwatch.StartNew();
                await using var host = await LocalHostProcess.StartAsync(database.ConnectionString, state, settings);
                var hostUp = restart.Elapsed;
                var client = new ControlPlaneClient(host.CreateClient());
                var load = new LoadSampler();
                var newcomer = PayAsync(client, $"newcomer-{limit}@example.com");
                var urls = await AccessUrlsAsync(database);
                using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
                await Wait.UntilAsync(async () => (await Task.WhenAll(urls.Select(u => AnswersAsync(http, u)))).All(ok => ok),
                    TimeSpan.FromMinutes(10), "every runtime to answer /health", TimeSpan.FromMilliseconds(250));
                var allHealthy = restart.Elapsed;
                var toActive = await newcomer;
                var (peakLoad, peakRunnable) = load.Stop();
                Console.WriteLine($"  {label,-22} host up {hostUp.TotalSeconds,5:0.0} s   all {urls.Count} healthy {allHealthy.TotalSeconds,6:0.0} s   " +
                    $"new customer paid -> active {toActive.TotalSeconds,5:0.0} s   peak runnable {peakRunnable,3}   peak load average {peakLoad:0.0}");
            }
        }
        finally
        {
            await database.DisposeAsync();
            Directory.Delete(state, recursive: true);
        }
    }

    private static async Task<TimeSpan> PayAsync(ControlPlaneClient client, string email)
    {
        var (id, token, _) = await client.SignupAsync(email, "starter");
        var paid = Stopwatch.StartNew();
        using var answer = await client.SendEventAsync(StripeEventFactory.CheckoutCompleted(id, email, DateTimeOffset.UtcNow));
        await client.WaitForStatusAsync(id, token, "active", TimeSpan.FromMinutes(5));
        return paid.Elapsed;
    }

    private static async Task<List<string>> AccessUrlsAsync(TestDatabase database)
    {
        await using var command = database.DataSource.CreateCommand("select access_url from customers where provisioning_status = 'active' and email like 'restart%'");
        await using var reader = await command.ExecuteReaderAsync();
        var urls = new List<string>();
        while (await reader.ReadAsync())
        {
            urls.Add(reader.GetString(0));
        }

        return urls;
    }

    private static async Task<bool> AnswersAsync(HttpClient http, string url)
    {
        try
        {
            using var health = await http.GetAsync(url.TrimEnd('/') + "/health");
            return health.IsSuccessStatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    /// <summary>
    /// The highest one-minute load average and the most runnable tasks at one moment while it runs (read from
    /// /proc/loadavg every 500 ms; the load average carries over from what ran just before, the runnable count does not).
    /// </summary>
    private sealed class LoadSampler
    {
        private readonly CancellationTokenSource stop = new();
        private readonly Task<(double, int)> sampling;

        public LoadSampler() => sampling = SampleAsync(stop.Token);

        public (double PeakLoad, int PeakRunnable) Stop()
        {
            stop.Cancel();
            var peak = sampling.GetAwaiter().GetResult();
            stop.Dispose();
            return peak;
        }

        private static async Task<(double, int)> SampleAsync(CancellationToken cancellationToken)
        {
            var peak = 0.0;
            var runnable = 0;
            while (!cancellationToken.IsCancellationRequested)
            {
                var fields = (await File.ReadAllTextAsync("/proc/loadavg", CancellationToken.None)).Split(' ');
                peak = Math.Max(peak, double.Parse(fields[0], CultureInfo.InvariantCulture));
                runnable = Math.Max(runnable, int.Parse(fields[3].Split('/')[0], CultureInfo.InvariantCulture));
                try
                {
                    await Task.Delay(500, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }

            return (peak, runnable);
        }
    }
}

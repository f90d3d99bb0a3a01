using System.Diagnostics;
using System.Globalization;
using SetupClaw.Billing;
using SetupClaw.Tests.Infrastructure;

namespace SetupClaw.Benchmarks;

/// <summary>
/// A local stack with N active customers restarts: how long until every runtime answers /health again, and how long a
/// customer who pays during the restores waits to be active, with restores bounded (the default) and with every
/// runtime started at once (the old behaviour), for the managed runtime and (when published) the native one. Prints
/// figures; asserts nothing. Usage: ./setupclaw bench restart [N]
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
            var native = RuntimeInstance.Binary.Native;
            var runs = new List<(string Label, string Build, int Limit)> { ("managed, bounded 1", "managed", 1), ("managed, all at once", "managed", 1000) };
            if (native)
            {
                runs.AddRange([("native, bounded 1", "native", 1), ("native, bounded 2", "native", 2), ("native, all at once", "native", 1000)]);
            }
            else
            {
                Console.WriteLine($"  (no native runtime: {RuntimeInstance.Binary.Why})");
            }

            foreach (var (label, build, limit) in runs)
            {
                var settings = new Dictionary<string, string>
                {
                    ["Providers__Local__MaxConcurrentRestores"] = limit.ToString(CultureInfo.InvariantCulture),
                    ["Providers__Local__Runtime"] = build,
                };
                var restart = Stopwatch.StartNew();
                await using var host = await LocalHostProcess.StartAsync(database.ConnectionString, state, settings);
                var hostUp = restart.Elapsed;
                var client = new ControlPlaneClient(host.CreateClient());
                var load = new LoadPeaks();
                var newcomer = PayAsync(client, $"newcomer-{build}-{limit}@example.com");
                var urls = await AccessUrlsAsync(database);
                using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
                // The load is read at each look at the runtimes (every 250 ms): no sampler of its own.
                await Wait.UntilAsync(async () => load.Read() && (await Task.WhenAll(urls.Select(u => AnswersAsync(http, u)))).All(ok => ok),
                    TimeSpan.FromMinutes(10), "every runtime to answer /health", TimeSpan.FromMilliseconds(250));
                var allHealthy = restart.Elapsed;
                var toActive = await newcomer;
                var (peakLoad, peakRunnable) = (load.PeakLoad, load.PeakRunnable);
                Console.WriteLine($"  {label,-21} host up {hostUp.TotalSeconds,5:0.0} s   all {urls.Count} healthy {allHealthy.TotalSeconds,6:0.0} s   " +
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
    /// The highest one-minute load average and the most runnable tasks at one moment among the readings of
    /// /proc/loadavg (the load average carries over from what ran just before; the runnable count does not).
    /// </summary>
    private sealed class LoadPeaks
    {
        public double PeakLoad { get; private set; }

        public int PeakRunnable { get; private set; }

        /// <summary>Takes one reading; true, so it can stand first in a wait's condition.</summary>
        public bool Read()
        {
            var fields = File.ReadAllText("/proc/loadavg").Split(' ');
            PeakLoad = Math.Max(PeakLoad, double.Parse(fields[0], CultureInfo.InvariantCulture));
            PeakRunnable = Math.Max(PeakRunnable, int.Parse(fields[3].Split('/')[0], CultureInfo.InvariantCulture));
            return true;
        }
    }
}

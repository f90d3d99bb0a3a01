using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using SetupClaw.Billing;
using SetupClaw.Pool;
using SetupClaw.Tests.Infrastructure;

namespace SetupClaw.Benchmarks;

/// <summary>
/// Sleep when idle, measured on the local stack: N Starter assistants sleep after 1 s idle (the host answers their
/// ports), then each one's first request after sleep is timed to its answer (/health, then a chat), against the same
/// requests to an awake runtime; and what an idle assistant costs a month at the providers' published prices, awake
/// and asleep. Prints figures; asserts nothing. Usage: ./setupclaw bench wake [N]
/// </summary>
internal static class WakeBenchmark
{
    public static async Task RunAsync(int count)
    {
        var database = new TestDatabase();
        await database.InitializeAsync();
        await using var model = await StubModelServer.StartAsync();
        try
        {
            var settings = new Dictionary<string, string>(Tests.Runtime.Llm.OpenAi(model)) { ["Providers__Local__SleepAfterIdleSeconds"] = "1" };
            await using var host = await LocalHostProcess.StartAsync(database.ConnectionString, settings: settings);
            var client = new ControlPlaneClient(host.CreateClient());
            var assistants = new List<(string Id, HttpClient Runtime)>();
            for (var i = 0; i < count; i++)
            {
                var (id, token, _) = await client.SignupAsync($"wake{i}@example.com", "starter");
                using (await client.SendEventAsync(StripeEventFactory.CheckoutCompleted(id, $"wake{i}@example.com", DateTimeOffset.UtcNow)))
                {
                }

                var status = await client.WaitForStatusAsync(id, token, "active", TimeSpan.FromMinutes(5));
                var runtime = new HttpClient { BaseAddress = new Uri(status.GetProperty("accessUrl").GetString()!), Timeout = TimeSpan.FromSeconds(60) };
                runtime.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", status.GetProperty("apiKey").GetString()!);
                assistants.Add((id, runtime));
            }

            var (wakeHealth, wakeChat, awakeHealth, awakeChat) = (new List<double>(), new List<double>(), new List<double>(), new List<double>());
            foreach (var (id, runtime) in assistants)
            {
                await Wait.UntilAsync(async () => await client.ServiceStateAsync(id) == "sleeping", TimeSpan.FromMinutes(2), $"{id} to sleep", TimeSpan.FromMilliseconds(100));
                wakeHealth.Add(await TimeAsync(() => runtime.GetAsync("/health")));
                wakeChat.Add(await TimeAsync(() => runtime.PostAsJsonAsync("/api/chat", new { message = "Good morning" })));
                awakeHealth.Add(await TimeAsync(() => runtime.GetAsync("/health")));
                awakeChat.Add(await TimeAsync(() => runtime.PostAsJsonAsync("/api/chat", new { message = "Still there?" })));
            }

            string Figures(List<double> ms) => $"p50 {Stats.Percentile(ms, 50),7:0} ms   max {ms.Max(),7:0} ms";
            Console.WriteLine($"Wake benchmark: {count} Starter assistants on the local stack ({(RuntimeInstance.Binary.Native ? "native" : "managed")} runtime), {Environment.ProcessorCount} cores");
            Console.WriteLine($"  first request after sleep -> answer (/health)   {Figures(wakeHealth)}");
            Console.WriteLine($"  then a chat (woken)                             {Figures(wakeChat)}");
            Console.WriteLine($"  awake: /health                                  {Figures(awakeHealth)}");
            Console.WriteLine($"  awake: a chat                                   {Figures(awakeChat)}");
            Console.WriteLine();
            // Railway bills memory and CPU per second while the service runs, nothing while it sleeps; Neon bills the
            // compute while it is active, nothing while suspended (storage aside, under a cent for an assistant's data).
            var (neonAwake, railwayAwake) = PoolCost.PerMemberMonth(0);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  an idle assistant a month: awake ${neonAwake + railwayAwake:0.00} (Neon 0.25 CU all month ${neonAwake:0.00}, Railway {PoolCost.IdleMemoryGb * 1024:0} MiB and {PoolCost.IdleVcpu:0.00} vCPU ${railwayAwake:0.00}); asleep about $0.00 beyond storage"));
            foreach (var (_, runtime) in assistants)
            {
                runtime.Dispose();
            }
        }
        finally
        {
            await database.DisposeAsync();
        }
    }

    private static async Task<double> TimeAsync(Func<Task<HttpResponseMessage>> request)
    {
        var clock = Stopwatch.StartNew();
        using var answer = await request();
        answer.EnsureSuccessStatusCode();
        return clock.Elapsed.TotalMilliseconds;
    }
}

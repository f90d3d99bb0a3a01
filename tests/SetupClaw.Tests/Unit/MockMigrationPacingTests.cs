using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using SetupClaw.Cli;
using SetupClaw.Migration;
using SetupClaw.Tests.Infrastructure;

namespace SetupClaw.Tests.Unit;

/// <summary><c>migrate-mock --provision --per-minute N</c> starts at most N provisionings a minute, on a fake clock.</summary>
public sealed class MockMigrationPacingTests
{
    [Fact]
    public async Task Provision_StartsOneCustomerPerInterval_AndNoSooner()
    {
        var clock = new CountingClock();
        var api = new FakeOperatorApi(clock);
        var start = clock.GetUtcNow();
        var runner = new MockMigrationRunner(new OperatorApi(new HttpClient(api) { BaseAddress = new Uri("http://control.invalid/") }), _ => { }, clock);
        MockCustomerRow[] rows = [Row("1"), Row("2"), Row("3")];
        var options = new MockMigrationOptions(MockMigrationModes.Provision, false, false, false, PerMinute: 2, new Dictionary<string, string>(), [], TimeSpan.FromMinutes(5));

        var (plan, run) = await runner.PlanAsync(rows, options, CancellationToken.None);
        Assert.All(plan, d => Assert.Equal(MockOutcomes.Planned, d.Outcome));
        var report = run(CancellationToken.None);

        // The first starts at once; the second only when the clock reaches 30 s (2 a minute), the third at 60 s.
        // Each wait for the next slot is a timer on the clock (the handshake); the clock then jumps to that slot, and
        // each start records the fake time it happened at.
        await Wait.UntilAsync(() => Task.FromResult(api.Started == 1), TimeSpan.FromSeconds(10), "the first provisioning");
        for (var slot = 1; slot < 3; slot++)
        {
            var timers = slot;
            await Wait.UntilAsync(() => Task.FromResult(clock.Timers == timers), TimeSpan.FromSeconds(10), $"the runner to wait for slot {slot}");
            Assert.Equal(slot, api.Started);
            clock.Advance(TimeSpan.FromSeconds(30));
        }

        var done = await report;
        Assert.Equal([TimeSpan.Zero, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(60)], api.StartedAt.Select(t => t - start));
        Assert.Equal(3, done.Done);
        Assert.All(done.Customers, d => Assert.Contains("active", d.Reason, StringComparison.Ordinal));
    }

    /// <summary>A fake clock that counts the timers made on it: a <c>Task.Delay</c> on it is one.</summary>
    private sealed class CountingClock : TimeProvider
    {
        private readonly FakeTimeProvider fake = new();
        private int timers;

        public int Timers => Volatile.Read(ref timers);

        public void Advance(TimeSpan by) => fake.Advance(by);

        public override DateTimeOffset GetUtcNow() => fake.GetUtcNow();

        public override long GetTimestamp() => fake.GetTimestamp();

        public override long TimestampFrequency => fake.TimestampFrequency;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            Interlocked.Increment(ref timers);
            return fake.CreateTimer(callback, state, dueTime, period);
        }
    }

    private static MockCustomerRow Row(string id) => new(id, $"m{id}@mock.example", "cus_mock" + id, "sub_mock" + id, "starter", "active");

    /// <summary>The operator API as the runner uses it: a plan of provisions, each started as asked, each active at once.</summary>
    private sealed class FakeOperatorApi(TimeProvider clock) : HttpMessageHandler
    {
        private int started;

        public int Started => Volatile.Read(ref started);

        public System.Collections.Concurrent.ConcurrentQueue<DateTimeOffset> StartedAt { get; } = new();

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Method == HttpMethod.Get)
            {
                return Json(new JsonObject { ["status"] = "active" });
            }

            var body = JsonNode.Parse(await request.Content!.ReadAsStringAsync(cancellationToken))!;
            var dryRun = body["dryRun"]!.GetValue<bool>();
            if (!dryRun)
            {
                StartedAt.Enqueue(clock.GetUtcNow());
                Interlocked.Increment(ref started);
            }

            var decisions = new JsonArray();
            foreach (var row in body["customers"]!.AsArray())
            {
                var id = row!["sourceId"]!.GetValue<string>();
                decisions.Add(new JsonObject
                {
                    ["sourceId"] = id, ["email"] = row["email"]!.GetValue<string>(), ["action"] = "provision",
                    ["outcome"] = dryRun ? "planned" : "done", ["reason"] = "live; provisioning started", ["customerId"] = dryRun ? null : "cus_0000000000000000000" + id,
                });
            }

            return Json(new JsonObject { ["decisions"] = decisions });
        }

        private static HttpResponseMessage Json(JsonNode body) =>
            new(HttpStatusCode.OK) { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
    }
}

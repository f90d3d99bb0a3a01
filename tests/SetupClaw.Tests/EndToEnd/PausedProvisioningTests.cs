using System.Net;
using System.Text.Json;
using SetupClaw.Billing;
using SetupClaw.Tests.Infrastructure;

namespace SetupClaw.Tests.EndToEnd;

/// <summary>
/// The rollback switch: with <c>Provisioning:Paused</c> a paid event is verified, recorded and acknowledged, its fact
/// stored, and nothing is provisioned; the customer stays pending and its status says so. The host started again with
/// the switch off provisions that customer at once, without waiting for a sweep.
/// </summary>
public sealed class PausedProvisioningTests : IAsyncLifetime
{
    private readonly TestDatabase database = new();

    public Task InitializeAsync() => database.InitializeAsync();

    public Task DisposeAsync() => database.DisposeAsync();

    [Fact]
    public async Task APaidEvent_WhilePaused_IsRecordedAndWaits_AndIsProvisionedOnceResumed()
    {
        var state = Directory.CreateTempSubdirectory("setupclaw-paused-").FullName;
        // A long sweep interval: only the start-up recovery can provision the waiting customer in this test.
        var paused = new Dictionary<string, string> { ["Provisioning__Paused"] = "true", ["Sweep__IntervalSeconds"] = "3600" };
        string customerId, token;
        await using (var host = await LocalHostProcess.StartAsync(database.ConnectionString, state, paused))
        {
            var client = new ControlPlaneClient(host.CreateClient());
            (customerId, token, var signup) = await client.SignupAsync("paused@example.com", "starter");
            using var paid = await client.SendEventAsync(StripeEventFactory.CheckoutCompleted(customerId, "paused@example.com", DateTimeOffset.UtcNow, signup.GetProperty("checkoutSessionId").GetString()));
            Assert.Equal(HttpStatusCode.OK, paid.StatusCode);

            Assert.Equal(1, await database.CountAsync($"select count(*) from stripe_events where customer_id = '{customerId}'"));
            Assert.Equal("active", await database.TextAsync($"select billing_state from customers where id = '{customerId}'"));
            var (_, status) = await client.StatusAsync(customerId, token);
            Assert.Equal("pending", status.GetProperty("status").GetString());
            Assert.Contains("paused", status.GetProperty("notice").GetString(), StringComparison.Ordinal);

            // A sweep while paused starts nothing, and says why.
            using var sweep = await client.AdminAsync(HttpMethod.Post, "/api/operator/sweep");
            var report = JsonDocument.Parse(await sweep.Content.ReadAsStringAsync()).RootElement;
            Assert.True(report.GetProperty("paused").GetBoolean());
            Assert.Equal(0, report.GetProperty("runsStarted").GetInt32());

            // Neither a smoke test nor a backfill starts while paused.
            foreach (var path in new[] { "/api/operator/smoke", "/api/operator/backfill" })
            {
                using var refused = await client.AdminAsync(HttpMethod.Post, path);
                Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
            }

            Assert.Equal("pending", (await client.StatusAsync(customerId, token)).Body.GetProperty("status").GetString());
            Assert.Null(await database.TextAsync($"select lifecycle_instance from customers where id = '{customerId}'"));
            Assert.False(await TestDatabase.AdminExistsAsync("select 1 from pg_database where datname = @name", "claw_" + customerId));
        }

        await using var resumed = await LocalHostProcess.StartAsync(database.ConnectionString, state, new Dictionary<string, string> { ["Sweep__IntervalSeconds"] = "3600" });
        var again = new ControlPlaneClient(resumed.CreateClient());
        var active = await again.WaitForStatusAsync(customerId, token, "active", TimeSpan.FromSeconds(90));
        Assert.Equal(JsonValueKind.Null, active.GetProperty("notice").ValueKind);
        Assert.Equal(1, await database.CountAsync($"select count(*) from provisioning_steps where customer_id = '{customerId}' and step = 'create_database'"));

        await again.SendEventAsync(StripeEventFactory.SubscriptionDeleted(customerId, DateTimeOffset.UtcNow));
        await again.WaitForStatusAsync(customerId, token, "deprovisioned", TimeSpan.FromSeconds(60));
    }
}

using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using SetupClaw.Billing;
using SetupClaw.Tests.Infrastructure;

namespace SetupClaw.Tests.EndToEnd;

/// <summary>
/// A customer's life after sign-up, over HTTP against the real local host and a real runtime process: downgrade,
/// upgrade, an old event arriving late, suspension for an unpaid invoice and resumption, then cancellation with the
/// data archived first.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class LifecycleEndToEndTests(LocalStackFixture stack)
{
    [Fact]
    public async Task PlanChangesSuspensionAndCancellation_FollowStripe_AndKeepTheData()
    {
        var client = stack.Client;
        var (customerId, token, signup) = await client.SignupAsync("linus@example.com", "pro");
        var t0 = DateTimeOffset.UtcNow.AddMinutes(-30);
        await client.SendEventAsync(StripeEventFactory.CheckoutCompleted(customerId, "linus@example.com", t0, signup.GetProperty("checkoutSessionId").GetString()));
        var active = await client.WaitForStatusAsync(customerId, token, "active", TimeSpan.FromSeconds(90));
        var apiKey = active.GetProperty("apiKey").GetString()!;
        using var runtime = new HttpClient { BaseAddress = new Uri(active.GetProperty("accessUrl").GetString()!) };
        runtime.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        (await runtime.PostAsJsonAsync("/api/memory", new { content = "Linus prefers tabs in makefiles" })).EnsureSuccessStatusCode();
        Assert.Contains("meeting-prep", await EnabledSkillsAsync(runtime));

        // Downgrade: the runtime restarts on Starter; Pro's skills stop counting, the memory stays.
        await client.SendEventAsync(StripeEventFactory.SubscriptionUpdated(customerId, "price_test_starter", "active", t0.AddMinutes(1)));
        await WaitForPlanAsync(runtime, "starter");
        await WaitSettledAsync(customerId);
        Assert.DoesNotContain("meeting-prep", await EnabledSkillsAsync(runtime));
        Assert.Contains("note-taker", await EnabledSkillsAsync(runtime));
        var status = await runtime.GetFromJsonAsync<JsonElement>("/status");
        Assert.Equal(5_000, status.GetProperty("plan").GetProperty("limits").GetProperty("messagesPerMonth").GetInt32());
        Assert.Contains("tabs in makefiles", await runtime.GetStringAsync("/api/memory"), StringComparison.Ordinal);

        // Upgrade to Team: Team's own skill is offered and on.
        await client.SendEventAsync(StripeEventFactory.SubscriptionUpdated(customerId, "price_test_team", "active", t0.AddMinutes(2)));
        await WaitForPlanAsync(runtime, "team");
        await WaitSettledAsync(customerId);
        Assert.Contains("team-handoff", await EnabledSkillsAsync(runtime));
        Assert.Contains("meeting-prep", await EnabledSkillsAsync(runtime));

        // An event from before the upgrade arrives now: it changes nothing.
        using (var late = await client.SendEventAsync(StripeEventFactory.SubscriptionUpdated(customerId, "price_test_pro", "active", t0.AddSeconds(90))))
        {
            Assert.Contains("no_change", await late.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // Stripe gives up on a payment: chat answers 402 with what to do; the data stays readable.
        await client.SendEventAsync(StripeEventFactory.Invoice(customerId, paid: false, finalAttempt: false, t0.AddMinutes(3)));
        await WaitSettledAsync(customerId);
        Assert.Equal("active", (await client.StatusAsync(customerId, token)).Body.GetProperty("status").GetString());
        await client.SendEventAsync(StripeEventFactory.Invoice(customerId, paid: false, finalAttempt: true, t0.AddMinutes(4)));
        await client.WaitForStatusAsync(customerId, token, "suspended", TimeSpan.FromSeconds(30));
        using (var refused = await runtime.PostAsJsonAsync("/api/chat", new { message = "hello?" }))
        {
            Assert.Equal(HttpStatusCode.PaymentRequired, refused.StatusCode);
            Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
            Assert.Contains("payment", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Contains("tabs in makefiles", await runtime.GetStringAsync("/api/memory"), StringComparison.Ordinal);

        // Paid again: chat is back.
        await client.SendEventAsync(StripeEventFactory.Invoice(customerId, paid: true, finalAttempt: false, t0.AddMinutes(5)));
        await client.WaitForStatusAsync(customerId, token, "active", TimeSpan.FromSeconds(30));
        using (var chat = await runtime.PostAsJsonAsync("/api/chat", new { message = "back?" }))
        {
            Assert.Equal(HttpStatusCode.OK, chat.StatusCode);
        }

        // Cancelled: the data is archived before the database goes.
        await client.SendEventAsync(StripeEventFactory.SubscriptionDeleted(customerId, t0.AddMinutes(6)));
        await client.WaitForStatusAsync(customerId, token, "deprovisioned", TimeSpan.FromSeconds(60));
        Assert.Equal(1, await stack.Database.CountAsync(
            $"select count(*) from customer_archives where customer_id = '{customerId}' and (counts->>'memories')::int >= 2 and (counts->>'messages')::int >= 2"));
        Assert.False(await TestDatabase.AdminExistsAsync("select 1 from pg_database where datname = @name", "claw_" + customerId));
        Assert.Equal(0, await stack.Database.CountAsync($"select count(*) from orphans where customer_id = '{customerId}' and removed_at is null"));

        // A late payment event for a cancelled subscription does not bring it back.
        await client.SendEventAsync(StripeEventFactory.Invoice(customerId, paid: true, finalAttempt: false, t0.AddMinutes(7)));
        await WaitSettledAsync(customerId);
        Assert.Equal("deprovisioned", (await client.StatusAsync(customerId, token)).Body.GetProperty("status").GetString());
    }

    [Fact]
    public async Task UnknownPrice_IsRefusedWith400_AndChangesNothing()
    {
        var (customerId, token, _) = await stack.Client.SignupAsync("mallory@example.com", "starter");
        using var response = await stack.Client.SendEventAsync(
            StripeEventFactory.SubscriptionUpdated(customerId, "price_nobody_sells", "active", DateTimeOffset.UtcNow));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("StripePriceId", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal("pending", (await stack.Client.StatusAsync(customerId, token)).Body.GetProperty("status").GetString());
        Assert.Equal(0, await stack.Database.CountAsync($"select desired_version from customers where id = '{customerId}'"));
    }

    private async Task WaitSettledAsync(string customerId) =>
        await Wait.UntilAsync(
            async () => await stack.Database.CountAsync(
                $"select count(*) from customers where id = '{customerId}' and lifecycle_instance is null and applied_version = desired_version") == 1,
            TimeSpan.FromSeconds(60), "the lifecycle run to settle");

    private static async Task WaitForPlanAsync(HttpClient runtime, string plan) =>
        await Wait.UntilAsync(async () =>
        {
            try
            {
                return (await runtime.GetFromJsonAsync<JsonElement>("/health")).GetProperty("plan").GetString() == plan;
            }
            catch (HttpRequestException)
            {
                return false; // restarting
            }
        }, TimeSpan.FromSeconds(60), $"the runtime to run on {plan}");

    private static async Task<List<string>> EnabledSkillsAsync(HttpClient runtime)
    {
        var status = await runtime.GetFromJsonAsync<JsonElement>("/status");
        return [.. status.GetProperty("skills").GetProperty("enabled").EnumerateArray().Select(s => s.GetString()!)];
    }
}

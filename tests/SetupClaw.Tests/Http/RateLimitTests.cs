using System.Net;
using System.Net.Http.Json;
using SetupClaw.Tests.Infrastructure;

namespace SetupClaw.Tests.Http;

/// <summary>Sign-ups per address and admin-key guesses are limited in the core handlers; the webhook never is.</summary>
[Collection(SimulatedLoadCollection.Name)]
public sealed class RateLimitTests : IAsyncLifetime
{
    private SimulatedStack stack = null!;

    public async Task InitializeAsync() => stack = await SimulatedStack.StartAsync(changes: new Dictionary<string, string?>
    {
        ["RateLimits:SignupsPerMinute"] = "3",
        ["RateLimits:AdminFailuresBeforeLockout"] = "3",
        ["RateLimits:AdminLockout"] = "00:10:00",
    });

    public async Task DisposeAsync() => await stack.DisposeAsync();

    [Fact]
    public async Task Signup_BeyondTheLimitPerAddress_Answers429WithRetryAfter_AndCreatesNothing()
    {
        for (var i = 0; i < 3; i++)
        {
            using var allowed = await stack.Http.PostAsJsonAsync("/api/signup", new { email = $"burst{i}@example.com", plan = "starter" });
            Assert.Equal(HttpStatusCode.Created, allowed.StatusCode);
        }

        using var refused = await stack.Http.PostAsJsonAsync("/api/signup", new { email = "burst3@example.com", plan = "starter" });

        Assert.Equal((HttpStatusCode)429, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        // Whole seconds, at least one: the header says when to come back (its value depends on the clock, so only its form is checked).
        Assert.Matches("^[1-9][0-9]*$", Assert.Single(refused.Headers.GetValues("Retry-After")));
        Assert.Contains("try again in", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(0, await stack.Database.CountAsync("select count(*) from customers where email = 'burst3@example.com'"));
    }

    [Fact]
    public async Task AdminKeyGuesses_LockTheAddressOut_EvenForTheRightKey()
    {
        for (var i = 0; i < 2; i++)
        {
            using var wrong = await OrphansAsync("not-the-admin-key-" + i);
            Assert.Equal(HttpStatusCode.Forbidden, wrong.StatusCode);
        }

        using (var third = await OrphansAsync("not-the-admin-key-2"))
        {
            Assert.Equal((HttpStatusCode)429, third.StatusCode);
            // The lockout starts with this very failure, so its Retry-After is the configured first lockout, exactly.
            Assert.Equal("600", Assert.Single(third.Headers.GetValues("Retry-After")));
        }

        using var right = await OrphansAsync(SimulatedStack.AdminKey);
        Assert.Equal((HttpStatusCode)429, right.StatusCode);
        Assert.Equal("application/problem+json", right.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Webhook_IsNeverLimited()
    {
        for (var i = 0; i < 20; i++)
        {
            using var response = await stack.SendAsync(SetupClaw.Billing.StripeEventFactory.Event("invoice.created", DateTimeOffset.UtcNow, new() { ["id"] = "in_" + i, ["object"] = "invoice" }));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    }

    private Task<HttpResponseMessage> OrphansAsync(string key)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/api/operator/orphans");
        request.Headers.Add("X-Admin-Key", key);
        return stack.Http.SendAsync(request);
    }
}

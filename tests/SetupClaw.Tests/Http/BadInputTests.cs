using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using SetupClaw.Billing;
using SetupClaw.Tests.EndToEnd;
using SetupClaw.Tests.Infrastructure;

namespace SetupClaw.Tests.Http;

/// <summary>Every bad input gets a 4xx problem+json answer, writes no row and starts no orchestration.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class BadInputTests(LocalStackFixture stack)
{
    private ControlPlaneClient Client => stack.Client;

    public static TheoryData<string, string, string> BadSignups => new()
    {
        { "application/json", """{"email":"ada@example.com","plan":"enterprise"}""", "Unknown plan" },
        { "application/json", """{"email":"ada@example.com","plan":"constructor"}""", "Unknown plan" },
        { "application/json", """{"email":"not-an-email","plan":"pro"}""", "Invalid email" },
        { "application/json", """{"email":"a b@example.com","plan":"pro"}""", "Invalid email" },
        { "application/json", """{"plan":"pro"}""", "Invalid email" },
        { "application/json", """{"email":"ada@example.com","plan":"pro\""", "Malformed JSON" },
        { "application/json", "null", "Missing body" },
        { "text/plain", """{"email":"ada@example.com","plan":"pro"}""", "Unsupported media type" },
    };

    [Theory]
    [MemberData(nameof(BadSignups))]
    public async Task Signup_BadInput_Answers4xxProblemAndWritesNothing(string contentType, string body, string title)
    {
        var before = await stack.Database.CountAsync("select count(*) from customers");
        using var response = await Client.Http.PostAsync("/api/signup", new StringContent(body, Encoding.UTF8, contentType));

        await AssertProblemAsync(response, title);
        Assert.Equal(before, await stack.Database.CountAsync("select count(*) from customers"));
    }

    [Fact]
    public async Task Webhook_MissingSignature_Answers400()
    {
        var payload = StripeEventFactory.CheckoutCompleted("cus_00000000000000000000", "x@example.com", DateTimeOffset.UtcNow);
        using var response = await Client.Http.PostAsync("/api/stripe/webhook", new StringContent(payload, Encoding.UTF8, "application/json"));
        await AssertProblemAsync(response, "Missing Stripe-Signature header");
    }

    [Fact]
    public async Task Webhook_WrongSecret_Answers400AndStartsNothing()
    {
        var (customerId, token, _) = await Client.SignupAsync("eve@example.com");
        var payload = StripeEventFactory.CheckoutCompleted(customerId, "eve@example.com", DateTimeOffset.UtcNow);

        using var response = await Client.SendEventAsync(payload, secret: "whsec_not_the_right_one");

        await AssertProblemAsync(response, "Invalid Stripe signature");
        await AssertUntouchedAsync(customerId, token);
    }

    [Fact]
    public async Task Webhook_TimestampOlderThan300Seconds_Answers400AndStartsNothing()
    {
        var (customerId, token, _) = await Client.SignupAsync("old@example.com");
        var signedAt = DateTimeOffset.UtcNow.AddSeconds(-301);
        var payload = StripeEventFactory.CheckoutCompleted(customerId, "old@example.com", signedAt);

        using var response = await Client.SendEventAsync(payload, signedAt);

        await AssertProblemAsync(response, "Invalid Stripe signature");
        await AssertUntouchedAsync(customerId, token);
    }

    [Fact]
    public async Task Webhook_SignedMalformedJson_Answers400()
    {
        var before = await stack.Database.CountAsync("select count(*) from stripe_events");
        using var response = await Client.SendEventAsync("""{"id": "evt_1", "type": "checkout.session.completed", "data": """);
        await AssertProblemAsync(response, "Malformed event");
        Assert.Equal(before, await stack.Database.CountAsync("select count(*) from stripe_events"));
    }

    [Fact]
    public async Task Webhook_BodyOver512KB_Answers413()
    {
        var payload = "{\"id\":\"evt_big\",\"object\":\"event\",\"type\":\"checkout.session.completed\",\"padding\":\"" + new string('x', 513 * 1024) + "\"}";
        using var response = await Client.SendEventAsync(payload);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Webhook_SignedEventForUnknownCustomer_IsAcknowledgedRecordedAndChangesNothing()
    {
        var customersBefore = await stack.Database.CountAsync("select count(*) from customers");
        var payload = StripeEventFactory.CheckoutCompleted("cus_0123456789abcdef0123", "ghost@example.com", DateTimeOffset.UtcNow);

        using var response = await Client.SendEventAsync(payload);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("unknown_customer", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("outcome").GetString());
        var eventId = JsonDocument.Parse(payload).RootElement.GetProperty("id").GetString();
        Assert.Equal(1, await stack.Database.CountAsync($"select count(*) from stripe_events where id = '{eventId}' and outcome = 'unknown_customer'"));
        Assert.Equal(customersBefore, await stack.Database.CountAsync("select count(*) from customers"));
    }

    [Fact]
    public async Task Webhook_OtherEventType_IsAcknowledgedAndIgnored()
    {
        var payload = StripeEventFactory.Event("invoice.created", DateTimeOffset.UtcNow, new() { ["id"] = "in_1", ["object"] = "invoice" });
        using var response = await Client.SendEventAsync(payload);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("ignored", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("outcome").GetString());
    }

    [Fact]
    public async Task Status_WithoutToken_Answers401_AndWithWrongToken_Answers403()
    {
        var (customerId, _, _) = await Client.SignupAsync("mallory@example.com");

        var (missing, _) = await Client.StatusAsync(customerId, null);
        var (wrong, _) = await Client.StatusAsync(customerId, "st_wrong");
        var (otherCustomer, _) = await Client.StatusAsync("cus_ffffffffffffffffffff", "st_wrong");

        await AssertProblemAsync(missing, "Authentication required");
        await AssertProblemAsync(wrong, "Not allowed");
        await AssertProblemAsync(otherCustomer, "Not allowed");
        Assert.All(new[] { missing, wrong, otherCustomer }, r => Assert.True(r.Headers.CacheControl?.NoStore, "status answers must not be stored"));
    }

    [Fact]
    public async Task Status_WithTheRightToken_IsNeverStored()
    {
        var (customerId, token, _) = await Client.SignupAsync("cache@example.com");
        var (response, body) = await Client.StatusAsync(customerId, token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("pending", body.GetProperty("status").GetString());
        Assert.True(response.Headers.CacheControl?.NoStore);
    }

    [Fact]
    public async Task OrchestrationStatus_WithoutOrWithWrongAdminKey_IsRefused()
    {
        using var missing = await Client.Http.GetAsync("/api/orchestrations/provision-cus_00000000000000000000");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/orchestrations/provision-cus_00000000000000000000");
        request.Headers.Add("X-Admin-Key", "nope");
        using var wrong = await Client.Http.SendAsync(request);

        await AssertProblemAsync(missing, "Authentication required");
        await AssertProblemAsync(wrong, "Not allowed");
    }

    private async Task AssertUntouchedAsync(string customerId, string token)
    {
        var (_, body) = await Client.StatusAsync(customerId, token);
        Assert.Equal("pending", body.GetProperty("status").GetString());
        Assert.Equal(0, await stack.Database.CountAsync($"select count(*) from stripe_events where customer_id = '{customerId}'"));
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/orchestrations/provision-{customerId}");
        request.Headers.Add("X-Admin-Key", LocalHostProcess.AdminKey);
        Assert.Equal(HttpStatusCode.NotFound, (await Client.Http.SendAsync(request)).StatusCode);
    }

    private static async Task AssertProblemAsync(HttpResponseMessage response, string title)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode is >= 400 and < 500, $"{(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonSerializer.Deserialize<JsonElement>(text);
        Assert.Equal(title, problem.GetProperty("title").GetString());
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("detail").GetString()));
    }
}

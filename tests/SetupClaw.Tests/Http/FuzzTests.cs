using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SetupClaw.Billing;
using SetupClaw.Tests.EndToEnd;
using SetupClaw.Tests.Infrastructure;
using Xunit.Abstractions;

namespace SetupClaw.Tests.Http;

/// <summary>
/// The webhook and the status endpoint under generated hostile input (seeded, so a failure replays): correctly
/// signed events whose JSON is broken, cut short, of the wrong shape or full of hostile values; wrong content types;
/// hostile customer ids and tokens. Every answer is 4xx or an acknowledging 200, never 5xx; a refused event is not
/// recorded; and nothing happens to a customer that the events do not validly concern.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class FuzzTests(LocalStackFixture stack, ITestOutputHelper output)
{
    private static readonly JsonNode?[] HostileValues =
    [
        null, 0, -1, 1e308, true, "", " ", "' OR '1'='1' --", "../../etc/passwd", "\u0000", "𝕏𝕏𝕏", "<script>alert(1)</script>",
        "cus_" + new string('f', 20), "cus_ffffffffffffffffffff; drop table customers", new string('a', 10_000), new JsonArray(1, "x"),
        new JsonObject { ["nested"] = new JsonObject { ["deep"] = new JsonArray() } }, "price_unknown_123",
    ];

    private static readonly string[] EventTypes =
    [
        "checkout.session.completed", "customer.subscription.deleted", "customer.subscription.updated", "invoice.paid",
        "invoice.payment_failed", "customer.subscription.paused", "", "checkout.session.completed\u0000", "CHECKOUT.SESSION.COMPLETED",
    ];

    [Fact]
    public async Task Webhook_GeneratedHostileEvents_Answer4xxOr200_RecordOnlyWhatWasAccepted_TouchNoBystander()
    {
        var random = new Random(2026);
        var (bystander, bystanderToken, _) = await stack.Client.SignupAsync("bystander@example.com", "starter");
        var customersBefore = await stack.Database.CountAsync("select count(*) from customers");
        var answers = new Dictionary<int, int>();
        var refusedIds = new List<string>();
        for (var i = 0; i < 300; i++)
        {
            // The events concern a customer that does not exist, so a valid one changes nothing either.
            var ghost = "cus_" + Convert.ToHexStringLower(BitConverter.GetBytes(random.NextInt64()))[..16] + "0000";
            var root = JsonNode.Parse(random.Next(2) == 0
                ? StripeEventFactory.CheckoutCompleted(ghost, "ghost@example.com", DateTimeOffset.UtcNow)
                : StripeEventFactory.SubscriptionDeleted(ghost, DateTimeOffset.UtcNow))!.AsObject();
            var id = root["id"]!.GetValue<string>();
            var payload = Mutate(root, random);
            var contentType = random.Next(10) == 0 ? "text/plain" : "application/json";
            using var response = await SendAsync(payload, contentType);
            var status = (int)response.StatusCode;
            answers[status] = answers.GetValueOrDefault(status) + 1;
            Assert.True(status is 200 or (>= 400 and < 500), $"case {i}: {status} for {payload[..Math.Min(300, payload.Length)]}");
            if (status != 200)
            {
                Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
                refusedIds.Add(id);
            }
        }

        output.WriteLine("answers: " + string.Join(", ", answers.OrderBy(a => a.Key).Select(a => $"{a.Key} x{a.Value}")));
        Assert.Equal(0, await stack.Database.CountAsync(
            $"select count(*) from stripe_events where id in ({string.Join(",", refusedIds.Select(r => $"'{r}'").DefaultIfEmpty("''"))})"));
        Assert.Equal(customersBefore, await stack.Database.CountAsync("select count(*) from customers"));
        Assert.Equal(0, await stack.Database.CountAsync("select count(*) from customers where email = 'ghost@example.com'"));
        var (_, body) = await stack.Client.StatusAsync(bystander, bystanderToken);
        Assert.Equal("pending", body.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Status_GeneratedHostileIdsAndTokens_Answer4xx()
    {
        var random = new Random(7);
        var (customer, token, _) = await stack.Client.SignupAsync("status-fuzz@example.com", "starter");
        string[] ids = [customer, "cus_ffffffffffffffffffff", "", "..", "%2e%2e%2f", "cus_' OR 1=1 --", new string('9', 5000), "𝕏", "cus_%00", "null"];
        string?[] tokens = [null, "", "st_wrong", token + "x", token.ToUpperInvariant(), new string('s', 5000), "Bearer", "' OR '1'='1"];
        var http = stack.Host.CreateClient();
        for (var i = 0; i < 60; i++)
        {
            var id = ids[random.Next(ids.Length)];
            var presented = tokens[random.Next(tokens.Length)];
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/provisioning/" + Uri.EscapeDataString(id));
            if (presented is not null)
            {
                request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + presented);
            }

            using var response = await http.SendAsync(request);

            Assert.True((int)response.StatusCode is >= 400 and < 500, $"case {i}: {(int)response.StatusCode} for id '{id[..Math.Min(40, id.Length)]}' token '{presented?[..Math.Min(20, presented.Length)]}'");
        }
    }

    private async Task<HttpResponseMessage> SendAsync(string payload, string contentType)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/stripe/webhook") { Content = new StringContent(payload, Encoding.UTF8) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        request.Headers.Add("Stripe-Signature", StripeEventFactory.Sign(payload, LocalHostProcess.WebhookSecret, DateTimeOffset.UtcNow));
        return await stack.Host.CreateClient().SendAsync(request);
    }

    /// <summary>One to three mutations: a value swapped for a hostile one, a field removed, the type changed, the object replaced, or the JSON cut short.</summary>
    private static string Mutate(JsonObject root, Random random)
    {
        for (var n = random.Next(1, 4); n > 0; n--)
        {
            switch (random.Next(6))
            {
                case 0:
                case 1:
                    var (parent, key) = PickField(root, random);
                    parent[key] = HostileValues[random.Next(HostileValues.Length)]?.DeepClone();
                    break;
                case 2:
                    var (owner, name) = PickField(root, random);
                    owner.Remove(name);
                    break;
                case 3:
                    root["type"] = EventTypes[random.Next(EventTypes.Length)];
                    break;
                case 4:
                    root["data"] = random.Next(3) switch { 0 => new JsonArray(), 1 => "object", _ => new JsonObject { ["object"] = new JsonArray() } };
                    break;
                default:
                    var text = root.ToJsonString();
                    return text[..random.Next(1, text.Length)];
            }
        }

        return root.ToJsonString();
    }

    private static (JsonObject Parent, string Key) PickField(JsonObject root, Random random)
    {
        var objects = new List<JsonObject>();
        void Walk(JsonNode? node)
        {
            if (node is JsonObject o)
            {
                if (o.Count > 0)
                {
                    objects.Add(o);
                }

                foreach (var (_, child) in o)
                {
                    Walk(child);
                }
            }
        }

        Walk(root);
        var parent = objects[random.Next(objects.Count)];
        return (parent, parent.ElementAt(random.Next(parent.Count)).Key);
    }
}

using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace SetupClaw.Tests.Simulators;

/// <summary>
/// A local Stripe stand-in for what SetupClaw calls: Checkout Sessions (create), subscriptions and prices (read) and
/// webhook endpoints (list). Every answer is Stripe's own example object for the resource
/// (tests/contracts/stripe/fixtures3.json, from Stripe's OpenAPI repository) with the fields this stand-in keeps
/// overlaid, so Stripe.net parses what it would parse from Stripe. It refuses what Stripe refuses: a wrong key
/// (401), an unknown price or subscription (404 resource_missing), a subscription-mode session with a one-time or
/// inactive price, a session without success_url, an idempotency key reused with other parameters.
/// </summary>
public sealed class StripeSimulator : SimulatorHost
{
    public const string SecretKey = "sk_test_standin_0123456789abcdefghijklmnop";

    private static readonly JsonObject Fixtures = JsonNode.Parse(File.ReadAllText(Path.Combine(Contracts.Root, "stripe", "fixtures3.json")))!["resources"]!.AsObject();

    private readonly ConcurrentDictionary<string, (string Body, string Answer)> idempotent = new();

    private StripeSimulator()
    {
    }

    /// <summary>Prices by id: whether active, and the interval (null: a one-time price).</summary>
    public ConcurrentDictionary<string, (bool Active, string? Interval)> Prices { get; } = new();

    /// <summary>Subscriptions by id: Stripe's current status, price and customer.</summary>
    public ConcurrentDictionary<string, (string Status, string PriceId, string Customer)> Subscriptions { get; } = new();

    /// <summary>Sessions created, by id: the customer id they carry and their price.</summary>
    public ConcurrentDictionary<string, (string? ClientReferenceId, string PriceId)> Sessions { get; } = new();

    /// <summary>The account's webhook endpoints: url, status, enabled events.</summary>
    public ConcurrentBag<(string Url, string Status, string[] Events)> WebhookEndpoints { get; } = [];

    /// <summary>Stripe customers this account holds (besides those of <see cref="Subscriptions"/>): a portal session needs one.</summary>
    public ConcurrentDictionary<string, bool> Customers { get; } = new();

    /// <summary>Customer Portal sessions created: the customer and the return URL.</summary>
    public ConcurrentQueue<(string Customer, string? ReturnUrl)> PortalSessions { get; } = new();

    public Uri ApiBase => BaseUrl;

    public static async Task<StripeSimulator> StartAsync()
    {
        var simulator = new StripeSimulator();
        await simulator.StartServerAsync();
        return simulator;
    }

    /// <summary>What Stripe does when the customer pays session <paramref name="sessionId"/>: a subscription on its price.</summary>
    public string Pay(string sessionId, string status = "active")
    {
        var session = Sessions[sessionId];
        var subscriptionId = "sub_test_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        Subscriptions[subscriptionId] = (status, session.PriceId, "cus_test_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6)));
        return subscriptionId;
    }

    protected override async Task HandleAsync(HttpContext context, string body)
    {
        var request = context.Request;
        if (request.Headers.Authorization.ToString() != "Bearer " + SecretKey)
        {
            await ErrorAsync(context, 401, "invalid_request_error", null, "Invalid API Key provided.");
            return;
        }

        var path = request.Path.Value ?? "";
        var segments = path.Trim('/').Split('/');
        switch (request.Method, segments)
        {
            case ("POST", ["v1", "checkout", "sessions"]):
                await CreateSessionAsync(context, body);
                return;
            case ("POST", ["v1", "billing_portal", "sessions"]):
                await CreatePortalSessionAsync(context, body);
                return;
            case ("GET", ["v1", "subscriptions", var id]) when Subscriptions.TryGetValue(id, out var subscription):
                await WriteAsync(context, Subscription(id, subscription.Status, subscription.PriceId, subscription.Customer));
                return;
            case ("GET", ["v1", "prices", var id]) when Prices.TryGetValue(id, out var price):
                await WriteAsync(context, Price(id, price.Active, price.Interval));
                return;
            case ("GET", ["v1", "webhook_endpoints"]):
                var list = new JsonArray([.. WebhookEndpoints.Select(Endpoint)]);
                await WriteAsync(context, new JsonObject { ["object"] = "list", ["data"] = list, ["has_more"] = false, ["url"] = "/v1/webhook_endpoints" });
                return;
            case ("GET", ["v1", "subscriptions" or "prices", var id]):
                await ErrorAsync(context, 404, "invalid_request_error", "resource_missing", $"No such {segments[1].TrimEnd('s')}: '{id}'");
                return;
            default:
                Violations.Enqueue($"{request.Method} {path}: not an endpoint this stand-in knows");
                await ErrorAsync(context, 404, "invalid_request_error", null, $"Unrecognized request URL ({request.Method}: {path}).");
                return;
        }
    }

    /// <summary><c>POST /v1/billing_portal/sessions</c>: <c>customer</c> is required and must exist; <c>return_url</c> must be a URL when given.</summary>
    private async Task CreatePortalSessionAsync(HttpContext context, string body)
    {
        var form = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(body).ToDictionary(f => f.Key, f => f.Value.ToString());
        if (form.GetValueOrDefault("customer") is not { Length: > 0 } customer)
        {
            Violations.Enqueue("portal session: Missing required param: customer.");
            await ErrorAsync(context, 400, "invalid_request_error", "parameter_missing", "Missing required param: customer.");
            return;
        }

        if (!Customers.ContainsKey(customer) && !Subscriptions.Values.Any(s => s.Customer == customer))
        {
            await ErrorAsync(context, 400, "invalid_request_error", "resource_missing", $"No such customer: '{customer}'");
            return;
        }

        var returnUrl = form.GetValueOrDefault("return_url");
        if (returnUrl is not null && !Uri.TryCreate(returnUrl, UriKind.Absolute, out _))
        {
            Violations.Enqueue("portal session: return_url is not a URL");
            await ErrorAsync(context, 400, "invalid_request_error", "url_invalid", "Not a valid URL");
            return;
        }

        PortalSessions.Enqueue((customer, returnUrl));
        var id = "bps_test_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
        var session = Fixture("billing_portal.session");
        session["id"] = id;
        session["customer"] = customer;
        session["return_url"] = returnUrl;
        session["livemode"] = false;
        session["url"] = "https://billing.stripe.com/p/session/test_" + id[9..];
        await WriteAsync(context, session);
    }

    private async Task CreateSessionAsync(HttpContext context, string body)
    {
        var form = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(body).ToDictionary(f => f.Key, f => f.Value.ToString());
        var key = context.Request.Headers["Idempotency-Key"].ToString();
        if (key.Length > 0 && idempotent.TryGetValue(key, out var earlier))
        {
            if (earlier.Body != body)
            {
                await ErrorAsync(context, 400, "idempotency_error", null, "Keys for idempotent requests can only be used with the same parameters they were first used with.");
                return;
            }

            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(earlier.Answer);
            return;
        }

        var mode = form.GetValueOrDefault("mode");
        var priceId = form.GetValueOrDefault("line_items[0][price]");
        string? refusal = mode is not ("payment" or "subscription" or "setup") ? "Invalid mode: must be one of payment, setup, or subscription"
            : !form.ContainsKey("success_url") ? "Missing required param: success_url."
            : priceId is null ? "Missing required param: line_items[0][price]."
            : null;
        if (refusal is not null)
        {
            Violations.Enqueue("checkout session: " + refusal);
            await ErrorAsync(context, 400, "invalid_request_error", "parameter_missing", refusal);
            return;
        }

        if (!Prices.TryGetValue(priceId!, out var price))
        {
            await ErrorAsync(context, 400, "invalid_request_error", "resource_missing", $"No such price: '{priceId}'");
            return;
        }

        if (mode == "subscription" && (price.Interval is null || !price.Active))
        {
            await ErrorAsync(context, 400, "invalid_request_error", null,
                "You must provide at least one recurring price in `subscription` mode when using prices.");
            return;
        }

        var id = "cs_test_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var session = Fixture("checkout.session");
        session["id"] = id;
        session["mode"] = mode;
        session["client_reference_id"] = form.GetValueOrDefault("client_reference_id");
        session["customer_email"] = form.GetValueOrDefault("customer_email");
        session["success_url"] = form["success_url"];
        session["cancel_url"] = form.GetValueOrDefault("cancel_url");
        session["payment_intent"] = null;
        session["status"] = "open";
        session["payment_status"] = "unpaid";
        session["url"] = "https://checkout.stripe.com/c/pay/" + id;
        var metadata = new JsonObject();
        foreach (var (name, value) in form.Where(f => f.Key.StartsWith("metadata[", StringComparison.Ordinal)))
        {
            metadata[name[9..^1]] = value;
        }

        session["metadata"] = metadata;
        Sessions[id] = (form.GetValueOrDefault("client_reference_id"), priceId!);
        var answer = session.ToJsonString();
        if (key.Length > 0)
        {
            idempotent[key] = (body, answer);
        }

        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(answer);
    }

    private static JsonObject Subscription(string id, string status, string priceId, string customer)
    {
        var subscription = Fixture("subscription");
        subscription["id"] = id;
        subscription["status"] = status;
        subscription["customer"] = customer;
        subscription["metadata"] = new JsonObject();
        var item = subscription["items"]!["data"]![0]!.AsObject();
        item["price"] = Price(priceId, true, "month");
        subscription["items"]!["data"] = new JsonArray(item.DeepClone());
        return subscription;
    }

    private static JsonObject Price(string id, bool active, string? interval)
    {
        var price = Fixture("price");
        price["id"] = id;
        price["active"] = active;
        price["type"] = interval is null ? "one_time" : "recurring";
        price["recurring"] = interval is null ? null : new JsonObject { ["interval"] = interval, ["interval_count"] = 1, ["usage_type"] = "licensed" };
        return price;
    }

    private static JsonObject Endpoint((string Url, string Status, string[] Events) endpoint)
    {
        var json = Fixture("webhook_endpoint");
        json["url"] = endpoint.Url;
        json["status"] = endpoint.Status;
        json["enabled_events"] = new JsonArray([.. endpoint.Events.Select(e => JsonValue.Create(e))]);
        return json;
    }

    private static JsonObject Fixture(string resource) => Fixtures[resource]!.DeepClone().AsObject();

    private static async Task WriteAsync(HttpContext context, JsonObject json)
    {
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(json.ToJsonString());
    }

    private static async Task ErrorAsync(HttpContext context, int status, string type, string? code, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(JsonSerializer.Serialize(new { error = new { type, code, message } }));
    }
}

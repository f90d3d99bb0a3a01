using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Stripe;

namespace SetupClaw.Billing;

/// <summary>
/// Builds Stripe-shaped events and signs them as Stripe does (<c>t=…,v1=HMAC-SHA256("{t}.{body}")</c>). Used by the
/// offline checkout, the demo and the tests, so the webhook never has a way in that Stripe itself would not use.
/// </summary>
public static class StripeEventFactory
{
    public const string CustomerIdMetadataKey = "setupclaw_customer_id";

    /// <summary>The Checkout Session id offline signup stores for <paramref name="customerId"/> (and its Pay button completes).</summary>
    public static string OfflineSessionId(string customerId) => "cs_offline_" + customerId[4..];

    /// <summary>
    /// <c>checkout.session.completed</c>, by default of the offline session signup stored for the customer;
    /// <paramref name="sessionId"/>, <paramref name="mode"/> and <paramref name="subscriptionId"/> make the sessions SetupClaw did not create.
    /// </summary>
    public static string CheckoutCompleted(
        string customerId, string email, DateTimeOffset now, string? sessionId = null, string mode = "subscription", string? subscriptionId = null) =>
        Event("checkout.session.completed", now, new JsonObject
        {
            ["id"] = sessionId ?? OfflineSessionId(customerId),
            ["object"] = "checkout.session",
            ["client_reference_id"] = customerId,
            ["customer"] = "cus_offline" + customerId[4..],
            ["customer_email"] = email,
            ["customer_details"] = new JsonObject { ["email"] = email },
            ["mode"] = mode,
            ["payment_status"] = "paid",
            ["status"] = "complete",
            ["subscription"] = mode == "subscription" ? subscriptionId ?? SubscriptionId(customerId) : null,
            ["metadata"] = new JsonObject { [CustomerIdMetadataKey] = customerId },
        });

    /// <summary><c>customer.subscription.deleted</c>; without metadata it names no customer (a subscription not made by our Checkout).</summary>
    public static string SubscriptionDeleted(string customerId, DateTimeOffset now, bool withMetadata = true, string? subscriptionId = null) =>
        Event("customer.subscription.deleted", now, new JsonObject
        {
            ["id"] = subscriptionId ?? SubscriptionId(customerId),
            ["object"] = "subscription",
            ["customer"] = "cus_offline" + customerId[4..],
            ["status"] = "canceled",
            ["metadata"] = Metadata(customerId, withMetadata),
        });

    /// <summary><c>customer.subscription.updated</c>: the subscription as Stripe holds it now, on <paramref name="priceId"/>.</summary>
    public static string SubscriptionUpdated(
        string customerId, string priceId, string status, DateTimeOffset at, bool withMetadata = true, string? subscriptionId = null) =>
        Event("customer.subscription.updated", at, new JsonObject
        {
            ["id"] = subscriptionId ?? SubscriptionId(customerId),
            ["object"] = "subscription",
            ["customer"] = "cus_offline" + customerId[4..],
            ["status"] = status,
            ["items"] = new JsonObject
            {
                ["object"] = "list",
                ["data"] = new JsonArray(new JsonObject
                {
                    ["id"] = "si_offline" + customerId[4..],
                    ["object"] = "subscription_item",
                    ["price"] = new JsonObject { ["id"] = priceId, ["object"] = "price", ["currency"] = "usd", ["recurring"] = new JsonObject { ["interval"] = "month" } },
                    ["quantity"] = 1,
                }),
            },
            ["metadata"] = Metadata(customerId, withMetadata),
        });

    /// <summary><c>invoice.paid</c> or <c>invoice.payment_failed</c> of the subscription; <paramref name="finalAttempt"/>: Stripe stops retrying.</summary>
    public static string Invoice(string customerId, bool paid, bool finalAttempt, DateTimeOffset at) =>
        Event(paid ? "invoice.paid" : "invoice.payment_failed", at, new JsonObject
        {
            ["id"] = "in_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)),
            ["object"] = "invoice",
            ["customer"] = "cus_offline" + customerId[4..],
            ["status"] = paid ? "paid" : "open",
            ["attempt_count"] = paid ? 1 : 4,
            ["next_payment_attempt"] = paid || finalAttempt ? null : at.AddDays(3).ToUnixTimeSeconds(),
            ["parent"] = new JsonObject
            {
                ["type"] = "subscription_details",
                ["subscription_details"] = new JsonObject
                {
                    ["subscription"] = SubscriptionId(customerId),
                    ["metadata"] = new JsonObject { [CustomerIdMetadataKey] = customerId },
                },
            },
        });

    public static string SubscriptionId(string customerId) => "sub_offline" + customerId[4..];

    private static JsonObject Metadata(string customerId, bool named) => named ? new JsonObject { [CustomerIdMetadataKey] = customerId } : [];

    public static string Event(string type, DateTimeOffset now, JsonObject dataObject) => new JsonObject
    {
        ["id"] = "evt_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12)),
        ["object"] = "event",
        ["api_version"] = StripeConfiguration.ApiVersion,
        ["created"] = now.ToUnixTimeSeconds(),
        ["livemode"] = false,
        ["pending_webhooks"] = 1,
        ["request"] = new JsonObject { ["id"] = null, ["idempotency_key"] = null },
        ["type"] = type,
        ["data"] = new JsonObject { ["object"] = dataObject },
    }.ToJsonString();

    public static string Sign(string payload, string secret, DateTimeOffset now) =>
        EventUtility.GenerateSignatureHeader(payload, secret, now.ToUnixTimeSeconds());

    public static string Timestamp(DateTimeOffset now) => now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
}

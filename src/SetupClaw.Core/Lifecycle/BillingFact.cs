namespace SetupClaw.Lifecycle;

/// <summary>What Stripe says about a customer's subscription, as stored in <c>customers.billing_state</c>.</summary>
public static class BillingStates
{
    /// <summary>Signed up, nothing paid yet: nothing runs.</summary>
    public const string AwaitingPayment = "awaiting_payment";

    /// <summary>Paid (or Stripe is still retrying a payment): the assistant runs.</summary>
    public const string Active = "active";

    /// <summary>Stripe gave up on a payment, or the subscription is unpaid or paused: the assistant keeps its data, chat answers 402.</summary>
    public const string Suspended = "suspended";

    /// <summary>The subscription ended. Final: a later event never brings it back.</summary>
    public const string Cancelled = "cancelled";
}

/// <summary>
/// One event's statement about a customer: a billing state and/or a plan, with the event's creation time (Stripe's
/// clock), and the Stripe ids it names. Facts older than what is stored are ignored, so delivery order does not matter.
/// </summary>
public sealed record BillingFact(
    DateTimeOffset At,
    string? State,
    string? Plan = null,
    string? StripeCustomerId = null,
    string? SubscriptionId = null,
    string? CheckoutSessionId = null);

/// <summary>The stored state after a fact: whether it changed anything, and the version to converge to.</summary>
public sealed record FactOutcome(bool Changed, string State, string? PreviousState, string? DesiredPlan, long Version)
{
    public string Describe() => !Changed
        ? "no_change"
        : PreviousState != State ? $"{PreviousState}->{State}" : $"plan->{DesiredPlan}";
}

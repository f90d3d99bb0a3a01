using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SetupClaw.Customers;
using SetupClaw.Http;
using SetupClaw.Lifecycle;
using SetupClaw.Plans;
using Stripe;
using Stripe.Checkout;
using Customer = SetupClaw.Customers.Customer;

namespace SetupClaw.Billing;

/// <summary>
/// <c>POST /api/stripe/webhook</c>. Verifies the signature over the raw body (300 s tolerance), answers at once and
/// never provisions inside the request. Each event becomes a fact about the customer (billing state and/or plan, at
/// the event's time), stored newest-wins, and a lifecycle run converges the customer to it. Events are recorded by
/// id after they are handled, so a delivery that fails halfway is handled again on Stripe's retry, and a repeated
/// one is not; two events for one change are the same fact, so the second changes nothing.
/// <para>
/// Payments cannot be faked: only the completion of the Checkout Session signup created for the customer binds a
/// subscription to it, and only events of the bound subscription change it. An event naming a customer is a claim,
/// never proof: anything else is acknowledged (so Stripe does not retry it for days), recorded with its reason and
/// changes nothing. Events of a subscription not bound yet are parked until a checkout binds it.
/// </para>
/// </summary>
public sealed partial class StripeWebhookHandler(
    ICustomerStore store, LifecycleScheduler lifecycle, LifecycleStore lifecycleStore, StripeReader stripe, PlanCatalog plans, IOptions<StripeOptions> options,
    Email.CustomerEmails emails, TimeProvider clock, Telemetry.SetupClawMetrics metrics, ILogger<StripeWebhookHandler> logger)
{
    public const int MaxBodyBytes = 512 * 1024;

    private static readonly System.Text.RegularExpressions.Regex EventShape = new("^[A-Za-z0-9_]{1,255}$", System.Text.RegularExpressions.RegexOptions.CultureInvariant);
    private static readonly System.Text.RegularExpressions.Regex TypeShape = new("^[a-z0-9_.]{1,100}$", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    public async Task<IResult> HandleAsync(HttpRequest request, DurableTaskClient durable, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var body = await RequestBodies.ReadLimitedAsync(request, MaxBodyBytes, cancellationToken);
        if (body is null)
        {
            return Problems.TooLarge(MaxBodyBytes);
        }

        var signature = request.Headers["Stripe-Signature"].ToString();
        if (string.IsNullOrWhiteSpace(signature))
        {
            return Problems.BadRequest("Missing Stripe-Signature header", "Webhook requests must be signed by Stripe (or by a signer holding the webhook secret).");
        }

        try
        {
            EventUtility.ValidateSignature(body, signature, options.Value.WebhookSecret, EventUtility.DefaultTimeTolerance, clock.GetUtcNow().ToUnixTimeSeconds());
        }
        catch (StripeException e)
        {
            // Only the signature is checked here, so every refusal of this call is about the signature or its timestamp.
            LogRejected(logger, e.Message);
            return Problems.BadRequest("Invalid Stripe signature", e.Message);
        }

        Event stripeEvent;
        try
        {
            // The API train is not enforced: only stable fields are read, and a refused event would be retried for days.
            stripeEvent = EventUtility.ParseEvent(body, throwOnApiVersionMismatch: false);
        }
        catch (Exception e) when (e is JsonException or StripeException or ArgumentException or InvalidOperationException)
        {
            return Problems.BadRequest("Malformed event", "The body is not a Stripe event object: " + e.Message);
        }

        if (string.IsNullOrEmpty(stripeEvent.Id) || string.IsNullOrEmpty(stripeEvent.Type))
        {
            return Problems.BadRequest("Malformed event", "The event has no id or no type.");
        }

        // Stripe's ids and types are short words of [A-Za-z0-9_] and [a-z0-9_.]: anything else (control characters,
        // NUL, kilobytes of text) is not from Stripe and is refused before it reaches the database.
        if (!EventShape.IsMatch(stripeEvent.Id) || !TypeShape.IsMatch(stripeEvent.Type))
        {
            return Problems.BadRequest("Malformed event", "The event id or type has characters or a length Stripe never sends.");
        }

        if (await store.IsEventProcessedAsync(stripeEvent.Id, cancellationToken))
        {
            return Results.Ok(new { received = true, duplicate = true });
        }

        var at = new DateTimeOffset(DateTime.SpecifyKind(stripeEvent.Created, DateTimeKind.Utc));
        var handled = stripeEvent.Type switch
        {
            EventTypes.CheckoutSessionCompleted => await OnCheckoutAsync(stripeEvent, at, durable, cancellationToken),
            EventTypes.CustomerSubscriptionCreated or EventTypes.CustomerSubscriptionUpdated or EventTypes.CustomerSubscriptionDeleted
                or EventTypes.CustomerSubscriptionPaused or EventTypes.CustomerSubscriptionResumed => await OnSubscriptionAsync(stripeEvent, at, durable, cancellationToken),
            EventTypes.InvoicePaid or EventTypes.InvoicePaymentFailed => await OnInvoiceAsync(stripeEvent, at, durable, cancellationToken),
            _ => new Handled("ignored", null),
        };
        if (handled.Refusal is { } refusal)
        {
            LogRejected(logger, refusal.Detail);
            return Problems.BadRequest(refusal.Title, refusal.Detail);
        }

        if (RefusedOutcomes.Contains(handled.Outcome))
        {
            LogRefused(logger, stripeEvent.Type, stripeEvent.Id, handled.CustomerId ?? "(none)", handled.Outcome);
        }

        await store.RecordEventAsync(stripeEvent.Id, stripeEvent.Type, handled.CustomerId, handled.Outcome, cancellationToken);
        metrics.WebhookEvent(stripeEvent.Type, handled.Outcome);
        LogHandled(logger, stripeEvent.Type, stripeEvent.Id, handled.Outcome);
        return Results.Ok(new { received = true, outcome = handled.Outcome });
    }

    /// <summary>The event types this handler reads: the webhook endpoint must send each (the doctor checks).</summary>
    public static IReadOnlyList<string> HandledEventTypes { get; } =
    [
        EventTypes.CheckoutSessionCompleted, EventTypes.CustomerSubscriptionCreated, EventTypes.CustomerSubscriptionUpdated,
        EventTypes.CustomerSubscriptionDeleted, EventTypes.CustomerSubscriptionPaused, EventTypes.CustomerSubscriptionResumed,
        EventTypes.InvoicePaid, EventTypes.InvoicePaymentFailed,
    ];

    /// <summary>Acknowledged, recorded and changing nothing: a payment that is not the customer's own SetupClaw checkout.</summary>
    public static readonly IReadOnlySet<string> RefusedOutcomes = new HashSet<string>(StringComparer.Ordinal)
    {
        "foreign_session", "not_a_subscription", "no_subscription", "subscription_already_bound", "subscription_of_another_customer", "foreign_subscription",
    };

    /// <summary>
    /// Provisions only the session signup created for the customer, in subscription mode, with a subscription; that
    /// subscription becomes the customer's (with Stripe's current word on it, when a key is configured, and every
    /// event parked for it).
    /// </summary>
    private async Task<Handled> OnCheckoutAsync(Event stripeEvent, DateTimeOffset at, DurableTaskClient durable, CancellationToken cancellationToken)
    {
        if (stripeEvent.Data?.Object is not Session session)
        {
            return Handled.Refused("Malformed event", "checkout.session.completed must carry a checkout.session object.");
        }

        var customer = await FindNamedAsync(session.ClientReferenceId, session.Metadata, cancellationToken);
        if (customer is null)
        {
            return new Handled("unknown_customer", null);
        }

        if (customer.StripeCheckoutSessionId is null || !string.Equals(session.Id, customer.StripeCheckoutSessionId, StringComparison.Ordinal))
        {
            return new Handled("foreign_session", customer.Id);
        }

        if (session.Mode != "subscription")
        {
            return new Handled("not_a_subscription", customer.Id);
        }

        if (StripeId(session.SubscriptionId) is not { } subscriptionId)
        {
            return new Handled("no_subscription", customer.Id);
        }

        if (customer.StripeSubscriptionId is { } bound && bound != subscriptionId)
        {
            return new Handled("subscription_already_bound", customer.Id); // decided before any read, so never a 400 Stripe would retry
        }

        // Paid, or nothing to pay (a 100% coupon); 'unpaid' (a delayed payment method) waits for invoice.paid.
        var paid = session.PaymentStatus is "paid" or "no_payment_required";
        var facts = new List<BillingFact> { new(at, paid ? BillingStates.Active : null, null, StripeId(session.CustomerId), subscriptionId) };
        if (await stripe.SubscriptionAsync(subscriptionId, cancellationToken) is { } current)
        {
            // Stripe's word now is newer than any event about the subscription sent so far. Whole seconds, as Stripe's
            // event times are: an event created in the same second ties, and the later applied wins.
            var readAt = DateTimeOffset.FromUnixTimeSeconds(clock.GetUtcNow().ToUnixTimeSeconds());
            var read = SubscriptionFacts.Of(plans, current, readAt, deleted: false, strictPrice: true);
            if (read.Refusal is not null)
            {
                return Handled.Refused(read.Refusal.Value.Title, read.Refusal.Value.Detail);
            }

            facts.Add(read.Fact!);
        }

        return new Handled(await lifecycle.BindAsync(durable, customer.Id, subscriptionId, facts, cancellationToken), customer.Id);
    }

    private async Task<Handled> OnSubscriptionAsync(Event stripeEvent, DateTimeOffset at, DurableTaskClient durable, CancellationToken cancellationToken)
    {
        if (stripeEvent.Data?.Object is not Subscription subscription || StripeId(subscription.Id) is not { } subscriptionId)
        {
            return Handled.Refused("Malformed event", $"{stripeEvent.Type} must carry a subscription object with its id.");
        }

        var deleted = stripeEvent.Type == EventTypes.CustomerSubscriptionDeleted;
        var bound = await store.FindBySubscriptionAsync(subscriptionId, cancellationToken);
        var named = bound is null ? await FindNamedAsync(null, subscription.Metadata, cancellationToken) : null;

        // Ours (bound, or created by our Checkout for a customer, as its metadata says): an unknown price is a
        // configuration to fix. Anything else may be another product of the account.
        var read = SubscriptionFacts.Of(plans, subscription, at, deleted, strictPrice: bound is not null || named is not null);
        if (read.Refusal is not null)
        {
            return Handled.Refused(read.Refusal.Value.Title, read.Refusal.Value.Detail);
        }

        return bound is null
            ? await ParkAsync(stripeEvent, subscriptionId, named, read.Fact!, durable, cancellationToken)
            : new Handled(await lifecycle.RecordAsync(durable, bound.Id, read.Fact!, cancellationToken), bound.Id);
    }

    private async Task<Handled> OnInvoiceAsync(Event stripeEvent, DateTimeOffset at, DurableTaskClient durable, CancellationToken cancellationToken)
    {
        if (stripeEvent.Data?.Object is not Invoice invoice)
        {
            return Handled.Refused("Malformed event", $"{stripeEvent.Type} must carry an invoice object.");
        }

        var details = invoice.Parent?.SubscriptionDetails;
        if (StripeId(details?.SubscriptionId) is not { } subscriptionId)
        {
            return new Handled("ignored", null); // not a subscription's invoice: nothing of ours
        }

        // A failed payment suspends only once Stripe has given up retrying it (no next attempt is scheduled).
        var state = stripeEvent.Type == EventTypes.InvoicePaid ? BillingStates.Active
            : invoice.NextPaymentAttempt is null ? BillingStates.Suspended
            : null;
        var bound = await store.FindBySubscriptionAsync(subscriptionId, cancellationToken);
        if (state is null)
        {
            // A failed attempt Stripe will retry: the assistant keeps running, and the customer is told to check the card.
            if (bound is { Status: CustomerStatus.Active } && stripeEvent.Type == EventTypes.InvoicePaymentFailed)
            {
                await emails.PaymentFailedAsync(bound, stripeEvent.Id,
                    invoice.NextPaymentAttempt is { } next ? new DateTimeOffset(DateTime.SpecifyKind(next, DateTimeKind.Utc)) : null, cancellationToken);
            }

            return new Handled("nothing_to_change", bound?.Id);
        }

        var fact = new BillingFact(at, state, null, StripeId(invoice.CustomerId), subscriptionId);
        if (bound is not null)
        {
            return new Handled(await lifecycle.RecordAsync(durable, bound.Id, fact, cancellationToken), bound.Id);
        }

        var named = await FindNamedAsync(null, details?.Metadata ?? invoice.Metadata, cancellationToken);
        return await ParkAsync(stripeEvent, subscriptionId, named, fact, durable, cancellationToken);
    }

    /// <summary>
    /// An event of a subscription that was not bound when it was read. Decided under the subscription's lock (see
    /// <see cref="LifecycleStore.ParkAsync"/>): bound meanwhile, it is applied; of a customer it names who has another
    /// subscription, it changes nothing; otherwise it waits for the checkout that binds it.
    /// </summary>
    private async Task<Handled> ParkAsync(
        Event stripeEvent, string subscriptionId, Customer? named, BillingFact fact, DurableTaskClient durable, CancellationToken cancellationToken)
    {
        var parking = await lifecycleStore.ParkAsync(stripeEvent.Id, stripeEvent.Type, subscriptionId, named?.Id, fact, cancellationToken);
        return parking.Result switch
        {
            ParkResult.BoundMeanwhile => new Handled(await lifecycle.RecordAsync(durable, parking.CustomerId!, fact, cancellationToken), parking.CustomerId),
            ParkResult.OtherSubscription => new Handled("foreign_subscription", parking.CustomerId),
            _ => new Handled("parked", named?.Id),
        };
    }

    /// <summary>
    /// Stripe's subscription statuses as what SetupClaw does. <c>past_due</c> changes nothing: a running assistant keeps
    /// running while Stripe retries, and one suspended after Stripe gave up is not revived by a later update of a
    /// subscription that is still unpaid (only <c>invoice.paid</c> or an active subscription revive it).
    /// </summary>
    public static string? StateOf(string? status) => status switch
    {
        "active" or "trialing" => BillingStates.Active,
        "unpaid" or "paused" => BillingStates.Suspended,
        "canceled" or "incomplete_expired" => BillingStates.Cancelled,
        _ => null, // incomplete (the first payment is still open), past_due (see above)
    };

    internal static string Shorten(string? value) => value is { Length: > 60 } ? value[..60] + "…" : value ?? "";

    /// <summary>A Stripe object id as Stripe writes them, or null: nothing else is stored or looked up.</summary>
    internal static string? StripeId(string? id) => id is not null && EventShape.IsMatch(id) ? id : null;

    /// <summary>The customer an event names (client_reference_id or metadata): a claim to check, never proof of anything.</summary>
    private async Task<Customer?> FindNamedAsync(string? referenceId, IDictionary<string, string>? metadata, CancellationToken cancellationToken)
    {
        var id = referenceId ?? (metadata?.TryGetValue(StripeEventFactory.CustomerIdMetadataKey, out var fromMetadata) == true ? fromMetadata : null);
        return Providers.CustomerIds.IsValid(id) ? await store.GetAsync(id!, cancellationToken) : null;
    }

    /// <summary>What handling an event came to: the outcome recorded with it and its customer, or why it is refused (400).</summary>
    private sealed record Handled(string Outcome, string? CustomerId, (string Title, string Detail)? Refusal = null)
    {
        public static Handled Refused(string title, string detail) => new("", null, (title, detail));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stripe {Type} {EventId} for customer {CustomerId} changes nothing: {Outcome}")]
    private static partial void LogRefused(ILogger logger, string type, string eventId, string customerId, string outcome);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook rejected: {Reason}")]
    private static partial void LogRejected(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stripe {Type} {EventId}: {Outcome}")]
    private static partial void LogHandled(ILogger logger, string type, string eventId, string outcome);
}

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
/// </summary>
public sealed partial class StripeWebhookHandler(
    ICustomerStore store, LifecycleScheduler lifecycle, PlanCatalog plans, IOptions<StripeOptions> options, TimeProvider clock, ILogger<StripeWebhookHandler> logger)
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
        Reading? reading = stripeEvent.Type switch
        {
            EventTypes.CheckoutSessionCompleted => await FromCheckoutAsync(stripeEvent, at, cancellationToken),
            EventTypes.CustomerSubscriptionCreated or EventTypes.CustomerSubscriptionUpdated or EventTypes.CustomerSubscriptionDeleted
                or EventTypes.CustomerSubscriptionPaused or EventTypes.CustomerSubscriptionResumed => await FromSubscriptionAsync(stripeEvent, at, cancellationToken),
            EventTypes.InvoicePaid or EventTypes.InvoicePaymentFailed => await FromInvoiceAsync(stripeEvent, at, cancellationToken),
            _ => null,
        };
        if (reading?.Refusal is { } refusal)
        {
            LogRejected(logger, refusal.Detail);
            return Problems.BadRequest(refusal.Title, refusal.Detail);
        }

        var customer = reading?.Customer;
        var outcome = reading is null ? "ignored"
            : customer is null ? "unknown_customer"
            : reading.Fact is not { } fact ? "nothing_to_change"
            : await lifecycle.RecordAsync(durable, customer.Id, fact, cancellationToken);

        await store.RecordEventAsync(stripeEvent.Id, stripeEvent.Type, customer?.Id, outcome, cancellationToken);
        LogHandled(logger, stripeEvent.Type, stripeEvent.Id, outcome);
        return Results.Ok(new { received = true, outcome });
    }

    private async Task<Reading> FromCheckoutAsync(Event stripeEvent, DateTimeOffset at, CancellationToken cancellationToken)
    {
        if (stripeEvent.Data?.Object is not Session session)
        {
            return Reading.Refused("Malformed event", "checkout.session.completed must carry a checkout.session object.");
        }

        var customer = await FindAsync(session.ClientReferenceId, session.Metadata, null, cancellationToken);
        // Paid, or nothing to pay (a 100% coupon); 'unpaid' (a delayed payment method) waits for invoice.paid.
        var paid = session.PaymentStatus is "paid" or "no_payment_required";
        return new Reading(customer, new BillingFact(at, paid ? BillingStates.Active : null, null,
            StripeId(session.CustomerId), StripeId(session.SubscriptionId), StripeId(session.Id)));
    }

    private async Task<Reading> FromSubscriptionAsync(Event stripeEvent, DateTimeOffset at, CancellationToken cancellationToken)
    {
        if (stripeEvent.Data?.Object is not Subscription subscription)
        {
            return Reading.Refused("Malformed event", $"{stripeEvent.Type} must carry a subscription object.");
        }

        string? plan = null;
        var price = subscription.Items?.Data?.Select(i => i.Price).FirstOrDefault(p => p is not null);
        if (price is not null && stripeEvent.Type != EventTypes.CustomerSubscriptionDeleted)
        {
            if (!plans.TryGetByPriceId(price.Id, out var byId) && !PlanCatalog.TryGet(price.LookupKey, out byId))
            {
                return Reading.Refused("Unknown price", $"The subscription's price '{Shorten(price.Id)}' is not one of SetupClaw's plans. Set Plans:Starter|Pro|Team:StripePriceId to the plan's Stripe price id (or give the price the lookup key starter, pro or team); Stripe redelivers the event.");
            }

            plan = byId.Name;
        }

        var customer = await FindAsync(null, subscription.Metadata, StripeId(subscription.Id), cancellationToken);
        var state = stripeEvent.Type == EventTypes.CustomerSubscriptionDeleted ? BillingStates.Cancelled : StateOf(subscription.Status);
        return new Reading(customer, new BillingFact(at, state, plan, StripeId(subscription.CustomerId), StripeId(subscription.Id)));
    }

    private async Task<Reading> FromInvoiceAsync(Event stripeEvent, DateTimeOffset at, CancellationToken cancellationToken)
    {
        if (stripeEvent.Data?.Object is not Invoice invoice)
        {
            return Reading.Refused("Malformed event", $"{stripeEvent.Type} must carry an invoice object.");
        }

        var details = invoice.Parent?.SubscriptionDetails;
        var subscriptionId = StripeId(details?.SubscriptionId);
        if (subscriptionId is null)
        {
            return new Reading(null, null); // not a subscription's invoice: nothing of ours
        }

        var customer = await FindAsync(null, details?.Metadata ?? invoice.Metadata, subscriptionId, cancellationToken);
        // A failed payment suspends only once Stripe has given up retrying it (no next attempt is scheduled).
        var state = stripeEvent.Type == EventTypes.InvoicePaid ? BillingStates.Active
            : invoice.NextPaymentAttempt is null ? BillingStates.Suspended
            : null;
        return new Reading(customer, state is null ? null : new BillingFact(at, state, null, StripeId(invoice.CustomerId), subscriptionId));
    }

    /// <summary>Stripe's subscription statuses as what SetupClaw does: past_due keeps running while Stripe retries.</summary>
    public static string? StateOf(string? status) => status switch
    {
        "active" or "trialing" or "past_due" => BillingStates.Active,
        "unpaid" or "paused" => BillingStates.Suspended,
        "canceled" or "incomplete_expired" => BillingStates.Cancelled,
        _ => null, // incomplete: the first payment is still open
    };

    private static string Shorten(string? value) => value is { Length: > 60 } ? value[..60] + "…" : value ?? "";

    /// <summary>A Stripe object id as Stripe writes them, or null: nothing else is stored or looked up.</summary>
    private static string? StripeId(string? id) => id is not null && EventShape.IsMatch(id) ? id : null;

    private async Task<Customer?> FindAsync(string? referenceId, IDictionary<string, string>? metadata, string? subscriptionId, CancellationToken cancellationToken)
    {
        var id = referenceId ?? (metadata?.TryGetValue(StripeEventFactory.CustomerIdMetadataKey, out var fromMetadata) == true ? fromMetadata : null);
        if (Providers.CustomerIds.IsValid(id) && await store.GetAsync(id!, cancellationToken) is { } customer)
        {
            return customer;
        }

        return subscriptionId is null ? null : await store.FindBySubscriptionAsync(subscriptionId, cancellationToken);
    }

    /// <summary>What an event of a handled type says: its customer and fact, or why it is refused.</summary>
    private sealed record Reading(Customer? Customer, BillingFact? Fact, (string Title, string Detail)? Refusal = null)
    {
        public static Reading Refused(string title, string detail) => new(null, null, (title, detail));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook rejected: {Reason}")]
    private static partial void LogRejected(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stripe {Type} {EventId}: {Outcome}")]
    private static partial void LogHandled(ILogger logger, string type, string eventId, string outcome);
}

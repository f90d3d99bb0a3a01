using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SetupClaw.Customers;
using SetupClaw.Http;
using SetupClaw.Lifecycle;
using Stripe;
using Stripe.Checkout;
using Customer = SetupClaw.Customers.Customer;

namespace SetupClaw.Billing;

/// <summary>
/// <c>POST /api/stripe/webhook</c>. Verifies the signature over the raw body (300 s tolerance), answers at once and
/// never provisions inside the request: it only starts orchestrations. Events are recorded by id after they are
/// handled, so a delivery that fails halfway is handled again on Stripe's retry, and a repeated one is not.
/// </summary>
public sealed partial class StripeWebhookHandler(
    ICustomerStore store, LifecycleStarter lifecycle, IOptions<StripeOptions> options, TimeProvider clock, ILogger<StripeWebhookHandler> logger)
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

        Event stripeEvent;
        try
        {
            // The API train is not enforced: only stable fields are read, and a refused event would be retried for days.
            stripeEvent = EventUtility.ConstructEvent(
                body, signature, options.Value.WebhookSecret, EventUtility.DefaultTimeTolerance,
                clock.GetUtcNow().ToUnixTimeSeconds(), throwOnApiVersionMismatch: false);
        }
        catch (StripeException e) when (e.Message.Contains("signature", StringComparison.OrdinalIgnoreCase) || e.Message.Contains("timestamp", StringComparison.OrdinalIgnoreCase))
        {
            LogRejected(logger, e.Message);
            return Problems.BadRequest("Invalid Stripe signature", e.Message);
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

        var (customerId, outcome) = stripeEvent.Type switch
        {
            EventTypes.CheckoutSessionCompleted => await OnCheckoutCompletedAsync(stripeEvent, durable, cancellationToken),
            EventTypes.CustomerSubscriptionDeleted => await OnSubscriptionDeletedAsync(stripeEvent, durable, cancellationToken),
            _ => (null, "ignored"),
        };

        await store.RecordEventAsync(stripeEvent.Id, stripeEvent.Type, customerId, outcome, cancellationToken);
        LogHandled(logger, stripeEvent.Type, stripeEvent.Id, outcome);
        return Results.Ok(new { received = true, outcome });
    }

    private async Task<(string?, string)> OnCheckoutCompletedAsync(Event stripeEvent, DurableTaskClient durable, CancellationToken cancellationToken)
    {
        if (stripeEvent.Data?.Object is not Session session)
        {
            return (null, "malformed_object");
        }

        var customer = await FindAsync(session.ClientReferenceId, session.Metadata, cancellationToken);
        if (customer is null)
        {
            return (null, "unknown_customer");
        }

        var outcome = await lifecycle.StartProvisioningAsync(
            durable, customer, StripeId(session.CustomerId), StripeId(session.SubscriptionId), StripeId(session.Id), cancellationToken);
        return (customer.Id, outcome);
    }

    private async Task<(string?, string)> OnSubscriptionDeletedAsync(Event stripeEvent, DurableTaskClient durable, CancellationToken cancellationToken)
    {
        if (stripeEvent.Data?.Object is not Subscription subscription)
        {
            return (null, "malformed_object");
        }

        var customer = await FindAsync(null, subscription.Metadata, cancellationToken)
            ?? (StripeId(subscription.Id) is { } subscriptionId ? await store.FindBySubscriptionAsync(subscriptionId, cancellationToken) : null);
        if (customer is null)
        {
            return (null, "unknown_customer");
        }

        return (customer.Id, await lifecycle.StartDeprovisioningAsync(durable, customer, cancellationToken));
    }

    /// <summary>A Stripe object id as Stripe writes them, or null: nothing else is stored or looked up.</summary>
    private static string? StripeId(string? id) => id is not null && EventShape.IsMatch(id) ? id : null;

    private async Task<Customer?> FindAsync(string? referenceId, IDictionary<string, string>? metadata, CancellationToken cancellationToken)
    {
        var id = referenceId ?? (metadata?.TryGetValue(StripeEventFactory.CustomerIdMetadataKey, out var fromMetadata) == true ? fromMetadata : null);
        return Providers.CustomerIds.IsValid(id) ? await store.GetAsync(id!, cancellationToken) : null;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook rejected: {Reason}")]
    private static partial void LogRejected(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stripe {Type} {EventId}: {Outcome}")]
    private static partial void LogHandled(ILogger logger, string type, string eventId, string outcome);
}

using Microsoft.Extensions.DependencyInjection;
using Stripe;

namespace SetupClaw.Billing;

/// <summary>
/// The few writes SetupClaw makes to Stripe itself (the migration's clean slate): cancel a subscription, refund its
/// last paid invoice. Online only; Stripe's client is resolved on first use, so offline hosts never need a key.
/// </summary>
public sealed class StripeActions(IServiceProvider services)
{
    private IStripeClient Client => services.GetRequiredService<IStripeClient>();

    /// <summary>Cancels the subscription now (no proration). Cancelling one that is cancelled already is not an error.</summary>
    public async Task CancelSubscriptionAsync(string subscriptionId, CancellationToken cancellationToken)
    {
        try
        {
            await new SubscriptionService(Client).CancelAsync(subscriptionId, cancellationToken: cancellationToken);
        }
        catch (StripeException e) when (e.StripeError?.Code == "resource_missing")
        {
            // Stripe answers a second cancellation of a canceled subscription as missing: it is cancelled, as asked.
            if (!await IsCanceledAsync(subscriptionId, cancellationToken))
            {
                throw;
            }
        }
    }

    /// <summary>Refunds the newest paid invoice of the subscription in full; returns the refund's id, or null when there was none to refund.</summary>
    public async Task<string?> RefundLastPaidInvoiceAsync(string subscriptionId, CancellationToken cancellationToken)
    {
        var invoices = await new InvoiceService(Client).ListAsync(
            new InvoiceListOptions { Subscription = subscriptionId, Status = "paid", Limit = 1, Expand = ["data.payments"] }, cancellationToken: cancellationToken);
        var paymentIntent = invoices.Data.FirstOrDefault()?.Payments?.Data?.Select(p => p.Payment?.PaymentIntentId).FirstOrDefault(id => id is not null);
        if (paymentIntent is null)
        {
            return null;
        }

        // One refund per payment, however often the clean slate is run.
        var refund = await new RefundService(Client).CreateAsync(new RefundCreateOptions { PaymentIntent = paymentIntent },
            new RequestOptions { IdempotencyKey = "setupclaw-mock-refund:" + paymentIntent }, cancellationToken);
        return refund.Id;
    }

    private async Task<bool> IsCanceledAsync(string subscriptionId, CancellationToken cancellationToken)
    {
        try
        {
            return (await new SubscriptionService(Client).GetAsync(subscriptionId, cancellationToken: cancellationToken)).Status == "canceled";
        }
        catch (StripeException)
        {
            return false;
        }
    }
}

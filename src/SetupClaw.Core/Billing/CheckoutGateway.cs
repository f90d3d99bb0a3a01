using Microsoft.Extensions.Options;
using SetupClaw.Plans;
using Stripe;
using Stripe.Checkout;
using Plan = SetupClaw.Plans.Plan;

namespace SetupClaw.Billing;

/// <summary>A Checkout Session SetupClaw created: its id (stored on the customer) and where the customer pays.</summary>
public sealed record StartedCheckout(string SessionId, string Url);

/// <summary>Where a new customer goes to pay.</summary>
public interface ICheckoutGateway
{
    Task<StartedCheckout> CreateCheckoutAsync(string customerId, string email, Plan plan, CancellationToken cancellationToken);
}

/// <summary>Offline billing: the local checkout page, whose Pay button sends a signed Stripe-shaped event to the webhook.</summary>
internal sealed class OfflineCheckoutGateway(IOptions<AppOptions> app) : ICheckoutGateway
{
    public Task<StartedCheckout> CreateCheckoutAsync(string customerId, string email, Plan plan, CancellationToken cancellationToken) =>
        Task.FromResult(new StartedCheckout(StripeEventFactory.OfflineSessionId(customerId), new Uri(app.Value.PublicBaseUrl, $"/checkout/{customerId}").ToString()));
}

/// <summary>Stripe Checkout in subscription mode. The customer id rides along as client_reference_id and subscription metadata.</summary>
internal sealed class StripeCheckoutGateway(IStripeClient client, IOptions<AppOptions> app, PlanCatalog plans) : ICheckoutGateway
{
    public async Task<StartedCheckout> CreateCheckoutAsync(string customerId, string email, Plan plan, CancellationToken cancellationToken)
    {
        var priceId = plans.PriceOf(plan).StripePriceId
            ?? throw new InvalidOperationException($"Plans:{plan.DisplayName}:StripePriceId is not configured.");
        var metadata = new Dictionary<string, string> { [StripeEventFactory.CustomerIdMetadataKey] = customerId };
        var session = await new SessionService(client).CreateAsync(
            new SessionCreateOptions
            {
                Mode = "subscription",
                ClientReferenceId = customerId,
                CustomerEmail = email,
                LineItems = [new SessionLineItemOptions { Price = priceId, Quantity = 1 }],
                SuccessUrl = new Uri(app.Value.PublicBaseUrl, $"/success/{customerId}").ToString(),
                CancelUrl = new Uri(app.Value.PublicBaseUrl, "/").ToString(),
                Metadata = metadata,
                SubscriptionData = new SessionSubscriptionDataOptions { Metadata = metadata },
            },
            new RequestOptions { IdempotencyKey = "checkout-" + customerId },
            cancellationToken);
        return new StartedCheckout(session.Id, session.Url);
    }
}

using SetupClaw.Lifecycle;
using SetupClaw.Plans;
using Stripe;

namespace SetupClaw.Billing;

/// <summary>A Stripe subscription as a billing fact: used by the webhook and by the operator's binding.</summary>
public static class SubscriptionFacts
{
    /// <summary>A subscription as a fact: its state and, unless it ended, the plan of its price.</summary>
    /// <param name="strictPrice">An unknown price of our subscription is refused (an operator's configuration to fix; Stripe
    /// redelivers); one of a subscription that may be another product's is only left out.</param>
    public static (BillingFact? Fact, (string Title, string Detail)? Refusal) Of(PlanCatalog plans, Subscription subscription, DateTimeOffset at, bool deleted, bool strictPrice)
    {
        string? plan = null;
        var price = subscription.Items?.Data?.Select(i => i.Price).FirstOrDefault(p => p is not null);
        if (price is not null && !deleted)
        {
            if (plans.TryGetByPriceId(price.Id, out var byId) || PlanCatalog.TryGet(price.LookupKey, out byId))
            {
                plan = byId.Name;
            }
            else if (strictPrice)
            {
                return (null, ("Unknown price", $"The subscription's price '{StripeWebhookHandler.Shorten(price.Id)}' is not one of SetupClaw's plans. Set Plans:Starter|Pro|Team:StripePriceId to the plan's Stripe price id (or give the price the lookup key starter, pro or team); Stripe redelivers the event."));
            }
        }

        var state = deleted ? BillingStates.Cancelled : StripeWebhookHandler.StateOf(subscription.Status);
        return (new BillingFact(at, state, plan, StripeWebhookHandler.StripeId(subscription.CustomerId), StripeWebhookHandler.StripeId(subscription.Id)), null);
    }
}

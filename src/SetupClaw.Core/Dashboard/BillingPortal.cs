using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SetupClaw.Billing;
using SetupClaw.Customers;
using SetupClaw.Http;
using SetupClaw.Plans;
using Customer = SetupClaw.Customers.Customer;
using IStripeClient = Stripe.IStripeClient;

namespace SetupClaw.Dashboard;

/// <summary>
/// <b>Manage billing</b>: a Stripe Customer Portal session for the customer's Stripe customer, returning to the
/// dashboard; plan changes and cancellations made there come back as the webhook events SetupClaw already handles.
/// Stripe's client is resolved only online (it cannot be built without a key). Offline, a stand-in portal (<c>/billing/portal</c>) whose buttons send those same events, signed, to the webhook.
/// </summary>
public sealed class BillingPortal(IServiceProvider services, OfflineWebhook webhook, PlanCatalog plans, IOptions<StripeOptions> stripe, IOptions<AppOptions> app, TimeProvider clock)
{
    public const string OfflinePortalPath = "/billing/portal";

    public bool IsOffline => stripe.Value.IsOffline;

    public bool CanManage(Customer customer)
    {
        ArgumentNullException.ThrowIfNull(customer);
        return IsOffline
            ? customer.StripeSubscriptionId is not null && customer.Status is not (CustomerStatus.Deprovisioning or CustomerStatus.Deprovisioned)
            : customer.StripeCustomerId is not null;
    }

    public async Task<IResult> OpenAsync(Customer customer, CancellationToken cancellationToken)
    {
        if (!CanManage(customer))
        {
            return Problems.Conflict("No billing to manage", "There is no subscription to manage for this assistant.");
        }

        if (IsOffline)
        {
            return Results.Ok(new { url = OfflinePortalPath });
        }

        var session = await new Stripe.BillingPortal.SessionService(services.GetRequiredService<IStripeClient>()).CreateAsync(new Stripe.BillingPortal.SessionCreateOptions
        {
            Customer = customer.StripeCustomerId,
            ReturnUrl = new Uri(app.Value.PublicBaseUrl, "/dashboard").ToString(),
        }, cancellationToken: cancellationToken);
        return Results.Ok(new { url = session.Url });
    }

    /// <summary>A button of the offline portal: a plan (<c>starter</c>, <c>pro</c>, <c>team</c>) or <c>cancel</c>.</summary>
    public async Task<IResult> OfflineActionAsync(Customer customer, string? action, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(customer);
        if (!IsOffline)
        {
            return Problems.NotFound("The stand-in billing portal exists only in offline billing; use Manage billing (Stripe's portal).");
        }

        if (!CanManage(customer))
        {
            return Problems.Conflict("No billing to manage", "There is no live subscription to change for this assistant.");
        }

        var now = clock.GetUtcNow();
        string payload;
        if (action == "cancel")
        {
            payload = StripeEventFactory.SubscriptionDeleted(customer.Id, now, subscriptionId: customer.StripeSubscriptionId);
        }
        else if (PlanCatalog.TryGet(action, out var plan))
        {
            if (plans.PriceOf(plan).StripePriceId is not { Length: > 0 } priceId)
            {
                return Problems.Conflict("Plan has no price", $"Plans:{plan.DisplayName}:StripePriceId is not set, so no subscription can be moved to {plan.DisplayName}.");
            }

            payload = StripeEventFactory.SubscriptionUpdated(customer.Id, priceId, "active", now, subscriptionId: customer.StripeSubscriptionId);
        }
        else
        {
            return Problems.BadRequest("Unknown action", "Send {\"action\": \"starter\"}, \"pro\", \"team\" or \"cancel\".");
        }

        return await webhook.DeliverAsync(payload, cancellationToken) ?? Results.Ok(new { action, redirect = "/dashboard" });
    }
}

using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using SetupClaw.Customers;
using SetupClaw.Http;
using SetupClaw.Pages;
using SetupClaw.Plans;
using SetupClaw.Providers;
using SetupClaw.Provisioning;

namespace SetupClaw.Billing;

/// <summary>
/// The offline checkout (only when no Stripe key is configured): its page and its Pay button. Pay signs a
/// <c>checkout.session.completed</c> event with the webhook secret and sends it to the webhook over HTTP, so offline
/// billing takes the same path, checks included, as a real payment.
/// </summary>
public sealed class OfflineCheckoutHandler(
    ICustomerStore store, PlanCatalog plans, OfflineWebhook webhook, IOptions<StripeOptions> stripe, TimeProvider clock)
{
    public async Task<IResult> CheckoutPageAsync(string customerId, CancellationToken cancellationToken)
    {
        var customer = await FindPendingAsync(customerId, cancellationToken);
        if (customer is null)
        {
            return Problems.NotFound("There is no unpaid offline checkout for that customer.");
        }

        var plan = PlanCatalog.Get(customer.Plan);
        var values = new Dictionary<string, string>
        {
            ["plan"] = plan.DisplayName,
            ["email"] = customer.Email,
            ["price"] = plans.PriceOf(plan).MonthlyPriceUsd.ToString("0.##", CultureInfo.InvariantCulture),
            ["customerId"] = customer.Id,
        }.ToDictionary(kv => kv.Key, kv => WebUtility.HtmlEncode(kv.Value));
        return SitePages.Page(WorkspaceSeeder.Render(SitePages.Load("checkout"), values));
    }

    public async Task<IResult> PayAsync(string customerId, CancellationToken cancellationToken)
    {
        var customer = await FindPendingAsync(customerId, cancellationToken);
        if (customer is null)
        {
            return Problems.NotFound("There is no unpaid offline checkout for that customer.");
        }

        var payload = StripeEventFactory.CheckoutCompleted(customer.Id, customer.Email, clock.GetUtcNow());
        if (await webhook.DeliverAsync(payload, cancellationToken) is { } refused)
        {
            return refused;
        }

        return Results.Redirect($"/success/{customer.Id}", permanent: false, preserveMethod: false);
    }

    private async Task<Customer?> FindPendingAsync(string customerId, CancellationToken cancellationToken) =>
        stripe.Value.IsOffline && CustomerIds.IsValid(customerId) && await store.GetAsync(customerId, cancellationToken) is { Status: CustomerStatus.Pending } customer
            ? customer
            : null;
}

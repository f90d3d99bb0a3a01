using System.Globalization;
using System.Net;
using System.Text;
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
    ICustomerStore store, PlanCatalog plans, IHttpClientFactory httpClients, IOptions<StripeOptions> stripe, IOptions<AppOptions> app, TimeProvider clock)
{
    public const string HttpClientName = "offline-checkout";

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
        return Results.Content(WorkspaceSeeder.Render(SitePages.Load("checkout"), values), "text/html; charset=utf-8");
    }

    public async Task<IResult> PayAsync(string customerId, CancellationToken cancellationToken)
    {
        var customer = await FindPendingAsync(customerId, cancellationToken);
        if (customer is null)
        {
            return Problems.NotFound("There is no unpaid offline checkout for that customer.");
        }

        var now = clock.GetUtcNow();
        var payload = StripeEventFactory.CheckoutCompleted(customer.Id, customer.Email, now);
        using var delivery = new HttpRequestMessage(HttpMethod.Post, new Uri(app.Value.PublicBaseUrl, "/api/stripe/webhook"))
        {
            Content = new StringContent(payload, Encoding.UTF8, "application/json"),
        };
        delivery.Headers.Add("Stripe-Signature", StripeEventFactory.Sign(payload, stripe.Value.WebhookSecret, now));
        using var response = await httpClients.CreateClient(HttpClientName).SendAsync(delivery, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            return Results.Problem($"The webhook answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}",
                statusCode: 502, title: "Payment event not accepted");
        }

        return Results.Redirect($"/success/{customer.Id}", permanent: false, preserveMethod: false);
    }

    private async Task<Customer?> FindPendingAsync(string customerId, CancellationToken cancellationToken) =>
        stripe.Value.IsOffline && CustomerIds.IsValid(customerId) && await store.GetAsync(customerId, cancellationToken) is { Status: CustomerStatus.Pending } customer
            ? customer
            : null;
}

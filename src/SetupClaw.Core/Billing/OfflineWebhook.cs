using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace SetupClaw.Billing;

/// <summary>
/// Offline billing's way in: a Stripe-shaped event, signed with the webhook secret and posted to this server's own
/// webhook over HTTP, so the offline checkout and the stand-in billing portal take the path a real Stripe event takes.
/// </summary>
public sealed class OfflineWebhook(IHttpClientFactory httpClients, IOptions<StripeOptions> stripe, IOptions<AppOptions> app, TimeProvider clock)
{
    public const string HttpClientName = "offline-checkout";

    /// <summary>Null when the webhook took the event; otherwise the 502 problem to answer.</summary>
    public async Task<IResult?> DeliverAsync(string payload, CancellationToken cancellationToken)
    {
        using var delivery = new HttpRequestMessage(HttpMethod.Post, new Uri(app.Value.PublicBaseUrl, "/api/stripe/webhook"))
        {
            Content = new StringContent(payload, Encoding.UTF8, "application/json"),
        };
        delivery.Headers.Add("Stripe-Signature", StripeEventFactory.Sign(payload, stripe.Value.WebhookSecret, clock.GetUtcNow()));
        using var response = await httpClients.CreateClient(HttpClientName).SendAsync(delivery, cancellationToken);
        return response.IsSuccessStatusCode
            ? null
            : Results.Problem($"The webhook answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}",
                statusCode: 502, title: "Payment event not accepted");
    }
}

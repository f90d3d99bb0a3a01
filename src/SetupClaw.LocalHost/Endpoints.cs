using Microsoft.DurableTask.Client;
using SetupClaw.Billing;
using SetupClaw.Operations;
using SetupClaw.Pages;
using SetupClaw.Provisioning;
using SetupClaw.Signup;

namespace SetupClaw.LocalHost;

/// <summary>The same routes as the Functions app, bound to the same core handlers, plus the pages and the sidecar.</summary>
internal static class Endpoints
{
    public static void MapSetupClawEndpoints(this WebApplication app)
    {
        app.MapDurableSidecar();
        app.MapPost("/api/signup", (HttpRequest request, SignupHandler handler, CancellationToken ct) => handler.HandleAsync(request, ct));
        app.MapPost("/api/stripe/webhook", (HttpRequest request, StripeWebhookHandler handler, DurableTaskClient durable, CancellationToken ct) =>
            handler.HandleAsync(request, durable, ct));
        app.MapGet("/api/provisioning/{customerId}", (HttpRequest request, string customerId, ProvisioningStatusHandler handler, CancellationToken ct) =>
            handler.HandleAsync(request, customerId, ct));
        app.MapGet("/api/orchestrations/{instanceId}", (HttpRequest request, string instanceId, OrchestrationStatusHandler handler, DurableTaskClient durable, CancellationToken ct) =>
            handler.HandleAsync(request, instanceId, durable, ct));

        app.MapGet("/api/operator/orphans", (HttpRequest request, OperatorHandler handler, CancellationToken ct) => handler.ListAsync(request, ct));
        app.MapPost("/api/operator/sweep", (HttpRequest request, OperatorHandler handler, DurableTaskClient durable, CancellationToken ct) =>
            handler.SweepAsync(request, durable, ct));
        app.MapPost("/api/operator/customers/{customerId}/retry", (HttpRequest request, string customerId, OperatorHandler handler, DurableTaskClient durable, CancellationToken ct) =>
            handler.RetryAsync(request, customerId, durable, ct));

        app.MapGet("/", () => SitePages.Html("index"));
        app.MapGet("/success/{customerId}", (string customerId) => SitePages.Html("success"));
        app.MapGet("/checkout/{customerId}", (string customerId, OfflineCheckoutHandler handler, CancellationToken ct) => handler.CheckoutPageAsync(customerId, ct));
        app.MapPost("/checkout/{customerId}/pay", (string customerId, OfflineCheckoutHandler handler, CancellationToken ct) => handler.PayAsync(customerId, ct));
        app.MapGet("/healthz", async (DurableTaskClient durable, CancellationToken ct) => await DurableSidecar.IsReachableAsync(durable, ct)
            ? Results.Ok(new { status = "ok" })
            : Results.Json(new { status = "starting", durable = "the durable sidecar is not reachable yet" }, statusCode: 503));
    }
}

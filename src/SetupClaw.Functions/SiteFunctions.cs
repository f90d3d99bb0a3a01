using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using SetupClaw.Http;
using static SetupClaw.Http.SiteRoutes;

namespace SetupClaw.Functions;

/// <summary>
/// One HTTP trigger per route of the core's table (<see cref="SiteRoutes"/>): the attribute names the route from the
/// table's constants and the body runs the table's handler on the request's own HttpContext (ASP.NET Core
/// integration). host.json's empty <c>routePrefix</c> makes the paths the local host's, pages included.
/// </summary>
public sealed class SiteFunctions(IServiceProvider services)
{
    [Function("Signup")]
    public Task<IActionResult> SignupAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, Post, Route = SignupPath)] HttpRequest request, CancellationToken cancellationToken) =>
        RunAsync("Signup", request, null, cancellationToken);

    [Function("StripeWebhook")]
    public Task<IActionResult> StripeWebhookAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, Post, Route = StripeWebhookPath)] HttpRequest request,
        [DurableClient] DurableTaskClient durable,
        CancellationToken cancellationToken) =>
        RunAsync("StripeWebhook", request, durable, cancellationToken);

    [Function("ProvisioningStatus")]
    public Task<IActionResult> ProvisioningStatusAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, Get, Route = ProvisioningStatusPath)] HttpRequest request,
        string customerId,
        CancellationToken cancellationToken) =>
        RunAsync("ProvisioningStatus", request, null, cancellationToken, ("customerId", customerId));

    [Function("OrchestrationStatus")]
    public Task<IActionResult> OrchestrationStatusAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, Get, Route = OrchestrationStatusPath)] HttpRequest request,
        string instanceId,
        [DurableClient] DurableTaskClient durable,
        CancellationToken cancellationToken) =>
        RunAsync("OrchestrationStatus", request, durable, cancellationToken, ("instanceId", instanceId));

    [Function("OperatorOrphans")]
    public Task<IActionResult> OperatorOrphansAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, Get, Route = OperatorOrphansPath)] HttpRequest request, CancellationToken cancellationToken) =>
        RunAsync("OperatorOrphans", request, null, cancellationToken);

    [Function("OperatorPool")]
    public Task<IActionResult> OperatorPoolAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, Get, Route = OperatorPoolPath)] HttpRequest request, CancellationToken cancellationToken) =>
        RunAsync("OperatorPool", request, null, cancellationToken);

    [Function("OperatorSweep")]
    public Task<IActionResult> OperatorSweepAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, Post, Route = OperatorSweepPath)] HttpRequest request,
        [DurableClient] DurableTaskClient durable,
        CancellationToken cancellationToken) =>
        RunAsync("OperatorSweep", request, durable, cancellationToken);

    [Function("OperatorRetry")]
    public Task<IActionResult> OperatorRetryAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, Post, Route = OperatorRetryPath)] HttpRequest request,
        string customerId,
        [DurableClient] DurableTaskClient durable,
        CancellationToken cancellationToken) =>
        RunAsync("OperatorRetry", request, durable, cancellationToken, ("customerId", customerId));

    [Function("OperatorBindSubscription")]
    public Task<IActionResult> OperatorBindSubscriptionAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, Post, Route = OperatorBindSubscriptionPath)] HttpRequest request,
        string customerId,
        [DurableClient] DurableTaskClient durable,
        CancellationToken cancellationToken) =>
        RunAsync("OperatorBindSubscription", request, durable, cancellationToken, ("customerId", customerId));

    [Function("OperatorReseal")]
    public Task<IActionResult> OperatorResealAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, Post, Route = OperatorResealPath)] HttpRequest request, CancellationToken cancellationToken) =>
        RunAsync("OperatorReseal", request, null, cancellationToken);

    [Function("OperatorCustomer")]
    public Task<IActionResult> OperatorCustomerAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, Get, Route = OperatorCustomerPath)] HttpRequest request, string customerId, CancellationToken cancellationToken) =>
        RunAsync("OperatorCustomer", request, null, cancellationToken, ("customerId", customerId));

    [Function("OperatorCustomers")]
    public Task<IActionResult> OperatorCustomersAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, Get, Route = OperatorCustomersPath)] HttpRequest request, CancellationToken cancellationToken) =>
        RunAsync("OperatorCustomers", request, null, cancellationToken);

    [Function("OperatorProvision")]
    public Task<IActionResult> OperatorProvisionAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, Post, Route = OperatorProvisionPath)] HttpRequest request,
        string customerId,
        [DurableClient] DurableTaskClient durable,
        CancellationToken cancellationToken) =>
        RunAsync("OperatorProvision", request, durable, cancellationToken, ("customerId", customerId));

    [Function("OperatorDeprovision")]
    public Task<IActionResult> OperatorDeprovisionAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, Post, Route = OperatorDeprovisionPath)] HttpRequest request,
        string customerId,
        [DurableClient] DurableTaskClient durable,
        CancellationToken cancellationToken) =>
        RunAsync("OperatorDeprovision", request, durable, cancellationToken, ("customerId", customerId));

    [Function("OperatorMockMigration")]
    public Task<IActionResult> OperatorMockMigrationAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, Post, Route = OperatorMockMigrationPath)] HttpRequest request,
        [DurableClient] DurableTaskClient durable,
        CancellationToken cancellationToken) =>
        RunAsync("OperatorMockMigration", request, durable, cancellationToken);

    [Function("OperatorSmoke")]
    public Task<IActionResult> OperatorSmokeAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, Post, Route = OperatorSmokePath)] HttpRequest request,
        [DurableClient] DurableTaskClient durable,
        CancellationToken cancellationToken) =>
        RunAsync("OperatorSmoke", request, durable, cancellationToken);

    [Function("OperatorSmokeRemove")]
    public Task<IActionResult> OperatorSmokeRemoveAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, Delete, Route = OperatorSmokeCustomerPath)] HttpRequest request,
        string customerId,
        [DurableClient] DurableTaskClient durable,
        CancellationToken cancellationToken) =>
        RunAsync("OperatorSmokeRemove", request, durable, cancellationToken, ("customerId", customerId));

    [Function("OperatorBackfill")]
    public Task<IActionResult> OperatorBackfillAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, Post, Route = OperatorBackfillPath)] HttpRequest request,
        [DurableClient] DurableTaskClient durable,
        CancellationToken cancellationToken) =>
        RunAsync("OperatorBackfill", request, durable, cancellationToken);

    /// <summary>The model gateway every runtime calls: every chat passes here, so the app runs on always-ready instances (docs/operations.md).</summary>
    [Function("ModelGateway")]
    public Task<IActionResult> ModelGatewayAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, Post, Route = ModelGatewayPath)] HttpRequest request, CancellationToken cancellationToken) =>
        RunAsync("ModelGateway", request, null, cancellationToken);

    /// <summary>The signup page at the site's root (host.json: empty routePrefix; app setting AzureWebJobsDisableHomepage=true).</summary>
    [Function("HomePage")]
    public Task<IActionResult> HomePageAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, Get, Route = HomePath)] HttpRequest request, CancellationToken cancellationToken) =>
        RunAsync("HomePage", request, null, cancellationToken);

    /// <summary>Where Stripe Checkout sends the customer back: the live provisioning page.</summary>
    [Function("SuccessPage")]
    public Task<IActionResult> SuccessPageAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, Get, Route = SuccessPath)] HttpRequest request,
        string customerId,
        CancellationToken cancellationToken) =>
        RunAsync("SuccessPage", request, null, cancellationToken, ("customerId", customerId));

    [Function("CheckoutPage")]
    public Task<IActionResult> CheckoutPageAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, Get, Route = CheckoutPath)] HttpRequest request,
        string customerId,
        CancellationToken cancellationToken) =>
        RunAsync("CheckoutPage", request, null, cancellationToken, ("customerId", customerId));

    [Function("CheckoutPay")]
    public Task<IActionResult> CheckoutPayAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, Post, Route = CheckoutPayPath)] HttpRequest request,
        string customerId,
        CancellationToken cancellationToken) =>
        RunAsync("CheckoutPay", request, null, cancellationToken, ("customerId", customerId));

    [Function("Health")]
    public Task<IActionResult> HealthAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, Get, Route = HealthPath)] HttpRequest request,
        [DurableClient] DurableTaskClient durable,
        CancellationToken cancellationToken) =>
        RunAsync("Health", request, durable, cancellationToken);

    [Function("Asset")]
    public Task<IActionResult> AssetAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, Get, Route = AssetPath)] HttpRequest request,
        string name,
        CancellationToken cancellationToken) =>
        RunAsync("Asset", request, null, cancellationToken, ("name", name));

    [Function("DashboardPage")]
    public Task<IActionResult> DashboardPageAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, Get, Route = DashboardPagePath)] HttpRequest request, CancellationToken cancellationToken) =>
        RunAsync("DashboardPage", request, null, cancellationToken);

    [Function("SignInPage")]
    public Task<IActionResult> SignInPageAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, Get, Route = SignInPagePath)] HttpRequest request, CancellationToken cancellationToken) =>
        RunAsync("SignInPage", request, null, cancellationToken);

    [Function("BillingPortalPage")]
    public Task<IActionResult> BillingPortalPageAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, Get, Route = BillingPortalPagePath)] HttpRequest request, CancellationToken cancellationToken) =>
        RunAsync("BillingPortalPage", request, null, cancellationToken);

    [Function("Dashboard")]
    public Task<IActionResult> DashboardAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, Get, Route = DashboardPath)] HttpRequest request, CancellationToken cancellationToken) =>
        RunAsync("Dashboard", request, null, cancellationToken);

    [Function("DashboardSession")]
    public Task<IActionResult> DashboardSessionAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, Post, Route = DashboardSessionPath)] HttpRequest request, CancellationToken cancellationToken) =>
        RunAsync("DashboardSession", request, null, cancellationToken);

    [Function("DashboardSignInLink")]
    public Task<IActionResult> DashboardSignInLinkAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, Post, Route = DashboardSignInLinkPath)] HttpRequest request, CancellationToken cancellationToken) =>
        RunAsync("DashboardSignInLink", request, null, cancellationToken);

    [Function("DashboardSignIn")]
    public Task<IActionResult> DashboardSignInAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, Post, Route = DashboardSignInPath)] HttpRequest request, CancellationToken cancellationToken) =>
        RunAsync("DashboardSignIn", request, null, cancellationToken);

    [Function("DashboardSignOut")]
    public Task<IActionResult> DashboardSignOutAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, Post, Route = DashboardSignOutPath)] HttpRequest request, CancellationToken cancellationToken) =>
        RunAsync("DashboardSignOut", request, null, cancellationToken);

    [Function("DashboardSkill")]
    public Task<IActionResult> DashboardSkillAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, Post, Route = DashboardSkillPath)] HttpRequest request,
        string name,
        CancellationToken cancellationToken) =>
        RunAsync("DashboardSkill", request, null, cancellationToken, ("name", name));

    [Function("DashboardApiKey")]
    public Task<IActionResult> DashboardApiKeyAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, Post, Route = DashboardApiKeyPath)] HttpRequest request, CancellationToken cancellationToken) =>
        RunAsync("DashboardApiKey", request, null, cancellationToken);

    [Function("DashboardExport")]
    public Task<IActionResult> DashboardExportAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, Get, Route = DashboardExportPath)] HttpRequest request, CancellationToken cancellationToken) =>
        RunAsync("DashboardExport", request, null, cancellationToken);

    [Function("DashboardBilling")]
    public Task<IActionResult> DashboardBillingAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, Post, Route = DashboardBillingPath)] HttpRequest request, CancellationToken cancellationToken) =>
        RunAsync("DashboardBilling", request, null, cancellationToken);

    [Function("DashboardOfflineBilling")]
    public Task<IActionResult> DashboardOfflineBillingAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, Post, Route = DashboardOfflineBillingPath)] HttpRequest request, CancellationToken cancellationToken) =>
        RunAsync("DashboardOfflineBilling", request, null, cancellationToken);

    /// <summary>Runs the table's handler for <paramref name="route"/> and executes its result on the trigger's own HttpContext.</summary>
    private async Task<IActionResult> RunAsync(
        string route, HttpRequest request, DurableTaskClient? durable, CancellationToken cancellationToken, params (string Name, string Value)[] values)
    {
        var call = new RouteCall(request, values.ToDictionary(v => v.Name, v => (string?)v.Value), durable, services, cancellationToken);
        var result = await Named(route).Handle(call);
        await result.ExecuteAsync(request.HttpContext);
        return new EmptyResult();
    }
}

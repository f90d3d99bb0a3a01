using Microsoft.AspNetCore.Http;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using SetupClaw.Billing;
using SetupClaw.Dashboard;
using SetupClaw.Operations;
using SetupClaw.Pages;
using SetupClaw.Provisioning;
using SetupClaw.Signup;

namespace SetupClaw.Http;

/// <summary>One request as a route's handler sees it, whichever host received it.</summary>
/// <param name="Values">The route's parameters (<c>customerId</c>, <c>instanceId</c>).</param>
/// <param name="Durable">The durable client, for the routes that start or read orchestrations.</param>
public sealed record RouteCall(
    HttpRequest Request, IReadOnlyDictionary<string, string?> Values, DurableTaskClient? Durable, IServiceProvider Services, CancellationToken CancellationToken)
{
    public string Value(string name) => Values.TryGetValue(name, out var value) ? value ?? "" : "";

    public T Get<T>()
        where T : notnull => Services.GetRequiredService<T>();

    public DurableTaskClient RequireDurable() =>
        Durable ?? throw new InvalidOperationException($"{Request.Path} needs the durable client, and its host did not pass one.");
}

/// <summary>A method, a path template (no leading slash, as the Functions host writes routes) and its core handler.</summary>
public sealed record SiteRoute(string Name, string Method, string Path, bool UsesDurable, Func<RouteCall, Task<IResult>> Handle);

/// <summary>
/// Every HTTP route of SetupClaw, pages included. The local host maps this table; the Functions app's triggers
/// (compile-time attributes) name their routes from these constants, and a test asserts both hosts serve the same set.
/// </summary>
public static class SiteRoutes
{
    public const string Get = "get";
    public const string Post = "post";
    public const string Delete = "delete";

    public const string SignupPath = "api/signup";
    public const string StripeWebhookPath = "api/stripe/webhook";
    public const string ProvisioningStatusPath = "api/provisioning/{customerId}";
    public const string OrchestrationStatusPath = "api/orchestrations/{instanceId}";
    public const string OperatorOrphansPath = "api/operator/orphans";
    public const string OperatorSweepPath = "api/operator/sweep";
    public const string OperatorRetryPath = "api/operator/customers/{customerId}/retry";
    public const string OperatorBindSubscriptionPath = "api/operator/customers/{customerId}/subscription";
    public const string OperatorResealPath = "api/operator/reseal";
    public const string OperatorCustomerPath = "api/operator/customers/{customerId}";
    public const string OperatorCustomersPath = "api/operator/customers";
    public const string OperatorProvisionPath = "api/operator/customers/{customerId}/provision";
    public const string OperatorDeprovisionPath = "api/operator/customers/{customerId}/deprovision";
    public const string OperatorMockMigrationPath = "api/operator/mock-migration";
    public const string OperatorBackfillPath = "api/operator/backfill";
    public const string OperatorSmokePath = "api/operator/smoke";
    public const string OperatorPoolPath = "api/operator/pool";
    public const string OperatorSmokeCustomerPath = "api/operator/smoke/{customerId}";
    public const string ModelGatewayBase = "api/llm/v1";
    public const string ModelGatewayPath = ModelGatewayBase + "/chat/completions";
    public const string HomePath = "";
    public const string SuccessPath = "success/{customerId}";
    public const string CheckoutPath = "checkout/{customerId}";
    public const string CheckoutPayPath = "checkout/{customerId}/pay";
    public const string HealthPath = "healthz";
    public const string AssetPath = "assets/{name}";
    public const string DashboardPagePath = "dashboard";
    public const string SignInPagePath = "dashboard/sign-in";
    public const string BillingPortalPagePath = "billing/portal";
    public const string DashboardPath = "api/dashboard";
    public const string DashboardSessionPath = "api/dashboard/session";
    public const string DashboardSignInLinkPath = "api/dashboard/sign-in-link";
    public const string DashboardSignInPath = "api/dashboard/sign-in";
    public const string DashboardSignOutPath = "api/dashboard/sign-out";
    public const string DashboardSkillPath = "api/dashboard/skills/{name}";
    public const string DashboardApiKeyPath = "api/dashboard/api-key";
    public const string DashboardExportPath = "api/dashboard/export";
    public const string DashboardBillingPath = "api/dashboard/billing";
    public const string DashboardOfflineBillingPath = "api/dashboard/billing/offline";

    public static IReadOnlyList<SiteRoute> All { get; } =
    [
        new("Signup", Post, SignupPath, false, c => c.Get<SignupHandler>().HandleAsync(c.Request, c.CancellationToken)),
        new("StripeWebhook", Post, StripeWebhookPath, true, c => c.Get<StripeWebhookHandler>().HandleAsync(c.Request, c.RequireDurable(), c.CancellationToken)),
        new("ProvisioningStatus", Get, ProvisioningStatusPath, false,
            c => c.Get<ProvisioningStatusHandler>().HandleAsync(c.Request, c.Value("customerId"), c.CancellationToken)),
        new("OrchestrationStatus", Get, OrchestrationStatusPath, true,
            c => c.Get<OrchestrationStatusHandler>().HandleAsync(c.Request, c.Value("instanceId"), c.RequireDurable(), c.CancellationToken)),
        new("OperatorOrphans", Get, OperatorOrphansPath, false, c => c.Get<OperatorHandler>().ListAsync(c.Request, c.CancellationToken)),
        new("OperatorSweep", Post, OperatorSweepPath, true, c => c.Get<OperatorHandler>().SweepAsync(c.Request, c.RequireDurable(), c.CancellationToken)),
        new("OperatorRetry", Post, OperatorRetryPath, true,
            c => c.Get<OperatorHandler>().RetryAsync(c.Request, c.Value("customerId"), c.RequireDurable(), c.CancellationToken)),
        new("OperatorBindSubscription", Post, OperatorBindSubscriptionPath, true,
            c => c.Get<OperatorHandler>().BindSubscriptionAsync(c.Request, c.Value("customerId"), c.RequireDurable(), c.CancellationToken)),
        new("OperatorReseal", Post, OperatorResealPath, false, c => c.Get<OperatorHandler>().ResealAsync(c.Request, c.CancellationToken)),
        new("OperatorCustomer", Get, OperatorCustomerPath, false,
            c => c.Get<OperatorHandler>().CustomerAsync(c.Request, c.Value("customerId"), c.CancellationToken)),
        new("OperatorCustomers", Get, OperatorCustomersPath, false, c => c.Get<OperatorHandler>().CustomersAsync(c.Request, c.CancellationToken)),
        new("OperatorProvision", Post, OperatorProvisionPath, true,
            c => c.Get<OperatorHandler>().ProvisionAsync(c.Request, c.Value("customerId"), c.RequireDurable(), c.CancellationToken)),
        new("OperatorDeprovision", Post, OperatorDeprovisionPath, true,
            c => c.Get<OperatorHandler>().DeprovisionAsync(c.Request, c.Value("customerId"), c.RequireDurable(), c.CancellationToken)),
        new("OperatorMockMigration", Post, OperatorMockMigrationPath, true,
            c => c.Get<Migration.MockMigrationHandler>().RunAsync(c.Request, c.RequireDurable(), c.CancellationToken)),
        new("OperatorSmoke", Post, OperatorSmokePath, true, c => c.Get<SmokeHandler>().StartAsync(c.Request, c.RequireDurable(), c.CancellationToken)),
        new("OperatorSmokeRemove", Delete, OperatorSmokeCustomerPath, true,
            c => c.Get<SmokeHandler>().RemoveAsync(c.Request, c.Value("customerId"), c.RequireDurable(), c.CancellationToken)),
        new("OperatorBackfill", Post, OperatorBackfillPath, true, c => c.Get<OperatorHandler>().BackfillAsync(c.Request, c.RequireDurable(), c.CancellationToken)),
        new("OperatorPool", Get, OperatorPoolPath, false, c => c.Get<OperatorHandler>().PoolAsync(c.Request, c.CancellationToken)),
        new("ModelGateway", Post, ModelGatewayPath, false, c => c.Get<Gateway.ModelGatewayHandler>().ChatCompletionsAsync(c.Request, c.CancellationToken)),
        new("HomePage", Get, HomePath, false, _ => Task.FromResult(SitePages.Html("index"))),
        new("SuccessPage", Get, SuccessPath, false, _ => Task.FromResult(SitePages.Html("success"))),
        new("CheckoutPage", Get, CheckoutPath, false, c => c.Get<OfflineCheckoutHandler>().CheckoutPageAsync(c.Value("customerId"), c.CancellationToken)),
        new("CheckoutPay", Post, CheckoutPayPath, false, c => c.Get<OfflineCheckoutHandler>().PayAsync(c.Value("customerId"), c.CancellationToken)),
        new("Health", Get, HealthPath, true, c => c.Get<HealthHandler>().HandleAsync(c.RequireDurable(), c.CancellationToken)),
        new("Asset", Get, AssetPath, false, c => Task.FromResult(SitePages.Asset(c.Value("name")))),
        new("DashboardPage", Get, DashboardPagePath, false, _ => Task.FromResult(SitePages.Html("dashboard"))),
        new("SignInPage", Get, SignInPagePath, false, _ => Task.FromResult(SitePages.Html("sign-in"))),
        new("BillingPortalPage", Get, BillingPortalPagePath, false, c => Task.FromResult(c.Get<BillingPortal>().IsOffline
            ? SitePages.Html("portal")
            : Problems.NotFound("The stand-in billing portal exists only in offline billing; Manage billing opens Stripe's portal."))),
        new("Dashboard", Get, DashboardPath, false, c => c.Get<DashboardHandler>().GetAsync(c.Request, c.CancellationToken)),
        new("DashboardSession", Post, DashboardSessionPath, false, c => c.Get<DashboardHandler>().StartFromStatusTokenAsync(c.Request, c.CancellationToken)),
        new("DashboardSignInLink", Post, DashboardSignInLinkPath, false, c => c.Get<DashboardHandler>().SendSignInLinkAsync(c.Request, c.CancellationToken)),
        new("DashboardSignIn", Post, DashboardSignInPath, false, c => c.Get<DashboardHandler>().RedeemSignInLinkAsync(c.Request, c.CancellationToken)),
        new("DashboardSignOut", Post, DashboardSignOutPath, false, c => c.Get<DashboardHandler>().SignOutAsync(c.Request, c.CancellationToken)),
        new("DashboardSkill", Post, DashboardSkillPath, false, c => c.Get<DashboardHandler>().SetSkillAsync(c.Request, c.Value("name"), c.CancellationToken)),
        new("DashboardApiKey", Post, DashboardApiKeyPath, false, c => c.Get<DashboardHandler>().RotateApiKeyAsync(c.Request, c.CancellationToken)),
        new("DashboardExport", Get, DashboardExportPath, false, c => c.Get<DashboardHandler>().DownloadAsync(c.Request, c.CancellationToken)),
        new("DashboardBilling", Post, DashboardBillingPath, false, c => c.Get<DashboardHandler>().ManageBillingAsync(c.Request, c.CancellationToken)),
        new("DashboardOfflineBilling", Post, DashboardOfflineBillingPath, false, c => c.Get<DashboardHandler>().OfflineBillingAsync(c.Request, c.CancellationToken)),
    ];

    public static SiteRoute Named(string name) =>
        All.SingleOrDefault(r => r.Name == name) ?? throw new ArgumentException($"No route is named '{name}'.", nameof(name));
}

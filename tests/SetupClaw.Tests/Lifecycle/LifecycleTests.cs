using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using SetupClaw.Billing;
using SetupClaw.Customers;
using SetupClaw.Plans;
using SetupClaw.Providers;
using SetupClaw.Tests.Infrastructure;
using SetupClaw.Tests.Simulators;

namespace SetupClaw.Tests.Lifecycle;

/// <summary>
/// Single lifecycle paths, each on its own in-process local host around the simulators: a cancellation reaching a
/// saga in flight, a plan change that fails and rolls back, an undo that fails and becomes an orphan the sweep
/// removes, and events that arrive in the wrong order.
/// </summary>
[Collection(SimulatedLoadCollection.Name)]
public sealed class LifecycleTests : IAsyncLifetime
{
    private SimulatedStack stack = null!;

    public async Task InitializeAsync() => stack = await SimulatedStack.StartAsync();

    public async Task DisposeAsync()
    {
        await stack.DisposeAsync();
        Assert.Empty(stack.Neon.Violations);
        Assert.Empty(stack.Railway.Violations);
    }

    [Fact]
    public async Task CancellationDuringProvisioning_StopsTheSagaByItsEvent_UndoesAndDeprovisions()
    {
        // The deployment never finishes: only the cancellation event can end the saga's wait on it.
        stack.Railway.DeploymentDuration = TimeSpan.FromDays(1);
        var customerId = await stack.SignupAsync("ida@example.com", Plan.Pro);
        await stack.SendAsync(StripeEventFactory.CheckoutCompleted(customerId, "ida@example.com", DateTimeOffset.UtcNow.AddSeconds(-5)));
        await Wait.UntilAsync(async () => stack.Railway.ServiceNames.Count == 1 &&
            await stack.Database.CountAsync($"select count(*) from provisioning_steps where customer_id = '{customerId}' and step = 'deploy' and status = 'completed'") == 1,
            TimeSpan.FromSeconds(60), "the saga to wait on its deployment");

        (await stack.SendAsync(StripeEventFactory.SubscriptionDeleted(customerId, DateTimeOffset.UtcNow))).EnsureSuccessStatusCode();
        await stack.SettledAsync(TimeSpan.FromSeconds(60));

        var customer = (await stack.App.Services.GetRequiredService<ICustomerStore>().GetAsync(customerId, default))!;
        Assert.Equal(CustomerStatus.Deprovisioned, customer.Status);
        Assert.Null(customer.ApiKeyHash);
        Assert.Empty(stack.Neon.BranchNames);
        Assert.Empty(stack.Railway.ServiceNames);
        var saga = await stack.App.Services.GetRequiredService<DurableTaskClient>().GetInstanceAsync(customer.OrchestrationId!, getInputsAndOutputs: true);
        Assert.True(saga!.RuntimeStatus == OrchestrationRuntimeStatus.Completed, $"{saga.RuntimeStatus}: {saga.FailureDetails?.ErrorType} {saga.FailureDetails?.ErrorMessage} {saga.FailureDetails?.StackTrace}");
        var result = saga.ReadOutputAs<SetupClaw.Provisioning.ProvisioningResult>()!;
        Assert.True(result.Cancelled, saga.SerializedOutput);
        // It stopped in the deployment wait: nothing after the deployment ran.
        Assert.StartsWith("cancelled at deploy", result.FailureReason, StringComparison.Ordinal);
        Assert.Equal(0, await stack.Database.CountAsync(
            $"select count(*) from provisioning_steps where operation_id = '{customer.OrchestrationId}' and step in ('health_check', 'activate')"));
        Assert.Equal(2, await stack.Database.CountAsync(
            $"select count(*) from provisioning_steps where operation_id = '{customer.OrchestrationId}' and step in ('delete_service', 'delete_database') and status = 'completed'"));
    }

    [Fact]
    public async Task PlanChangeWhoseDeploymentFails_RollsBackToTheOldPlan_AndTellsTheOperator()
    {
        var customerId = await ActiveCustomerAsync(Plan.Pro);
        var service = ResourceNames.Service(customerId);
        // Any deployment running the Team plan fails; the old plan deploys fine.
        stack.Railway.DeploymentOutcome = name => stack.CustomerData.IdentityOf(ResourceNames.CustomerOf(name)!)?.PlanName == Plan.Team ? "CRASHED" : null;

        await stack.SendAsync(StripeEventFactory.SubscriptionUpdated(customerId, SimulatedStack.PriceOf[Plan.Team], "active", DateTimeOffset.UtcNow));
        await stack.SettledAsync(TimeSpan.FromSeconds(90));

        var customer = (await stack.App.Services.GetRequiredService<ICustomerStore>().GetAsync(customerId, default))!;
        Assert.Equal(CustomerStatus.Active, customer.Status);
        Assert.Equal(Plan.Pro, customer.Plan);
        Assert.Equal(Plan.Team, customer.DesiredPlan);
        Assert.Contains("put back", customer.LifecycleError, StringComparison.Ordinal);
        Assert.Equal(Plan.Pro, stack.CustomerData.IdentityOf(customerId)!.PlanName);
        Assert.Equal(PlanCatalog.Get(Plan.Pro).MessagesPerMonth, stack.CustomerData.IdentityOf(customerId)!.MessageLimit);
        Assert.Equal(PlanCatalog.Get(Plan.Pro).Vcpus, stack.Railway.Service(service)!["vCPUs"]!.GetValue<double>());
        Assert.Equal(1.0, stack.Neon.ComputeSizes[ResourceNames.Branch(customerId)].Max);
        Assert.Equal(CustomerLifecycleAttempts, await stack.Database.CountAsync($"select count(*) from provisioning_steps where customer_id = '{customerId}' and operation_id like 'plan-%' and step = 'deploy' and status = 'completed'") / 2);

        // The cause is fixed; the operator runs the customer's lifecycle again and Stripe's plan takes.
        stack.Railway.DeploymentOutcome = null;
        using (var retry = new HttpRequestMessage(HttpMethod.Post, $"/api/operator/customers/{customerId}/retry"))
        {
            retry.Headers.Add("X-Admin-Key", SimulatedStack.AdminKey);
            Assert.Equal(HttpStatusCode.Accepted, (await stack.Http.SendAsync(retry)).StatusCode);
        }

        await stack.SettledAsync(TimeSpan.FromSeconds(60));
        customer = (await stack.App.Services.GetRequiredService<ICustomerStore>().GetAsync(customerId, default))!;
        Assert.Equal(Plan.Team, customer.Plan);
        Assert.Null(customer.LifecycleError);
        Assert.Equal(2.0, stack.Neon.ComputeSizes[ResourceNames.Branch(customerId)].Max);
    }

    [Fact]
    public async Task UndoThatIsRefused_IsRecordedAsAnOrphan_AndTheSweepRemovesIt()
    {
        stack.Railway.FaultFor = (_, _, body) => body.Contains("mutation ServiceInstanceDeploy", StringComparison.Ordinal) ? Fault.Rejected : null;
        stack.Neon.FaultFor = (method, path, _) => method == "DELETE" && path.Contains("/branches/", StringComparison.Ordinal) ? Fault.Rejected : null;
        var customerId = await stack.SignupAsync("olga@example.com", Plan.Starter);
        await stack.SendAsync(StripeEventFactory.CheckoutCompleted(customerId, "olga@example.com", DateTimeOffset.UtcNow));
        await stack.SettledAsync(TimeSpan.FromSeconds(90));

        Assert.Equal([ResourceNames.Branch(customerId)], stack.Neon.BranchNames);
        Assert.Empty(stack.Railway.ServiceNames);
        var orphans = await OrphansAsync();
        var open = Assert.Single(orphans.GetProperty("open").EnumerateArray());
        Assert.Equal("database", open.GetProperty("kind").GetString());
        Assert.Equal("compensation", open.GetProperty("source").GetString());

        // The cause is fixed; the next sweep deletes the branch and closes the orphan.
        stack.Neon.FaultFor = null;
        await stack.SweepAsync();
        Assert.Empty(stack.Neon.BranchNames);
        orphans = await OrphansAsync();
        Assert.Empty(orphans.GetProperty("open").EnumerateArray());
        // At least one: the background sweep (every 3 s here) may have listed the branch just before this sweep deleted it,
        // and then records and closes a second row for the same, already removed, branch.
        Assert.True(await stack.Database.CountAsync($"select count(*) from orphans where customer_id = '{customerId}' and resolution = 'removed'") >= 1);
        Assert.True(orphans.GetProperty("recentSweeps")[0].GetProperty("removed").GetInt32() >= 1);
    }

    [Fact]
    public async Task CancellationArrivingBeforeThePayment_NothingIsEverCreated()
    {
        var customerId = await stack.SignupAsync("tim@example.com", Plan.Starter);
        var paidAt = DateTimeOffset.UtcNow.AddMinutes(-10);
        await stack.SendAsync(StripeEventFactory.SubscriptionDeleted(customerId, paidAt.AddMinutes(5)));
        await stack.SendAsync(StripeEventFactory.CheckoutCompleted(customerId, "tim@example.com", paidAt));
        await stack.SettledAsync(TimeSpan.FromSeconds(60));

        var customer = (await stack.App.Services.GetRequiredService<ICustomerStore>().GetAsync(customerId, default))!;
        Assert.Equal(CustomerStatus.Deprovisioned, customer.Status);
        Assert.Equal(0, await stack.Database.CountAsync($"select count(*) from provisioning_steps where customer_id = '{customerId}' and step = 'create_database'"));
        Assert.Empty(stack.Neon.BranchNames);
        Assert.Empty(stack.Railway.ServiceNames);
    }

    [Fact]
    public async Task Sweep_ErasesARevealedKeyCopyPastItsWindow_WithoutAnyonePolling()
    {
        var shown = await ActiveCustomerAsync(Plan.Starter);
        var neverShown = await ActiveCustomerAsync(Plan.Pro);
        await stack.Database.ExecuteAsync($"update customers set api_key_revealed_at = now() - interval '16 minutes' where id = '{shown}'");

        await stack.SweepAsync();

        Assert.Null((await stack.CustomerAsync(shown))!.ApiKeyEncrypted);
        Assert.NotNull((await stack.CustomerAsync(shown))!.ApiKeyHint);
        // Never shown: the customer has yet to see it once.
        Assert.NotNull((await stack.CustomerAsync(neverShown))!.ApiKeyEncrypted);
    }

    [Fact]
    public async Task OperatorRoutes_WantTheAdminKey()
    {
        Assert.Equal(HttpStatusCode.Unauthorized, (await stack.Http.GetAsync("/api/operator/orphans")).StatusCode);
        using var wrong = new HttpRequestMessage(HttpMethod.Post, "/api/operator/sweep");
        wrong.Headers.Add("X-Admin-Key", "not-the-key-at-all");
        using var refused = await stack.Http.SendAsync(wrong);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        Assert.Equal(0, await stack.Database.CountAsync("select count(*) from sweep_runs where finished_at > now() - interval '1 second' and runs_started > 0"));
    }

    private const int CustomerLifecycleAttempts = SetupClaw.Lifecycle.CustomerLifecycleOrchestrator.MaxAttempts;

    private async Task<string> ActiveCustomerAsync(string plan)
    {
        var customerId = await stack.SignupAsync($"{plan}@example.com", plan);
        await stack.SendAsync(StripeEventFactory.CheckoutCompleted(customerId, $"{plan}@example.com", DateTimeOffset.UtcNow.AddMinutes(-1)));
        await stack.SettledAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(CustomerStatus.Active, (await stack.App.Services.GetRequiredService<ICustomerStore>().GetAsync(customerId, default))!.Status);
        return customerId;
    }

    private async Task<JsonElement> OrphansAsync()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/operator/orphans");
        request.Headers.Add("X-Admin-Key", SimulatedStack.AdminKey);
        using var response = await stack.Http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }
}

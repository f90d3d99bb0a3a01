using System.Text.Json;
using Microsoft.DurableTask;
using Microsoft.Extensions.Options;
using SetupClaw.Customers;
using SetupClaw.Provisioning;

namespace SetupClaw.Pool;

/// <summary>What a customer got from the pool: the member, the plan it was warmed on, and the customer's plan.</summary>
public sealed record ClaimedInstance(string MemberId, string MemberPlan, string CustomerPlan);

/// <summary>
/// The warm path's first step: gives the customer a ready pool member (<see cref="PoolStore.ClaimAsync"/>: atomic, and a
/// retry returns the same member), then wakes the reconciler to replace it. Null when there is no pool or no member
/// is ready: the saga then provisions cold, and no step is recorded. A claim is recorded as step <c>claim_instance</c>.
/// </summary>
public sealed class ClaimInstanceActivity(ICustomerStore store, PoolStore pool, IOptionsMonitor<PoolOptions> options, PoolSignal signal, Telemetry.SetupClawMetrics metrics)
    : TaskActivity<string, ClaimedInstance?>
{
    public override async Task<ClaimedInstance?> RunAsync(TaskActivityContext context, string customerId)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (await store.FinishedStepOutputAsync(context.InstanceId, Steps.ClaimInstance, CancellationToken.None) is { } recorded)
        {
            return JsonSerializer.Deserialize<ClaimedInstance>(recorded);
        }

        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var customer = await store.GetRequiredAsync(customerId, CancellationToken.None);
        // A retry of a claim that committed finds its member even when the pool was turned off meanwhile.
        var claim = await pool.ClaimAsync(customerId, context.InstanceId, takeNew: options.CurrentValue.Size > 0, CancellationToken.None);
        if (claim is null)
        {
            return null;
        }

        var claimed = new ClaimedInstance(claim.MemberId, claim.Plan, customer.Plan);
        var stepId = await store.StepStartedAsync(customerId, context.InstanceId, Steps.ClaimInstance, CancellationToken.None);
        await store.StepFinishedAsync(stepId, "completed", null, CancellationToken.None, JsonSerializer.Serialize(claimed));
        metrics.StepFinished(Steps.ClaimInstance, succeeded: true, System.Diagnostics.Stopwatch.GetElapsedTime(started));
        signal.Nudge();
        return claimed;
    }
}

/// <summary>
/// The warm path failed before the customer was active (the member's runtime did not answer, say) and the member was
/// destroyed: the claim is given up, and the steps it recorded are marked compensated, so the cold path that follows
/// in the same operation seeds the new database instead of finding the warm step done.
/// </summary>
public sealed class AbandonClaimActivity(ICustomerStore store, PoolStore pool) : TaskActivity<string, bool>
{
    public override async Task<bool> RunAsync(TaskActivityContext context, string customerId)
    {
        ArgumentNullException.ThrowIfNull(context);
        await store.CompensateStepsAsync(context.InstanceId, [Steps.ClaimInstance, Steps.SeedWorkspace, Steps.HealthCheck], CancellationToken.None);
        await pool.AbandonAsync(customerId, context.InstanceId, CancellationToken.None);
        return true;
    }
}

/// <summary>
/// After a warm customer is active on a member warmed for a smaller plan: the database's compute and the service's
/// size follow the customer's plan. True when the provider needs a deployment for it (Railway keeps the running one
/// serving until the new one is healthy, so there is no gap).
/// </summary>
public sealed class ResizeInstanceActivity(ICustomerStore store, Providers.IDatabaseProvider databases, Providers.IComputeProvider compute, Telemetry.SetupClawMetrics metrics)
    : StepActivity<bool>(store, metrics)
{
    protected override string Step => Steps.Resize;

    protected override async Task<bool> ExecuteAsync(string customerId, CancellationToken cancellationToken)
    {
        var customer = await GetCustomerAsync(customerId, cancellationToken);
        var plan = Plans.PlanCatalog.Get(customer.Plan);
        await databases.ResizeAsync(new Providers.ResourceRef(customerId, customer.DatabaseBranchId), plan.Name, cancellationToken);
        return await compute.ResizeAsync(new Providers.ResourceRef(customerId, customer.RailwayServiceId), plan, cancellationToken);
    }
}

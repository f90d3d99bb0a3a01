using Microsoft.DurableTask;
using SetupClaw.Customers;
using SetupClaw.Provisioning;

namespace SetupClaw.Lifecycle;

/// <summary>
/// Compares what Stripe says with what runs, and names the one operation to do next. While
/// <c>Provisioning:Paused</c> is set, a run in flight that has more to do is told <see cref="LifecycleSteps.Paused"/>:
/// it lets go without marking the work done, and the recovery after resuming starts it again.
/// </summary>
public sealed class NextLifecycleStepActivity(ICustomerStore store, Microsoft.Extensions.Options.IOptions<ProvisioningOptions> provisioning)
    : TaskActivity<string, LifecycleStep>
{
    public override async Task<LifecycleStep> RunAsync(TaskActivityContext context, string customerId)
    {
        var step = Decide(await store.GetRequiredAsync(customerId, CancellationToken.None));
        return provisioning.Value.Paused && step.Kind != LifecycleSteps.Done ? step with { Kind = LifecycleSteps.Paused } : step;
    }

    public static LifecycleStep Decide(Customer customer)
    {
        ArgumentNullException.ThrowIfNull(customer);
        var version = customer.DesiredVersion;
        if (customer.BillingState == BillingStates.Cancelled)
        {
            return new LifecycleStep(customer.Status == CustomerStatus.Deprovisioned ? LifecycleSteps.Done : LifecycleSteps.Deprovision, version);
        }

        if (customer.BillingState == BillingStates.AwaitingPayment || customer.Status == CustomerStatus.Grandfathered)
        {
            // A grandfathered customer waits for the operator (customers provision, migrate-mock --provision), whatever Stripe says short of a cancellation.
            return new LifecycleStep(LifecycleSteps.Done, version);
        }

        switch (customer.Status)
        {
            case CustomerStatus.Pending or CustomerStatus.Failed or CustomerStatus.Provisioning:
                return new LifecycleStep(LifecycleSteps.Provision, version);
            case CustomerStatus.Deprovisioning:
                return new LifecycleStep(LifecycleSteps.Deprovision, version);
            case CustomerStatus.Deprovisioned:
                // An ended subscription is not revived: a returning customer signs up again.
                return new LifecycleStep(LifecycleSteps.Done, version);
        }

        if (customer.DesiredPlan is { } plan && plan != customer.Plan)
        {
            return new LifecycleStep(LifecycleSteps.ChangePlan, version, customer.Plan, plan);
        }

        return (customer.BillingState, customer.Status) switch
        {
            (BillingStates.Suspended, CustomerStatus.Active) => new LifecycleStep(LifecycleSteps.Suspend, version),
            (BillingStates.Active, CustomerStatus.Suspended) => new LifecycleStep(LifecycleSteps.Resume, version),
            _ => new LifecycleStep(LifecycleSteps.Done, version),
        };
    }
}

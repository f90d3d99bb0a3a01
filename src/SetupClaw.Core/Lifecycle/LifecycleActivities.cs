using Microsoft.DurableTask;
using SetupClaw.Credentials;
using SetupClaw.Customers;

namespace SetupClaw.Lifecycle;

/// <summary>Compares what Stripe says with what runs, and names the one operation to do next.</summary>
public sealed class NextLifecycleStepActivity(ICustomerStore store) : TaskActivity<string, LifecycleStep>
{
    public override async Task<LifecycleStep> RunAsync(TaskActivityContext context, string customerId)
    {
        var customer = await store.GetAsync(customerId, CancellationToken.None)
            ?? throw new InvalidOperationException($"Customer {customerId} does not exist.");
        return Decide(customer);
    }

    public static LifecycleStep Decide(Customer customer)
    {
        ArgumentNullException.ThrowIfNull(customer);
        var version = customer.DesiredVersion;
        if (customer.BillingState == BillingStates.Cancelled)
        {
            return new LifecycleStep(customer.Status == CustomerStatus.Deprovisioned ? LifecycleSteps.Done : LifecycleSteps.Deprovision, version);
        }

        if (customer.BillingState == BillingStates.AwaitingPayment)
        {
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

public sealed class ReleaseLifecycleActivity(LifecycleStore store) : TaskActivity<LifecycleRelease, bool>
{
    public override Task<bool> RunAsync(TaskActivityContext context, LifecycleRelease input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return store.ReleaseAsync(input.CustomerId, input.Instance, input.Version, input.Error, CancellationToken.None);
    }
}

public sealed class BeginProvisioningRunActivity(ICustomerStore store) : TaskActivity<ProvisioningRun, bool>
{
    public override Task<bool> RunAsync(TaskActivityContext context, ProvisioningRun input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return store.BeginProvisioningAsync(input.CustomerId, input.OrchestrationId, CancellationToken.None);
    }
}

/// <summary>
/// Suspends or resumes: the mark in the customer's own database (the runtime answers chat 402 while it is there),
/// then the customer's status. Data is never touched.
/// </summary>
public sealed class SetSuspendedActivity(ICustomerStore customers, LifecycleStore store, ICustomerData data, SecretBox secrets, TimeProvider clock)
    : TaskActivity<Suspension, bool>
{
    public override async Task<bool> RunAsync(TaskActivityContext context, Suspension input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var customer = await customers.GetAsync(input.CustomerId, CancellationToken.None)
            ?? throw new InvalidOperationException($"Customer {input.CustomerId} does not exist.");
        if (customer.DatabaseUrlEncrypted is { } sealedUrl)
        {
            await data.SetSuspendedAsync(secrets.Open(sealedUrl), input.Suspended ? customer.SuspendedAt ?? clock.GetUtcNow() : null, CancellationToken.None);
        }

        await store.SetSuspendedAsync(input.CustomerId, input.Suspended, CancellationToken.None);
        return true;
    }
}

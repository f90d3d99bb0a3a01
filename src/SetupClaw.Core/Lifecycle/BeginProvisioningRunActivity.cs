using Microsoft.DurableTask;
using SetupClaw.Customers;

namespace SetupClaw.Lifecycle;

/// <summary>Marks the customer provisioning under the saga the lifecycle run is about to start.</summary>
public sealed class BeginProvisioningRunActivity(ICustomerStore store) : TaskActivity<ProvisioningRun, bool>
{
    public override Task<bool> RunAsync(TaskActivityContext context, ProvisioningRun input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return store.BeginProvisioningAsync(input.CustomerId, input.OrchestrationId, CancellationToken.None);
    }
}

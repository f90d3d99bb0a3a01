using SetupClaw.Customers;
using SetupClaw.Providers;

namespace SetupClaw.Provisioning;

/// <summary>Undo of <see cref="CreateDatabaseActivity"/>, and a step of deprovisioning. Found by name, so it also removes what a crashed run created.</summary>
public sealed class DeleteDatabaseActivity(ICustomerStore store, IDatabaseProvider databases, Telemetry.SetupClawMetrics metrics) : StepActivity<bool>(store, metrics)
{
    protected override string Step => Steps.DeleteDatabase;

    protected override async Task<bool> ExecuteAsync(string customerId, CancellationToken cancellationToken)
    {
        await databases.DeleteAsync(customerId, cancellationToken);
        await Store.RecordDatabaseAsync(customerId, null, null, cancellationToken);
        return true;
    }
}

using SetupClaw.Customers;
using SetupClaw.Providers;

namespace SetupClaw.Provisioning;

/// <summary>
/// Undo of <see cref="CreateDatabaseActivity"/> and of a pool claim, and a step of deprovisioning: deletes the recorded
/// database (or, when none was recorded, the one a crashed create left under the customer's derived name).
/// </summary>
public sealed class DeleteDatabaseActivity(ICustomerStore store, IDatabaseProvider databases, Telemetry.SetupClawMetrics metrics) : StepActivity<bool>(store, metrics)
{
    protected override string Step => Steps.DeleteDatabase;

    protected override async Task<bool> ExecuteAsync(string customerId, CancellationToken cancellationToken)
    {
        var customer = await GetCustomerAsync(customerId, cancellationToken);
        await databases.DeleteAsync(new ResourceRef(customerId, customer.DatabaseBranchId), cancellationToken);
        await Store.RecordDatabaseAsync(customerId, null, null, cancellationToken);
        return true;
    }
}

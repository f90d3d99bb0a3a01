using SetupClaw.Customers;
using SetupClaw.Providers;

namespace SetupClaw.Provisioning;

/// <summary>
/// Undo of <see cref="CreateServiceActivity"/> and of a pool claim, and a step of deprovisioning: stops and deletes the
/// recorded service (or, when none was recorded, the one a crashed create left under the customer's derived name).
/// </summary>
public sealed class DeleteServiceActivity(ICustomerStore store, IComputeProvider compute, Telemetry.SetupClawMetrics metrics) : StepActivity<bool>(store, metrics)
{
    protected override string Step => Steps.DeleteService;

    protected override async Task<bool> ExecuteAsync(string customerId, CancellationToken cancellationToken)
    {
        var customer = await GetCustomerAsync(customerId, cancellationToken);
        await compute.DeleteServiceAsync(new ResourceRef(customerId, customer.RailwayServiceId), cancellationToken);
        await Store.RecordServiceAsync(customerId, null, null, cancellationToken);
        return true;
    }
}

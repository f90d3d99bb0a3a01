using SetupClaw.Customers;
using SetupClaw.Providers;

namespace SetupClaw.Provisioning;

/// <summary>Undo of <see cref="CreateServiceActivity"/>, and a step of deprovisioning: stops and deletes the service, found by name.</summary>
public sealed class DeleteServiceActivity(ICustomerStore store, IComputeProvider compute, Telemetry.SetupClawMetrics metrics) : StepActivity<bool>(store, metrics)
{
    protected override string Step => Steps.DeleteService;

    protected override async Task<bool> ExecuteAsync(string customerId, CancellationToken cancellationToken)
    {
        await compute.DeleteServiceAsync(customerId, cancellationToken);
        await Store.RecordServiceAsync(customerId, null, null, cancellationToken);
        return true;
    }
}

using Microsoft.Extensions.Options;
using SetupClaw.Customers;
using SetupClaw.Providers;

namespace SetupClaw.Provisioning;

/// <summary>Step 5: start a deployment of the service; the orchestrator polls it with durable timers.</summary>
public sealed class DeployServiceActivity(ICustomerStore store, IComputeProvider compute, IOptions<ProvisioningOptions> options, Telemetry.SetupClawMetrics metrics) : StepActivity<DeploymentRef>(store, metrics)
{
    protected override string Step => Steps.Deploy;

    protected override async Task<DeploymentRef> ExecuteAsync(string customerId, CancellationToken cancellationToken)
    {
        var customer = await GetCustomerAsync(customerId, cancellationToken);
        var serviceId = customer.RailwayServiceId
            ?? throw new PermanentProvisioningException("The service cannot be deployed before it exists.");
        // A first deployment may be watched at its address; a redeploy's address still answers from the one before it.
        var window = compute.DeploymentWatchWindow;
        var watchUrl = customer.Status == CustomerStatus.Provisioning && window > TimeSpan.Zero ? customer.AccessUrl : null;
        return new DeploymentRef(serviceId, await compute.DeployAsync(serviceId, cancellationToken), options.Value.DeploymentTimeout, watchUrl,
            window > TimeSpan.Zero ? window : null);
    }
}

/// <summary>
/// A deployment to wait for, and for how long (<c>Provisioning:DeploymentTimeout</c>, read here in the activity so the
/// orchestrators see it from their history; refs recorded before it existed wait the default).
/// </summary>
/// <param name="WatchUrl">Where the deployment answers once it is live (a first deployment only): see <see cref="GetDeploymentStatusActivity"/>.</param>
/// <param name="AskEvery">How often the provider itself is asked (where it counts calls); between, the look is at <paramref name="WatchUrl"/> only.</param>
/// <param name="AskProvider">Set by the wait on the looks that ask the provider.</param>
public sealed record DeploymentRef(string ServiceId, string DeploymentId, TimeSpan? Timeout = null, string? WatchUrl = null, TimeSpan? AskEvery = null, bool AskProvider = true);

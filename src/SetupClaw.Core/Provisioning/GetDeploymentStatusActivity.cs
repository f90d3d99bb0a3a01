using Microsoft.DurableTask;
using SetupClaw.Providers;

namespace SetupClaw.Provisioning;

/// <summary>One look at a deployment's state; the orchestrator decides when to look again.</summary>
public sealed class GetDeploymentStatusActivity(IComputeProvider compute) : TaskActivity<DeploymentRef, DeploymentState>
{
    public override Task<DeploymentState> RunAsync(TaskActivityContext context, DeploymentRef input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return compute.GetDeploymentAsync(input.ServiceId, input.DeploymentId, CancellationToken.None);
    }
}

using Microsoft.DurableTask;

namespace SetupClaw.Lifecycle;

/// <summary>Ends a lifecycle run: lets go of the customer, unless a newer fact arrived (then the run looks again).</summary>
public sealed class ReleaseLifecycleActivity(LifecycleStore store) : TaskActivity<LifecycleRelease, bool>
{
    public override Task<bool> RunAsync(TaskActivityContext context, LifecycleRelease input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return store.ReleaseAsync(input.CustomerId, input.Instance, input.Version, input.Error, CancellationToken.None);
    }
}

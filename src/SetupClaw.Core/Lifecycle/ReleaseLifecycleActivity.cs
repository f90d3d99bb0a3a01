using Microsoft.DurableTask;

namespace SetupClaw.Lifecycle;

/// <summary>Ends a lifecycle run: lets go of the customer, unless a newer fact arrived (then the run looks again).</summary>
public sealed class ReleaseLifecycleActivity(LifecycleStore store) : TaskActivity<LifecycleRelease, bool>
{
    public override async Task<bool> RunAsync(TaskActivityContext context, LifecycleRelease input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return input.Paused
            ? await store.LetGoAsync(input.CustomerId, input.Instance, CancellationToken.None) == 1
            : await store.ReleaseAsync(input.CustomerId, input.Instance, input.Version, input.Error, CancellationToken.None);
    }
}

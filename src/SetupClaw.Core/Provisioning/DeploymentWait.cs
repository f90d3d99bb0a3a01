using Microsoft.DurableTask;
using SetupClaw.Providers;

namespace SetupClaw.Provisioning;

/// <summary>The wait for a deployment to finish, shared by the provisioning saga and the plan change.</summary>
internal static class DeploymentWait
{
    /// <summary>
    /// Polls with durable timers, quickly at first (a local runtime is up in under a second), then every 5 s, for at
    /// most the deployment's timeout (<c>Provisioning:DeploymentTimeout</c>); a cancellation, when given, ends the
    /// wait at once.
    /// </summary>
    public static async Task UntilFinishedAsync(TaskOrchestrationContext context, DeploymentRef deployment, Task<string>? cancelled)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(deployment);
        var timeout = deployment.Timeout ?? new ProvisioningOptions().DeploymentTimeout;
        var deadline = context.CurrentUtcDateTime + timeout;
        var delay = TimeSpan.FromMilliseconds(200);
        // Watched: a look at the service's address every second, the provider asked every AskEvery (not at once:
        // no deployment is done in its first seconds).
        var watched = deployment is { WatchUrl: not null, AskEvery: { } every } && every > TimeSpan.Zero;
        var current = deployment;
        var nextAsk = context.CurrentUtcDateTime + (deployment.AskEvery ?? TimeSpan.Zero);
        while (context.CurrentUtcDateTime < deadline)
        {
            var ask = !watched || context.CurrentUtcDateTime >= nextAsk;
            if (ask && watched)
            {
                nextAsk = context.CurrentUtcDateTime + deployment.AskEvery!.Value;
            }

            var state = await context.CallActivityAsync<DeploymentState>(nameof(GetDeploymentStatusActivity), current with { AskProvider = ask }, Retries.Step);
            if (state is { Phase: DeploymentPhase.InProgress, Answered: true })
            {
                // Something older answers at the address: from now on only the provider says when this one is done.
                (watched, current) = (false, current with { WatchUrl = null });
            }
            switch (state.Phase)
            {
                case DeploymentPhase.Succeeded:
                    return;
                case DeploymentPhase.Failed:
                    throw new DeploymentFailedException($"the deployment failed: {state.Reason}");
            }

            if (cancelled is null)
            {
                await context.CreateTimer(delay, CancellationToken.None);
            }
            else
            {
                using var timerCancellation = new CancellationTokenSource();
                var timer = context.CreateTimer(delay, timerCancellation.Token);
                if (await Task.WhenAny(timer, cancelled) == cancelled)
                {
                    // Synchronously, on the orchestrator's own thread: CancelAsync would run the timer's callback on the
                    // thread pool, outside the orchestration's single-threaded replay, and wedge or fail the saga.
                    timerCancellation.Cancel();
                    ProvisionCustomerOrchestrator.ThrowIfCancelled(cancelled);
                }
            }

            delay = watched ? TimeSpan.FromSeconds(1) : TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 5000));
        }

        throw new ProvisioningStepException($"the deployment did not finish within {timeout.TotalMinutes:0.#} minutes (Provisioning:DeploymentTimeout).");
    }
}

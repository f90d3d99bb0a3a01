using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using SetupClaw.Operations;
using SetupClaw.Providers;

namespace SetupClaw.Provisioning;

/// <summary>
/// The provisioning saga: credentials → database → workspace → service → deploy → health check → active.
/// The undo of a step is pushed before the step runs, so a step that fails halfway is undone too; on failure the
/// undos run in reverse order and the customer is marked failed with the reason. A <see cref="CancelEvent"/>
/// (the subscription ended meanwhile) stops it between steps and undoes what was done, the same way; an undo that
/// still fails after its retries is recorded as an orphan for the sweep.
/// </summary>
public sealed class ProvisionCustomerOrchestrator : TaskOrchestrator<string, ProvisioningResult>
{
    public const string CancelEvent = "cancel";

    /// <summary>A failed deployment is tried this many times in all before the saga gives up (build hiccups happen).</summary>
    public const int DeployAttempts = 3;

    public override async Task<ProvisioningResult> RunAsync(TaskOrchestrationContext context, string customerId)
    {
        ArgumentNullException.ThrowIfNull(context);
        var logger = context.CreateReplaySafeLogger<ProvisionCustomerOrchestrator>();
        var progress = new ProvisioningProgress(customerId);
        var undo = new Stack<(string Activity, string Kind)>();
        var cancelled = context.WaitForExternalEvent<string>(CancelEvent);
        try
        {
            await RunStepAsync<string>(context, progress, Steps.ReserveCredentials, nameof(ReserveCredentialsActivity), customerId, cancelled);

            undo.Push((nameof(DeleteDatabaseActivity), OrphanKinds.Database));
            await RunStepAsync<string>(context, progress, Steps.CreateDatabase, nameof(CreateDatabaseActivity), customerId, cancelled);
            await RunStepAsync<bool>(context, progress, Steps.SeedWorkspace, nameof(SeedWorkspaceActivity), customerId, cancelled);

            undo.Push((nameof(DeleteServiceActivity), OrphanKinds.Service));
            await RunStepAsync<string>(context, progress, Steps.CreateService, nameof(CreateServiceActivity), customerId, cancelled);
            for (var attempt = 1; ; attempt++)
            {
                var deployment = await RunStepAsync<DeploymentRef>(context, progress, Steps.Deploy, nameof(DeployServiceActivity), customerId, cancelled);
                try
                {
                    await WaitForDeploymentAsync(context, deployment, cancelled);
                    break;
                }
                catch (DeploymentFailedException failed) when (attempt < DeployAttempts)
                {
                    logger.LogWarning("Deployment {Attempt} of {CustomerId} failed, deploying again: {Reason}", attempt, customerId, failed.Message);
                }
            }

            await RunStepAsync<bool>(context, progress, Steps.HealthCheck, nameof(HealthCheckActivity), customerId, cancelled);
            var seconds = await RunStepAsync<double>(context, progress, Steps.Activate, nameof(ActivateCustomerActivity), customerId, cancelled);
            context.SetCustomStatus(progress with { Step = "active" });
            return new ProvisioningResult(customerId, true, seconds, null);
        }
        catch (Exception e) when (e is TaskFailedException or ProvisioningStepException)
        {
            var wasCancelled = e is ProvisioningCancelledException;
            var reason = wasCancelled ? $"cancelled at {progress.Step}: {e.Message}" : $"{progress.Step} failed: {Reason(e)}";
            logger.LogWarning("Provisioning of {CustomerId} failed at {Step}; undoing {Count} step(s)", customerId, progress.Step, undo.Count);
            context.SetCustomStatus(progress with { Step = "compensating", Error = reason });
            while (undo.TryPop(out var compensation))
            {
                try
                {
                    await context.CallActivityAsync<bool>(compensation.Activity, customerId, Retries.Compensation);
                }
                catch (TaskFailedException undoFailure)
                {
                    // Keep undoing the rest; the orphan is recorded, and the sweep deletes it later.
                    logger.LogError("Undo {Compensation} of {CustomerId} failed after retries: {Error}", compensation.Activity, customerId, undoFailure.FailureDetails.ErrorMessage);
                    await context.CallActivityAsync<bool>(nameof(RecordOrphanActivity),
                        new OrphanReport(compensation.Kind, customerId, OrphanSources.Compensation, undoFailure.FailureDetails.ErrorMessage), Retries.Step);
                    reason += $" (cleanup {compensation.Activity} failed and is recorded as an orphan for the sweep: {undoFailure.FailureDetails.ErrorMessage})";
                }
            }

            await context.CallActivityAsync<bool>(nameof(MarkCustomerFailedActivity), new CustomerFailure(customerId, reason), Retries.Step);
            context.SetCustomStatus(progress with { Step = wasCancelled ? "cancelled" : "failed", Error = reason });
            return new ProvisioningResult(customerId, false, null, reason, wasCancelled);
        }
    }

    private static async Task<T> RunStepAsync<T>(TaskOrchestrationContext context, ProvisioningProgress progress, string step, string activity, string customerId, Task<string> cancelled)
    {
        ThrowIfCancelled(cancelled);
        progress.Step = step;
        context.SetCustomStatus(progress);
        var output = await context.CallActivityAsync<T>(activity, customerId, Retries.Step);
        progress.Completed.Add(step);
        ThrowIfCancelled(cancelled);
        return output;
    }

    private static void ThrowIfCancelled(Task<string>? cancelled)
    {
        if (cancelled is { IsCompleted: true })
        {
            throw new ProvisioningCancelledException(cancelled.Result);
        }
    }

    /// <summary>
    /// Polls with durable timers, quickly at first (a local runtime is up in under a second), then every 5 s; a
    /// cancellation, when given, ends the wait at once.
    /// </summary>
    public static async Task WaitForDeploymentAsync(TaskOrchestrationContext context, DeploymentRef deployment, Task<string>? cancelled)
    {
        ArgumentNullException.ThrowIfNull(context);
        var deadline = context.CurrentUtcDateTime + TimeSpan.FromMinutes(10);
        var delay = TimeSpan.FromMilliseconds(200);
        while (context.CurrentUtcDateTime < deadline)
        {
            var state = await context.CallActivityAsync<DeploymentState>(nameof(GetDeploymentStatusActivity), deployment, Retries.Step);
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
                    ThrowIfCancelled(cancelled);
                }
            }

            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 5000));
        }

        throw new ProvisioningStepException("the deployment did not finish within 10 minutes.");
    }

    private static string Reason(Exception e) =>
        e is TaskFailedException failed ? failed.FailureDetails.ErrorMessage : e.Message;
}

/// <summary>The orchestration's custom status: the step in progress and those done, read by the status endpoints.</summary>
public sealed record ProvisioningProgress(string CustomerId)
{
    public string Step { get; set; } = "queued";

    public List<string> Completed { get; init; } = [];

    public string? Error { get; init; }
}

public sealed record ProvisioningResult(string CustomerId, bool Succeeded, double? Seconds, string? FailureReason, bool Cancelled = false);

/// <summary>A step failed in the orchestrator itself (a failed deployment), not inside an activity.</summary>
public class ProvisioningStepException(string message) : Exception(message);

/// <summary>The deployment ended FAILED or CRASHED: worth one more deployment, then a failure of the saga.</summary>
public sealed class DeploymentFailedException(string message) : ProvisioningStepException(message);

/// <summary>The subscription ended while the saga ran: it stops and undoes what it did.</summary>
public sealed class ProvisioningCancelledException(string message) : ProvisioningStepException(message);

/// <summary>Durable retry policies. Short for steps (HTTP clients retry inside too); permanent failures are never retried.</summary>
public static class Retries
{
    public static readonly TaskOptions Step = TaskOptions.FromRetryPolicy(new RetryPolicy(
        maxNumberOfAttempts: 4, firstRetryInterval: TimeSpan.FromSeconds(1), backoffCoefficient: 2, maxRetryInterval: TimeSpan.FromSeconds(15))
    {
        HandleFailure = failure => !IsPermanent(failure),
    });

    /// <summary>
    /// Compares the failure's type name rather than calling <c>IsCausedBy&lt;T&gt;()</c>: that resolves the type by
    /// name, which fails for types of other assemblies (HttpRequestException), and a throwing handler stops retries.
    /// </summary>
    public static bool IsPermanent(TaskFailureDetails? failure)
    {
        for (; failure is not null; failure = failure.InnerFailure)
        {
            if (failure.ErrorType == typeof(PermanentProvisioningException).FullName)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// An undo does not give up easily on what may pass (what it fails to delete would be left running unpaid); a
    /// permanent refusal (credentials, a rejected request) is not retried here: the resource is recorded as an
    /// orphan at once, and the sweep retries it every few minutes until the operator has fixed the cause.
    /// </summary>
    public static readonly TaskOptions Compensation = TaskOptions.FromRetryPolicy(new RetryPolicy(
        maxNumberOfAttempts: 8, firstRetryInterval: TimeSpan.FromSeconds(1), backoffCoefficient: 2, maxRetryInterval: TimeSpan.FromSeconds(30))
    {
        HandleFailure = failure => !IsPermanent(failure),
    });
}

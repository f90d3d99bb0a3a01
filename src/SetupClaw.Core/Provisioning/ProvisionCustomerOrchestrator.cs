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

            // Warm: a ready pool member. Its undo is pushed first, as for any step: a claim that fails half-way is
            // destroyed by the recorded ids, never handed back half-given.
            undo.Push((nameof(DeleteDatabaseActivity), OrphanKinds.Database));
            undo.Push((nameof(DeleteServiceActivity), OrphanKinds.Service));
            ThrowIfCancelled(cancelled);
            progress.Step = Steps.ClaimInstance;
            var claim = await context.CallActivityAsync<Pool.ClaimedInstance?>(nameof(Pool.ClaimInstanceActivity), customerId, Retries.Step);
            if (claim is not null)
            {
                progress.Completed.Add(Steps.ClaimInstance);
                var warmFailure = await TryWarmStepsAsync(context, progress, customerId, cancelled);
                if (warmFailure is null)
                {
                    return await WarmAsync(context, progress, customerId, claim, cancelled);
                }

                // A member that fails the warm path never fails a paying customer: it is destroyed (by the ids the
                // claim recorded), the claim is given up, and the customer is provisioned cold. If it could not be
                // destroyed, the run fails instead (the customer still records it, and the sweep removes it).
                logger.LogWarning("Pool member {MemberId} failed {Step} for {CustomerId}; destroying it and provisioning cold: {Reason}",
                    claim.MemberId, progress.Step, customerId, warmFailure);
                if (await UndoAsync(context, undo, customerId) is { Length: > 0 } undoFailed)
                {
                    throw new ProvisioningStepException($"{warmFailure}; the warm instance could not be removed{undoFailed}");
                }

                await context.CallActivityAsync<bool>(nameof(Pool.AbandonClaimActivity), customerId, Retries.Step);
                progress.Completed.Clear();
                progress.Completed.Add(Steps.ReserveCredentials);
            }

            // Cold: nothing was claimed (or the claim was undone), so nothing is to be undone yet.
            undo.Clear();
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
                    await DeploymentWait.UntilFinishedAsync(context, deployment, cancelled);
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
            reason += await UndoAsync(context, undo, customerId);

            await context.CallActivityAsync<bool>(nameof(MarkCustomerFailedActivity), new CustomerFailure(customerId, reason, progress.Step, FailureKind(e)), Retries.Step);
            context.SetCustomStatus(progress with { Step = wasCancelled ? "cancelled" : "failed", Error = reason });
            return new ProvisioningResult(customerId, false, null, reason, wasCancelled);
        }
    }

    /// <summary>The warm path's steps before activation; null when both passed, else why one failed (a cancellation is thrown).</summary>
    private static async Task<string?> TryWarmStepsAsync(TaskOrchestrationContext context, ProvisioningProgress progress, string customerId, Task<string> cancelled)
    {
        try
        {
            await RunStepAsync<bool>(context, progress, Steps.SeedWorkspace, nameof(SeedWorkspaceActivity), customerId, cancelled);
            await RunStepAsync<bool>(context, progress, Steps.HealthCheck, nameof(HealthCheckActivity), customerId, cancelled);
            return null;
        }
        catch (TaskFailedException failed)
        {
            return failed.FailureDetails.ErrorMessage;
        }
    }

    /// <summary>
    /// Runs the undos in reverse order. One that still fails after its retries is recorded as an orphan (for the sweep)
    /// and the rest go on; the return is what to add to the failure reason about them.
    /// </summary>
    private static async Task<string> UndoAsync(TaskOrchestrationContext context, Stack<(string Activity, string Kind)> undo, string customerId)
    {
        var logger = context.CreateReplaySafeLogger<ProvisionCustomerOrchestrator>();
        var notes = "";
        while (undo.TryPop(out var compensation))
        {
            try
            {
                await context.CallActivityAsync<bool>(compensation.Activity, customerId, Retries.Compensation);
            }
            catch (TaskFailedException undoFailure)
            {
                logger.LogError("Undo {Compensation} of {CustomerId} failed after retries: {Error}", compensation.Activity, customerId, undoFailure.FailureDetails.ErrorMessage);
                await context.CallActivityAsync<bool>(nameof(RecordOrphanActivity),
                    new OrphanReport(compensation.Kind, customerId, OrphanSources.Compensation, undoFailure.FailureDetails.ErrorMessage), Retries.Step);
                notes += $" (cleanup {compensation.Activity} failed and is recorded as an orphan for the sweep: {undoFailure.FailureDetails.ErrorMessage})";
            }
        }

        return notes;
    }

    /// <summary>
    /// The rest of a warm provisioning, once the customer's workspace and identity are in the member's database and the
    /// running runtime names the customer's workspace: the customer is active. When the member was warmed for a smaller
    /// plan, it is resized after (a failure there leaves the customer active on the smaller size).
    /// </summary>
    private static async Task<ProvisioningResult> WarmAsync(
        TaskOrchestrationContext context, ProvisioningProgress progress, string customerId, Pool.ClaimedInstance claim, Task<string> cancelled)
    {
        var logger = context.CreateReplaySafeLogger<ProvisionCustomerOrchestrator>();
        var seconds = await RunStepAsync<double>(context, progress, Steps.Activate, nameof(ActivateCustomerActivity), customerId, cancelled);
        context.SetCustomStatus(progress with { Step = "active" });
        if (!Plans.PlanCatalog.Get(claim.MemberPlan).SameSize(Plans.PlanCatalog.Get(claim.CustomerPlan)))
        {
            try
            {
                if (await context.CallActivityAsync<bool>(nameof(Pool.ResizeInstanceActivity), customerId, Retries.Step))
                {
                    var deployment = await context.CallActivityAsync<DeploymentRef>(nameof(DeployServiceActivity), customerId, Retries.Step);
                    await DeploymentWait.UntilFinishedAsync(context, deployment, cancelled: null);
                    await context.CallActivityAsync<bool>(nameof(HealthCheckActivity), customerId, Retries.Step);
                }
            }
            catch (Exception e) when (e is TaskFailedException or ProvisioningStepException)
            {
                logger.LogWarning("{CustomerId} is active; resizing its instance from {From} to {To} failed and is left for a plan change: {Reason}",
                    customerId, claim.MemberPlan, claim.CustomerPlan, Reason(e));
            }
        }

        return new ProvisioningResult(customerId, true, seconds, null);
    }

    /// <summary>The failure's kind for the metrics (never its message): what the operator's alert groups by.</summary>
    private static string FailureKind(Exception e) => e switch
    {
        ProvisioningCancelledException => "cancelled",
        DeploymentFailedException => "deployment_failed",
        TaskFailedException { FailureDetails.ErrorType: var type } when type == typeof(PermanentProvisioningException).FullName => "permanent",
        TaskFailedException => "retries_exhausted",
        _ => "step_failed",
    };

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

    internal static void ThrowIfCancelled(Task<string>? cancelled)
    {
        if (cancelled is { IsCompleted: true })
        {
            throw new ProvisioningCancelledException(cancelled.Result);
        }
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

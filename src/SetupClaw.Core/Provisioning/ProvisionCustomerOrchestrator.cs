using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using SetupClaw.Providers;

namespace SetupClaw.Provisioning;

/// <summary>
/// The provisioning saga: credentials → database → workspace → service → deploy → health check → active.
/// The undo of a step is pushed before the step runs, so a step that fails halfway is undone too; on failure the
/// undos run in reverse order and the customer is marked failed with the reason.
/// </summary>
public sealed class ProvisionCustomerOrchestrator : TaskOrchestrator<string, ProvisioningResult>
{
    public static string InstanceIdFor(string customerId) => "provision-" + customerId;

    public override async Task<ProvisioningResult> RunAsync(TaskOrchestrationContext context, string customerId)
    {
        ArgumentNullException.ThrowIfNull(context);
        var logger = context.CreateReplaySafeLogger<ProvisionCustomerOrchestrator>();
        var progress = new ProvisioningProgress(customerId);
        var undo = new Stack<string>();
        try
        {
            await RunStepAsync<string>(context, progress, Steps.ReserveCredentials, nameof(ReserveCredentialsActivity), customerId);

            undo.Push(nameof(DeleteDatabaseActivity));
            await RunStepAsync<string>(context, progress, Steps.CreateDatabase, nameof(CreateDatabaseActivity), customerId);
            await RunStepAsync<bool>(context, progress, Steps.SeedWorkspace, nameof(SeedWorkspaceActivity), customerId);

            undo.Push(nameof(DeleteServiceActivity));
            await RunStepAsync<string>(context, progress, Steps.CreateService, nameof(CreateServiceActivity), customerId);
            var deployment = await RunStepAsync<DeploymentRef>(context, progress, Steps.Deploy, nameof(DeployServiceActivity), customerId);
            await WaitForDeploymentAsync(context, deployment);

            await RunStepAsync<bool>(context, progress, Steps.HealthCheck, nameof(HealthCheckActivity), customerId);
            var seconds = await RunStepAsync<double>(context, progress, Steps.Activate, nameof(ActivateCustomerActivity), customerId);
            context.SetCustomStatus(progress with { Step = "active" });
            return new ProvisioningResult(customerId, true, seconds, null);
        }
        catch (Exception e) when (e is TaskFailedException or ProvisioningStepException)
        {
            var reason = $"{progress.Step} failed: {Reason(e)}";
            logger.LogWarning("Provisioning of {CustomerId} failed at {Step}; undoing {Count} step(s)", customerId, progress.Step, undo.Count);
            context.SetCustomStatus(progress with { Step = "compensating", Error = reason });
            while (undo.TryPop(out var compensation))
            {
                try
                {
                    await context.CallActivityAsync<bool>(compensation, customerId, Retries.Compensation);
                }
                catch (TaskFailedException undoFailure)
                {
                    // Keep undoing the rest; the failure is in the step history and the log for the operator.
                    logger.LogError("Undo {Compensation} of {CustomerId} failed after retries: {Error}", compensation, customerId, undoFailure.FailureDetails.ErrorMessage);
                    reason += $" (cleanup {compensation} failed and needs the operator: {undoFailure.FailureDetails.ErrorMessage})";
                }
            }

            await context.CallActivityAsync<bool>(nameof(MarkCustomerFailedActivity), new CustomerFailure(customerId, reason), Retries.Step);
            context.SetCustomStatus(progress with { Step = "failed", Error = reason });
            return new ProvisioningResult(customerId, false, null, reason);
        }
    }

    private static async Task<T> RunStepAsync<T>(TaskOrchestrationContext context, ProvisioningProgress progress, string step, string activity, string customerId)
    {
        progress.Step = step;
        context.SetCustomStatus(progress);
        var output = await context.CallActivityAsync<T>(activity, customerId, Retries.Step);
        progress.Completed.Add(step);
        return output;
    }

    /// <summary>Polls with durable timers, quickly at first (a local runtime is up in under a second), then every 5 s.</summary>
    private static async Task WaitForDeploymentAsync(TaskOrchestrationContext context, DeploymentRef deployment)
    {
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
                    throw new ProvisioningStepException($"the deployment failed: {state.Reason}");
            }

            await context.CreateTimer(delay, CancellationToken.None);
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

public sealed record ProvisioningResult(string CustomerId, bool Succeeded, double? Seconds, string? FailureReason);

/// <summary>A step failed in the orchestrator itself (a failed deployment), not inside an activity.</summary>
public sealed class ProvisioningStepException(string message) : Exception(message);

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

    /// <summary>An undo must not give up easily: what it fails to delete would be left running unpaid.</summary>
    public static readonly TaskOptions Compensation = TaskOptions.FromRetryPolicy(new RetryPolicy(
        maxNumberOfAttempts: 8, firstRetryInterval: TimeSpan.FromSeconds(1), backoffCoefficient: 2, maxRetryInterval: TimeSpan.FromSeconds(30)));
}

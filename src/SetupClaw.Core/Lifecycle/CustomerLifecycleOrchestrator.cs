using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using SetupClaw.Deprovisioning;
using SetupClaw.Provisioning;

namespace SetupClaw.Lifecycle;

/// <summary>
/// One lifecycle run for one customer: it holds the customer's lease, so nothing else operates on the customer
/// meanwhile. It asks what the customer needs now (from Stripe's latest facts, whatever order they came in), runs
/// that operation (provision, plan change, suspend, resume, deprovision), and asks again, until nothing is left;
/// then it lets go, unless a newer fact arrived meanwhile. An operation that fails is tried three times in all
/// (<see cref="MaxAttempts"/>), with a pause between attempts; after that the run records why and lets go until
/// Stripe says something new.
/// </summary>
public sealed class CustomerLifecycleOrchestrator : TaskOrchestrator<LifecycleInput, string>
{
    public const int MaxAttempts = 3;
    private const int StepsPerGeneration = 12;

    public override async Task<string> RunAsync(TaskOrchestrationContext context, LifecycleInput input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var logger = context.CreateReplaySafeLogger<CustomerLifecycleOrchestrator>();
        var state = input;
        for (var i = 0; i < StepsPerGeneration; i++)
        {
            var step = await context.CallActivityAsync<LifecycleStep>(nameof(NextLifecycleStepActivity), input.CustomerId, Retries.Step);
            if (step.Kind == LifecycleSteps.Paused)
            {
                // Provisioning:Paused: let go with the work still to do; the recovery after resuming starts it.
                context.SetCustomStatus(new { step = "paused", version = step.Version });
                await context.CallActivityAsync<bool>(nameof(ReleaseLifecycleActivity),
                    new LifecycleRelease(input.CustomerId, context.InstanceId, step.Version, null, Paused: true), Retries.Step);
                return "paused";
            }

            var exhausted = state.FailedVersion == step.Version && state.Failures >= MaxAttempts;
            if (step.Kind == LifecycleSteps.Done || exhausted)
            {
                var error = exhausted ? state.LastError : null;
                context.SetCustomStatus(new { step = exhausted ? "gave_up" : "settled", version = step.Version, error });
                if (await context.CallActivityAsync<bool>(nameof(ReleaseLifecycleActivity),
                        new LifecycleRelease(input.CustomerId, context.InstanceId, step.Version, error), Retries.Step))
                {
                    return exhausted ? "gave_up: " + error : "settled";
                }

                continue;
            }

            context.SetCustomStatus(new { step = step.Kind, version = step.Version, from = step.FromPlan, to = step.ToPlan });
            var operationId = $"{step.Kind}-{input.CustomerId}-{input.Run}.{state.Operations}";
            state = state with { Operations = state.Operations + 1 };
            var error2 = await RunOperationAsync(context, input.CustomerId, step, operationId);
            if (error2 is null)
            {
                state = state with { Failures = 0, LastError = null };
                continue;
            }

            var failures = state.FailedVersion == step.Version ? state.Failures + 1 : 1;
            state = state with { FailedVersion = step.Version, Failures = failures, LastError = $"{step.Kind} failed: {error2}" };
            logger.LogWarning("Lifecycle of {CustomerId}: {Kind} failed (attempt {Attempt} of {Max}): {Error}", input.CustomerId, step.Kind, failures, MaxAttempts, error2);
            if (failures < MaxAttempts)
            {
                await context.CreateTimer(TimeSpan.FromSeconds(2 * failures), CancellationToken.None);
            }
        }

        // Keep the history short: a long run starts afresh with what it has learned.
        context.ContinueAsNew(state);
        return "continued";
    }

    /// <summary>Null when the operation did what it should; otherwise why not.</summary>
    private static async Task<string?> RunOperationAsync(TaskOrchestrationContext context, string customerId, LifecycleStep step, string operationId)
    {
        try
        {
            switch (step.Kind)
            {
                case LifecycleSteps.Provision:
                    await context.CallActivityAsync<bool>(nameof(BeginProvisioningRunActivity), new ProvisioningRun(customerId, operationId), Retries.Step);
                    var provisioned = await context.CallSubOrchestratorAsync<ProvisioningResult>(
                        nameof(ProvisionCustomerOrchestrator), customerId, new SubOrchestrationOptions { InstanceId = operationId });
                    return provisioned.Succeeded || provisioned.Cancelled ? null : provisioned.FailureReason;

                case LifecycleSteps.ChangePlan:
                    var changed = await context.CallSubOrchestratorAsync<PlanChangeResult>(
                        nameof(ChangePlanOrchestrator), new PlanChange(customerId, step.FromPlan!, step.ToPlan!), new SubOrchestrationOptions { InstanceId = operationId });
                    return changed.Succeeded ? null : changed.Error;

                case LifecycleSteps.Suspend:
                case LifecycleSteps.Resume:
                    await context.CallActivityAsync<bool>(SuspendOrResumeActivity.RegisteredName, new Suspension(customerId, step.Kind == LifecycleSteps.Suspend), Retries.Step);
                    return null;

                case LifecycleSteps.Deprovision:
                    await context.CallSubOrchestratorAsync<bool>(nameof(DeprovisionCustomerOrchestrator), customerId, new SubOrchestrationOptions { InstanceId = operationId });
                    return null;

                default:
                    return $"unknown lifecycle step '{step.Kind}'";
            }
        }
        catch (TaskFailedException e)
        {
            return e.FailureDetails.ErrorMessage;
        }
    }
}

/// <summary>The run's input (and, after ContinueAsNew, what it carries forward).</summary>
public sealed record LifecycleInput(string CustomerId, int Run, int Operations = 0, long FailedVersion = -1, int Failures = 0, string? LastError = null);

public static class LifecycleSteps
{
    public const string Provision = "provision";
    public const string ChangePlan = "plan";
    public const string Suspend = "suspend";
    public const string Resume = "resume";
    public const string Deprovision = "deprovision";
    public const string Done = "done";

    /// <summary>There is work, but <c>Provisioning:Paused</c> is set: the run lets go without doing it.</summary>
    public const string Paused = "paused";
}

/// <summary>What the customer needs next to match <see cref="Version"/> of Stripe's facts.</summary>
public sealed record LifecycleStep(string Kind, long Version, string? FromPlan = null, string? ToPlan = null);

/// <param name="Paused">Let go without marking <paramref name="Version"/> applied (the rollback switch is on).</param>
public sealed record LifecycleRelease(string CustomerId, string Instance, long Version, string? Error, bool Paused = false);

public sealed record ProvisioningRun(string CustomerId, string OrchestrationId);


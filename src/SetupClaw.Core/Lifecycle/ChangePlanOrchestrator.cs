using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using SetupClaw.Providers;
using SetupClaw.Provisioning;

namespace SetupClaw.Lifecycle;

/// <summary>
/// A plan change: the database's compute, the service's size and the runtime's variables (limits, features,
/// skills) follow the new plan; the service is redeployed and health-checked, and the runtime must report the new
/// plan. Any failure puts the old plan back the same way. The customer's data is never touched: a downgrade only
/// narrows what the runtime offers (skills outside the plan stop counting as enabled, the customer's choices stay).
/// </summary>
public sealed class ChangePlanOrchestrator : TaskOrchestrator<PlanChange, PlanChangeResult>
{
    public override async Task<PlanChangeResult> RunAsync(TaskOrchestrationContext context, PlanChange input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var logger = context.CreateReplaySafeLogger<ChangePlanOrchestrator>();
        try
        {
            context.SetCustomStatus(new { step = "apply", plan = input.To });
            await ApplyAsync(context, input.CustomerId, input.To);
            context.SetCustomStatus(new { step = "changed", plan = input.To });
            return new PlanChangeResult(true, null);
        }
        catch (Exception e) when (e is TaskFailedException or ProvisioningStepException)
        {
            var reason = e is TaskFailedException failed ? failed.FailureDetails.ErrorMessage : e.Message;
            logger.LogWarning("Plan change of {CustomerId} to {Plan} failed, rolling back to {Old}: {Reason}", input.CustomerId, input.To, input.From, reason);
            context.SetCustomStatus(new { step = "rollback", plan = input.From, error = reason });
            try
            {
                await ApplyAsync(context, input.CustomerId, input.From);
                return new PlanChangeResult(false, $"the change to {input.To} failed and {input.From} was put back: {reason}");
            }
            catch (Exception rollback) when (rollback is TaskFailedException or ProvisioningStepException)
            {
                var why = rollback is TaskFailedException f ? f.FailureDetails.ErrorMessage : rollback.Message;
                return new PlanChangeResult(false, $"the change to {input.To} failed ({reason}) and so did putting {input.From} back ({why})");
            }
        }
    }

    private static async Task ApplyAsync(TaskOrchestrationContext context, string customerId, string plan)
    {
        await context.CallActivityAsync<bool>(nameof(ApplyPlanActivity), new PlanTarget(customerId, plan), Retries.Step);
        var deployment = await context.CallActivityAsync<DeploymentRef>(nameof(DeployServiceActivity), customerId, Retries.Step);
        await DeploymentWait.UntilFinishedAsync(context, deployment, cancelled: null);
        await context.CallActivityAsync<bool>(nameof(HealthCheckActivity), customerId, Retries.Step);
    }
}

public sealed record PlanChange(string CustomerId, string From, string To);

public sealed record PlanChangeResult(bool Succeeded, string? Error);

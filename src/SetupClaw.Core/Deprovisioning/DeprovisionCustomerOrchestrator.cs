using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using SetupClaw.Provisioning;

namespace SetupClaw.Deprovisioning;

/// <summary>
/// Subscription ended: stop and delete the service, drop the database, revoke the key. Idempotent: every step
/// treats "already gone" as done, so a repeated event or a re-run after a crash is harmless.
/// </summary>
public sealed class DeprovisionCustomerOrchestrator : TaskOrchestrator<string, bool>
{
    public static string InstanceIdFor(string customerId) => "deprovision-" + customerId;

    public override async Task<bool> RunAsync(TaskOrchestrationContext context, string customerId)
    {
        ArgumentNullException.ThrowIfNull(context);
        var logger = context.CreateReplaySafeLogger<DeprovisionCustomerOrchestrator>();

        // A provisioning still in flight is let finish (or fail and compensate) first, so nothing it creates
        // afterwards is left behind.
        var deadline = context.CurrentUtcDateTime + TimeSpan.FromMinutes(30);
        string begin;
        while ((begin = await context.CallActivityAsync<string>(nameof(BeginDeprovisionActivity), customerId, Retries.Step)) == BeginDeprovisionActivity.Busy
               && context.CurrentUtcDateTime < deadline)
        {
            context.SetCustomStatus(new { step = "waiting_for_provisioning" });
            await context.CreateTimer(TimeSpan.FromSeconds(2), CancellationToken.None);
        }

        if (begin != BeginDeprovisionActivity.Started)
        {
            logger.LogInformation("Deprovisioning of {CustomerId} skipped: {Outcome}", customerId, begin);
            return false;
        }

        context.SetCustomStatus(new { step = Steps.DeleteService });
        await context.CallActivityAsync<bool>(nameof(DeleteServiceActivity), customerId, Retries.Compensation);
        context.SetCustomStatus(new { step = Steps.DeleteDatabase });
        await context.CallActivityAsync<bool>(nameof(DeleteDatabaseActivity), customerId, Retries.Compensation);
        context.SetCustomStatus(new { step = Steps.RevokeCredentials });
        await context.CallActivityAsync<bool>(nameof(CompleteDeprovisionActivity), customerId, Retries.Step);
        context.SetCustomStatus(new { step = "deprovisioned" });
        return true;
    }
}

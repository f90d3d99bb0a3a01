using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using SetupClaw.Operations;
using SetupClaw.Provisioning;

namespace SetupClaw.Deprovisioning;

/// <summary>
/// Subscription ended: delete the service (access stops), archive the customer's data, drop the database, revoke
/// the key. The lifecycle run that calls it holds the customer, so no provisioning runs meanwhile. Idempotent: every
/// step treats "already gone" as done. A delete that still fails after its retries is recorded as an orphan and the
/// sweep finishes it; an archive that fails stops the deprovisioning before the database is touched.
/// </summary>
public sealed class DeprovisionCustomerOrchestrator : TaskOrchestrator<string, bool>
{
    public override async Task<bool> RunAsync(TaskOrchestrationContext context, string customerId)
    {
        ArgumentNullException.ThrowIfNull(context);
        var logger = context.CreateReplaySafeLogger<DeprovisionCustomerOrchestrator>();
        var begin = await context.CallActivityAsync<string>(nameof(BeginDeprovisionActivity), customerId, Retries.Step);
        if (begin != BeginDeprovisionActivity.Started)
        {
            logger.LogInformation("Deprovisioning of {CustomerId} skipped: {Outcome}", customerId, begin);
            return false;
        }

        await DeleteAsync(context, customerId, Steps.DeleteService, nameof(DeleteServiceActivity), OrphanKinds.Service);
        context.SetCustomStatus(new { step = Steps.Archive });
        await context.CallActivityAsync<string>(nameof(ArchiveCustomerDataActivity), customerId, Retries.Compensation);
        await DeleteAsync(context, customerId, Steps.DeleteDatabase, nameof(DeleteDatabaseActivity), OrphanKinds.Database);
        context.SetCustomStatus(new { step = Steps.RevokeCredentials });
        await context.CallActivityAsync<bool>(RevokeCredentialsActivity.RegisteredName, customerId, Retries.Step);
        context.SetCustomStatus(new { step = "deprovisioned" });
        return true;
    }

    private static async Task DeleteAsync(TaskOrchestrationContext context, string customerId, string step, string activity, string kind)
    {
        context.SetCustomStatus(new { step });
        try
        {
            await context.CallActivityAsync<bool>(activity, customerId, Retries.Compensation);
        }
        catch (TaskFailedException e)
        {
            await context.CallActivityAsync<bool>(nameof(RecordOrphanActivity),
                new OrphanReport(kind, customerId, OrphanSources.Deprovision, e.FailureDetails.ErrorMessage), Retries.Step);
        }
    }
}

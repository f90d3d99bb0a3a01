using Microsoft.Extensions.Logging;
using SetupClaw.Credentials;
using SetupClaw.Customers;
using SetupClaw.Lifecycle;
using SetupClaw.Provisioning;

namespace SetupClaw.Deprovisioning;

/// <summary>
/// Before the database goes: memories, conversations, messages, workspace files, skills and settings are written
/// to <c>customer_archives</c> as gzip-compressed JSON. A customer without a database (never provisioned, or a
/// failed saga already removed it) has nothing to archive.
/// </summary>
public sealed partial class ArchiveCustomerDataActivity(
    ICustomerStore store, LifecycleStore lifecycle, ICustomerData data, SecretBox secrets, ILogger<ArchiveCustomerDataActivity> logger, Telemetry.SetupClawMetrics metrics)
    : StepActivity<string>(store, metrics)
{
    protected override string Step => Steps.Archive;

    protected override async Task<string> ExecuteAsync(string customerId, CancellationToken cancellationToken)
    {
        var customer = await GetCustomerAsync(customerId, cancellationToken);
        if (customer.DatabaseUrlEncrypted is not { } sealedUrl)
        {
            return "nothing to archive";
        }

        var export = await data.ExportAsync(secrets.Open(sealedUrl, customerId, SealedColumns.DatabaseUrl), cancellationToken);
        await lifecycle.SaveArchiveAsync(customerId, export.Content, export.Counts, cancellationToken);
        LogArchived(logger, customerId, export.Content.Length, export.Counts);
        return export.Counts;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Archived {CustomerId}: {Bytes} bytes, {Counts}")]
    private static partial void LogArchived(ILogger logger, string customerId, int bytes, string counts);
}

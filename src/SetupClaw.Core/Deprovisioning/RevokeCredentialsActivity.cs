using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SetupClaw.Customers;
using SetupClaw.Provisioning;

namespace SetupClaw.Deprovisioning;

/// <summary>
/// The deprovisioning's last step (<c>revoke_credentials</c>): the key hash is removed (the key stops working
/// everywhere) and the customer is <c>deprovisioned</c>.
/// </summary>
public sealed partial class RevokeCredentialsActivity(
    ICustomerStore store, Lifecycle.LifecycleStore lifecycle, Email.CustomerEmails emails, IOptions<Dashboard.DashboardOptions> dashboard,
    ILogger<RevokeCredentialsActivity> logger, Telemetry.SetupClawMetrics metrics)
    : StepActivity<bool>(store, metrics)
{
    /// <summary>The name it was first registered under: deprovisionings in flight call it by this name.</summary>
    public const string RegisteredName = "CompleteDeprovisionActivity";

    protected override string Step => Steps.RevokeCredentials;

    protected override async Task<bool> ExecuteAsync(string customerId, CancellationToken cancellationToken)
    {
        await Store.CompleteDeprovisioningAsync(customerId, cancellationToken);
        LogDone(logger, customerId);
        try
        {
            if (await Store.GetAsync(customerId, cancellationToken) is { } customer)
            {
                var archivedAt = await lifecycle.ArchivedAtAsync(customerId, cancellationToken);
                await emails.CancelledAsync(customer, archivedAt + dashboard.Value.ArchiveRetention, cancellationToken);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The customer is deprovisioned either way: an email never fails the step.
            LogEmailFailed(logger, customerId, e);
        }
        return true;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not queue the cancellation email of {CustomerId}")]
    private static partial void LogEmailFailed(ILogger logger, string customerId, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "[DEPROVISION COMPLETE] {CustomerId}")]
    private static partial void LogDone(ILogger logger, string customerId);
}

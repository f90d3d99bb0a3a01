using Microsoft.Extensions.Logging;
using SetupClaw.Customers;
using SetupClaw.Provisioning;

namespace SetupClaw.Deprovisioning;

/// <summary>Last step: the key hash is removed (the key stops working everywhere) and the customer is <c>deprovisioned</c>.</summary>
public sealed partial class CompleteDeprovisionActivity(ICustomerStore store, ILogger<CompleteDeprovisionActivity> logger) : StepActivity<bool>(store)
{
    protected override string Step => Steps.RevokeCredentials;

    protected override async Task<bool> ExecuteAsync(string customerId, CancellationToken cancellationToken)
    {
        await Store.CompleteDeprovisioningAsync(customerId, cancellationToken);
        LogDone(logger, customerId);
        return true;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "[DEPROVISION COMPLETE] {CustomerId}")]
    private static partial void LogDone(ILogger logger, string customerId);
}

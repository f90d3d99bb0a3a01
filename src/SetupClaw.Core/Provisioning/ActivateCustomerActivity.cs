using Microsoft.Extensions.Logging;
using SetupClaw.Customers;

namespace SetupClaw.Provisioning;

/// <summary>Step 7: the customer is active. One log line marks it, with the time from payment to here.</summary>
public sealed partial class ActivateCustomerActivity(ICustomerStore store, TimeProvider clock, ILogger<ActivateCustomerActivity> logger)
    : StepActivity<double>(store)
{
    protected override string Step => Steps.Activate;

    protected override bool OncePerOperation => true;

    protected override async Task<double> ExecuteAsync(string customerId, CancellationToken cancellationToken)
    {
        var customer = await GetCustomerAsync(customerId, cancellationToken);
        await Store.ActivateAsync(customerId, cancellationToken);
        var seconds = (clock.GetUtcNow() - (customer.ProvisioningStartedAt ?? customer.CreatedAt)).TotalSeconds;
        LogComplete(logger, customer.Email, seconds);
        return seconds;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "[PROVISION COMPLETE] {Email} provisioned in {Seconds:0.0}s")]
    private static partial void LogComplete(ILogger logger, string email, double seconds);
}

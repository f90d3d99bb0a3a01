using Microsoft.Extensions.Logging;
using SetupClaw.Customers;

namespace SetupClaw.Provisioning;

/// <summary>Step 7: the customer is active. One log line marks it, with the time from payment to here.</summary>
public sealed partial class ActivateCustomerActivity(
    ICustomerStore store, Email.CustomerEmails emails, TimeProvider clock, ILogger<ActivateCustomerActivity> logger, Telemetry.SetupClawMetrics metrics)
    : StepActivity<double>(store, metrics)
{
    protected override string Step => Steps.Activate;

    protected override bool OncePerOperation => true;

    protected override async Task<double> ExecuteAsync(string customerId, CancellationToken cancellationToken)
    {
        var customer = await GetCustomerAsync(customerId, cancellationToken);
        await Store.ActivateAsync(customerId, cancellationToken);
        var now = clock.GetUtcNow();
        var seconds = (now - (customer.ProvisioningStartedAt ?? customer.CreatedAt)).TotalSeconds;
        // From the payment's fact (Stripe's time of the event that made the customer active) to here.
        if (!customer.IsTest)
        {
            Metrics.ProvisioningEnded("active", customer.Plan, now - (customer.BillingStateAt ?? customer.ProvisioningStartedAt ?? customer.CreatedAt));
        }

        LogComplete(logger, customer.Id, seconds);
        // Queued once per customer; a failure to queue is logged and never fails the step.
        await emails.WelcomeAsync(customer, cancellationToken);
        return seconds;
    }

    // The customer's id, not the email: this line reaches Application Insights (the time-to-active alert reads it).
    [LoggerMessage(Level = LogLevel.Information, Message = "[PROVISION COMPLETE] {CustomerId} provisioned in {Seconds:0.0}s")]
    private static partial void LogComplete(ILogger logger, string customerId, double seconds);
}

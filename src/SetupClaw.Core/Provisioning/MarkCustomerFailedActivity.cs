using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using SetupClaw.Customers;

namespace SetupClaw.Provisioning;

/// <summary>After compensation: the customer is <c>failed</c> with a reason a person can act on, and the reserved key is revoked.</summary>
public sealed partial class MarkCustomerFailedActivity(ICustomerStore store, Telemetry.SetupClawMetrics metrics, ILogger<MarkCustomerFailedActivity> logger)
    : TaskActivity<CustomerFailure, bool>
{
    public override async Task<bool> RunAsync(TaskActivityContext context, CustomerFailure input)
    {
        ArgumentNullException.ThrowIfNull(input);
        // The step is what the customer is told ("Setup failed while …"); the reason is for the operator only.
        await store.MarkFailedAsync(input.CustomerId, input.Reason, CancellationToken.None, input.Step);
        // Smoke tests are the operator's, not customers': they stay out of the failure rate.
        if (await store.GetAsync(input.CustomerId, CancellationToken.None) is { IsTest: false } customer)
        {
            metrics.ProvisioningFailed(customer.Plan, input.Step ?? "unknown", input.Kind ?? "unknown");
        }
        LogFailed(logger, input.CustomerId, input.Reason);
        return true;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "[PROVISION FAILED] {CustomerId}: {Reason}")]
    private static partial void LogFailed(ILogger logger, string customerId, string reason);
}

/// <param name="Step">The saga step it failed at; <paramref name="Kind"/>: cancelled, deployment_failed, permanent, retries_exhausted.</param>
public sealed record CustomerFailure(string CustomerId, string Reason, string? Step = null, string? Kind = null);

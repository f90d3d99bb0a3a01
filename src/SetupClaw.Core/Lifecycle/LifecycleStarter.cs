using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using SetupClaw.Customers;
using SetupClaw.Deprovisioning;
using SetupClaw.Provisioning;

namespace SetupClaw.Lifecycle;

/// <summary>
/// Starts a customer's orchestrations exactly once. Instance ids derive from the customer, and the control
/// database's state change (pending → provisioning) picks the single caller that schedules, so five copies of
/// one webhook delivered at once start one saga.
/// </summary>
public sealed partial class LifecycleStarter(ICustomerStore store, TimeProvider clock, ILogger<LifecycleStarter> logger)
{
    // A customer in 'provisioning' whose saga does not exist after this long was interrupted between the state
    // change and the schedule (a crash): a redelivered event starts it.
    private static readonly TimeSpan ScheduleGrace = TimeSpan.FromSeconds(30);

    private static readonly OrchestrationRuntimeStatus[] LiveStatuses =
        [OrchestrationRuntimeStatus.Pending, OrchestrationRuntimeStatus.Running, OrchestrationRuntimeStatus.Suspended];

    public async Task<string> StartProvisioningAsync(
        DurableTaskClient client, Customer customer, string? stripeCustomerId, string? subscriptionId, string? checkoutSessionId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(customer);
        var instanceId = ProvisionCustomerOrchestrator.InstanceIdFor(customer.Id);
        if (await store.BeginProvisioningAsync(customer.Id, stripeCustomerId, subscriptionId, checkoutSessionId, instanceId, cancellationToken))
        {
            await ScheduleAsync(client, nameof(ProvisionCustomerOrchestrator), instanceId, customer.Id, cancellationToken);
            return "provisioning_started";
        }

        var current = await store.GetAsync(customer.Id, cancellationToken);
        if (current is { Status: CustomerStatus.Provisioning, ProvisioningStartedAt: { } startedAt } &&
            clock.GetUtcNow() - startedAt > ScheduleGrace &&
            await client.GetInstanceAsync(instanceId, cancellationToken) is null)
        {
            await ScheduleAsync(client, nameof(ProvisionCustomerOrchestrator), instanceId, customer.Id, cancellationToken);
            return "provisioning_resumed";
        }

        return "already_" + (current?.Status ?? "gone");
    }

    public async Task<string> StartDeprovisioningAsync(DurableTaskClient client, Customer customer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(customer);
        if (customer.Status is CustomerStatus.Deprovisioned)
        {
            return "already_deprovisioned";
        }

        var instanceId = DeprovisionCustomerOrchestrator.InstanceIdFor(customer.Id);
        var existing = await client.GetInstanceAsync(instanceId, cancellationToken);
        if (existing is not null && LiveStatuses.Contains(existing.RuntimeStatus))
        {
            return "deprovisioning_in_progress";
        }

        await ScheduleAsync(client, nameof(DeprovisionCustomerOrchestrator), instanceId, customer.Id, cancellationToken);
        return "deprovisioning_started";
    }

    private async Task ScheduleAsync(DurableTaskClient client, string orchestrator, string instanceId, string customerId, CancellationToken cancellationToken)
    {
        try
        {
            await client.ScheduleNewOrchestrationInstanceAsync(
                orchestrator, customerId, new StartOrchestrationOptions(instanceId).WithDedupeStatuses(LiveStatuses), cancellationToken);
            LogScheduled(logger, orchestrator, instanceId);
        }
        catch (Exception e) when (e.Message.Contains("already exists", StringComparison.OrdinalIgnoreCase))
        {
            // Another caller scheduled the same instance a moment earlier: that is the outcome we wanted.
            LogAlreadyScheduled(logger, instanceId);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Scheduled {Orchestrator} as {InstanceId}")]
    private static partial void LogScheduled(ILogger logger, string orchestrator, string instanceId);

    [LoggerMessage(Level = LogLevel.Information, Message = "{InstanceId} was already scheduled")]
    private static partial void LogAlreadyScheduled(ILogger logger, string instanceId);
}

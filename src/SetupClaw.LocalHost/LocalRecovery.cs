using Microsoft.DurableTask.Client;
using SetupClaw.Customers;
using SetupClaw.Deprovisioning;
using SetupClaw.Providers;
using SetupClaw.Providers.Local;
using SetupClaw.Provisioning;

namespace SetupClaw.LocalHost;

/// <summary>
/// After a restart of the local host: brings back the runtimes of active customers, and restarts any saga the
/// in-memory backend forgot (its steps adopt what the interrupted run created, so nothing is made twice).
/// </summary>
internal sealed partial class LocalRecovery(
    ICustomerStore store, IComputeProvider compute, DurableTaskClient durable, IHostApplicationLifetime lifetime, ILogger<LocalRecovery> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var started = new TaskCompletionSource();
        using var registration = lifetime.ApplicationStarted.Register(() => started.TrySetResult());
        await started.Task.WaitAsync(stoppingToken);

        foreach (var customer in await store.ListByStatusAsync(CustomerStatus.Active, stoppingToken))
        {
            // Only local runtimes die with the host; a Railway service keeps running without it.
            if (compute is LocalComputeProvider local && customer.RailwayServiceId is { } serviceId && local.Exists(serviceId) && !local.IsRunning(serviceId))
            {
                await local.DeployAsync(serviceId, stoppingToken);
                LogRestored(logger, customer.Id, serviceId);
            }
        }

        await ResumeAsync(CustomerStatus.Provisioning, nameof(ProvisionCustomerOrchestrator), ProvisionCustomerOrchestrator.InstanceIdFor, stoppingToken);
        await ResumeAsync(CustomerStatus.Deprovisioning, nameof(DeprovisionCustomerOrchestrator), DeprovisionCustomerOrchestrator.InstanceIdFor, stoppingToken);
    }

    private async Task ResumeAsync(string status, string orchestrator, Func<string, string> instanceIdFor, CancellationToken cancellationToken)
    {
        foreach (var customer in await store.ListByStatusAsync(status, cancellationToken))
        {
            var instanceId = instanceIdFor(customer.Id);
            if (await durable.GetInstanceAsync(instanceId, cancellationToken) is null)
            {
                await durable.ScheduleNewOrchestrationInstanceAsync(orchestrator, customer.Id, new Microsoft.DurableTask.StartOrchestrationOptions(instanceId), cancellationToken);
                LogResumed(logger, orchestrator, customer.Id);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Restored the runtime of {CustomerId} ({ServiceId})")]
    private static partial void LogRestored(ILogger logger, string customerId, string serviceId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Restarted {Orchestrator} for {CustomerId}: its saga was lost with the previous host")]
    private static partial void LogResumed(ILogger logger, string orchestrator, string customerId);
}

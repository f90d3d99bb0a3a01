using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Options;
using SetupClaw.Customers;
using SetupClaw.Operations;
using SetupClaw.Providers;
using SetupClaw.Providers.Local;

namespace SetupClaw.LocalHost;

/// <summary>
/// The local host's upkeep. At start it brings back the runtimes of active and suspended customers (local runtimes
/// die with the host) and, with the in-memory backend (which forgets every run on restart), starts again at once the
/// lifecycle runs the control database says were in flight; their steps adopt what the lost run created. Then it
/// sweeps every <c>Sweep:IntervalSeconds</c> (the Functions app's timer does this in Azure).
/// </summary>
internal sealed partial class LocalRecovery(
    ICustomerStore store, Pool.PoolStore pool, IComputeProvider compute, DurableTaskClient durable, IServiceScopeFactory scopes, IOptions<SweepOptions> options,
    IConfiguration configuration, TimeProvider clock, IHostApplicationLifetime lifetime, ILogger<LocalRecovery> logger)
    : BackgroundService
{
    private readonly DateTimeOffset startedAt = clock.GetUtcNow();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var started = new TaskCompletionSource();
        using var registration = lifetime.ApplicationStarted.Register(() => started.TrySetResult());
        await started.Task.WaitAsync(stoppingToken);

        // Provisioning too: a saga that was waiting on its deployment (or checking its health) when the host died
        // finds the same deployment running again.
        foreach (var status in new[] { CustomerStatus.Active, CustomerStatus.Suspended, CustomerStatus.Provisioning })
        {
            foreach (var customer in await store.ListByStatusAsync(status, stoppingToken))
            {
                // Only local runtimes die with the host; a Railway service keeps running without it.
                if (compute is LocalComputeProvider local && customer.RailwayServiceId is { } serviceId && local.Exists(serviceId) &&
                    local.WasDeployed(serviceId) && !local.IsRunning(serviceId))
                {
                    await local.RestoreAsync(serviceId, stoppingToken);
                    LogRestored(logger, customer.Id, serviceId);
                }
            }
        }

        // Pool members too: a ready member whose runtime died would fail its next health check and be replaced.
        foreach (var member in await pool.ListAsync(stoppingToken))
        {
            if (compute is LocalComputeProvider local && member is { Status: Pool.PoolStatus.Ready or Pool.PoolStatus.Warming, ServiceId: { } serviceId } &&
                local.Exists(serviceId) && local.WasDeployed(serviceId) && !local.IsRunning(serviceId))
            {
                await local.RestoreAsync(serviceId, stoppingToken);
                LogRestored(logger, member.Id, serviceId);
            }
        }

        // The in-memory backend forgot every run claimed before this host started: those start again at once. Runs
        // claimed since (a webhook that came in meanwhile) are this host's own and are left alone.
        var inMemory = !string.Equals(configuration["Durable:Backend"], "AzureStorage", StringComparison.OrdinalIgnoreCase);
        await SweepAsync(inMemory ? startedAt : options.Value.ClaimedBefore(clock.GetUtcNow()), stoppingToken);
        if (options.Value.IntervalSeconds <= 0)
        {
            return;
        }

        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.IntervalSeconds));
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            await SweepAsync(options.Value.ClaimedBefore(clock.GetUtcNow()), stoppingToken);
        }
    }

    private async Task SweepAsync(DateTimeOffset claimedBefore, CancellationToken cancellationToken)
    {
        try
        {
            using var scope = scopes.CreateScope();
            await scope.ServiceProvider.GetRequiredService<OrphanSweeper>().SweepAsync(durable, claimedBefore, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogSweepFailed(logger, e);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Restored the runtime of {CustomerId} ({ServiceId})")]
    private static partial void LogRestored(ILogger logger, string customerId, string serviceId);

    [LoggerMessage(Level = LogLevel.Error, Message = "The sweep failed; it runs again at the next interval")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}

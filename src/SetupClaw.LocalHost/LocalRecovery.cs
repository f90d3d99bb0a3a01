using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Options;
using SetupClaw.Customers;
using SetupClaw.Operations;
using SetupClaw.Providers;
using SetupClaw.Providers.Local;

namespace SetupClaw.LocalHost;

/// <summary>
/// The local host's upkeep. At start it brings back the runtimes of customers and pool members (local runtimes die
/// with the host; a few at a time, provisioning customers first, the rest beside the first sweep) and, with the in-memory backend (which forgets every run on restart), starts again at once the
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

        // Runtimes die with the host: bring them back, at most Providers:Local:MaxConcurrentRestores at once (each
        // until it listens). Customers still provisioning first (their saga may be waiting on that very deployment),
        // then, without holding up the sweep that restarts lost runs, running and suspended customers and the pool.
        if (compute is LocalComputeProvider local)
        {
            await RestoreAsync(local, await ServicesOfAsync(local, [CustomerStatus.Provisioning], stoppingToken), stoppingToken);
            var rest = (await ServicesOfAsync(local, [CustomerStatus.Active, CustomerStatus.Suspended], stoppingToken))
                .Concat((await pool.ListAsync(stoppingToken))
                    .Where(m => m is { Status: Pool.PoolStatus.Ready or Pool.PoolStatus.Warming, ServiceId: not null } && NeedsRestore(local, m.ServiceId!))
                    .Select(m => (m.Id, m.ServiceId!)))
                .ToList();
            restores = Task.Run(() => RestoreAsync(local, rest, stoppingToken), CancellationToken.None);
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

    /// <summary>The restores started in the background at start (tests and the host's shutdown may wait for them).</summary>
    public Task Restores => restores;

    private Task restores = Task.CompletedTask;

    private static bool NeedsRestore(LocalComputeProvider local, string serviceId) =>
        local.Exists(serviceId) && local.WasDeployed(serviceId) && !local.IsRunning(serviceId);

    private async Task<List<(string OwnerId, string ServiceId)>> ServicesOfAsync(LocalComputeProvider local, string[] statuses, CancellationToken cancellationToken)
    {
        var services = new List<(string, string)>();
        foreach (var status in statuses)
        {
            services.AddRange((await store.ListByStatusAsync(status, cancellationToken))
                .Where(c => c.RailwayServiceId is { } id && NeedsRestore(local, id))
                .Select(c => (c.Id, c.RailwayServiceId!)));
        }

        return services;
    }

    private async Task RestoreAsync(LocalComputeProvider local, IReadOnlyList<(string OwnerId, string ServiceId)> services, CancellationToken cancellationToken)
    {
        await Task.WhenAll(services.Select(async s =>
        {
            try
            {
                await local.RestoreAsync(s.ServiceId, cancellationToken);
                LogRestored(logger, s.OwnerId, s.ServiceId);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogRestoreFailed(logger, s.OwnerId, s.ServiceId, e);
            }
        }));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not restore the runtime of {OwnerId} ({ServiceId}); its next health check or lifecycle run deals with it")]
    private static partial void LogRestoreFailed(ILogger logger, string ownerId, string serviceId, Exception exception);

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

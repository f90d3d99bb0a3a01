using Microsoft.Extensions.Options;
using SetupClaw.Pool;

namespace SetupClaw.LocalHost;

/// <summary>
/// The local host's warm-pool reconciler: a pass every <c>Pool:IntervalSeconds</c>, and at once when a member was
/// claimed (<see cref="PoolSignal"/>). The Functions app runs the same pass on a timer.
/// </summary>
internal sealed partial class LocalPool(IServiceScopeFactory scopes, PoolSignal signal, IOptionsMonitor<PoolOptions> options, IHostApplicationLifetime lifetime, ILogger<LocalPool> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var started = new TaskCompletionSource();
        using var registration = lifetime.ApplicationStarted.Register(() => started.TrySetResult());
        await started.Task.WaitAsync(stoppingToken);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                using var scope = scopes.CreateScope();
                await scope.ServiceProvider.GetRequiredService<PoolReconciler>().ReconcileAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogPassFailed(logger, e);
            }

            await signal.WaitAsync(TimeSpan.FromSeconds(Math.Max(0.2, options.CurrentValue.IntervalSeconds)), stoppingToken);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "A pool pass failed; the next one tries again")]
    private static partial void LogPassFailed(ILogger logger, Exception exception);
}

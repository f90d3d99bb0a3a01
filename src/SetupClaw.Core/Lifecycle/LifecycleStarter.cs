using System.Threading.Channels;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Options;
using SetupClaw.Provisioning;

namespace SetupClaw.Lifecycle;

/// <summary>
/// Schedules claimed lifecycle runs off the caller's path: a webhook is acknowledged once its fact and claim are
/// stored, and the orchestration is started right after by one background loop, in order, at most
/// <see cref="ProvisioningOptions.MaxStartsPerSecond"/>: a burst of payments does not start every saga at the same
/// instant, so the webhooks arriving meanwhile are not starved of the CPU.
/// <para>
/// Nothing is lost if the process ends with runs still queued: each was claimed in the control database, and the
/// sweep's recovery schedules a claim whose orchestration does not exist once the grace has passed
/// (<see cref="LifecycleScheduler.RecoverAsync"/>). On shutdown the queue is drained for a few seconds, best effort (the
/// durable backend may already be gone). A queued start schedules only a run that still holds its customer.
/// </para>
/// </summary>
public sealed class LifecycleStarter : IAsyncDisposable
{
    private readonly IOptions<ProvisioningOptions> options;
    private readonly TimeProvider clock;
    private readonly Channel<Start> queue = Channel.CreateUnbounded<Start>();
    private readonly Lazy<Task> loop;
    private readonly CancellationTokenSource stopping = new();

    public LifecycleStarter(IOptions<ProvisioningOptions> options, TimeProvider clock)
    {
        this.options = options;
        this.clock = clock;
        loop = new Lazy<Task>(() => Task.Run(RunAsync), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>How long disposal waits for queued runs to be scheduled before leaving them to the sweep.</summary>
    public static readonly TimeSpan DrainLimit = TimeSpan.FromSeconds(5);

    /// <summary>Queues <paramref name="schedule"/> (one run's scheduling, retries included); false once shutting down.</summary>
    public bool Enqueue(DurableTaskClient durable, Func<DurableTaskClient, CancellationToken, Task> schedule)
    {
        if (!queue.Writer.TryWrite(new Start(durable, schedule)))
        {
            return false;
        }

        _ = loop.Value;
        return true;
    }

    /// <summary>Runs queued so far, and not yet scheduled (for tests and the operator's view).</summary>
    public int Queued => queue.Reader.Count;

    private async Task RunAsync()
    {
        var next = clock.GetTimestamp();
        await foreach (var start in queue.Reader.ReadAllAsync(CancellationToken.None))
        {
            try
            {
                // Paced by slots: after a quiet spell the first runs start at once, then one per interval.
                var rate = options.Value.MaxStartsPerSecond;
                var wait = rate > 0 ? clock.GetElapsedTime(clock.GetTimestamp(), next) : TimeSpan.Zero;
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, clock, stopping.Token);
                }

                next = Math.Max(next, clock.GetTimestamp()) + (rate > 0 ? clock.TimestampFrequency / rate : 0);
                await start.Schedule(start.Durable, stopping.Token);
            }
            catch (Exception) when (stopping.IsCancellationRequested)
            {
                return; // left to the sweep's recovery, as the claim is stored
            }
            catch (Exception)
            {
                // The schedule logs its own failure; the claim stays for the sweep. The next run must still start.
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        queue.Writer.TryComplete();
        if (loop.IsValueCreated)
        {
            try
            {
                await loop.Value.WaitAsync(DrainLimit);
            }
            catch (TimeoutException)
            {
                // Whatever is still queued or in flight is claimed and left to the sweep; the token is not disposed,
                // as the loop may still be reading it.
                await stopping.CancelAsync();
            }
        }
    }

    private sealed record Start(DurableTaskClient Durable, Func<DurableTaskClient, CancellationToken, Task> Schedule);
}

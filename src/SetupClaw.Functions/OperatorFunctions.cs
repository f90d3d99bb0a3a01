using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Options;
using SetupClaw.Operations;

namespace SetupClaw.Functions;

/// <summary>The orphan sweep on a timer (<c>Sweep:Schedule</c>, every 5 minutes by default); the operator's routes are in <see cref="SiteFunctions"/>.</summary>
public sealed class OperatorFunctions(OrphanSweeper sweeper, IOptions<SweepOptions> options, TimeProvider clock)
{
    [Function("OrphanSweep")]
    public Task SweepAsync(
        [TimerTrigger("%Sweep:Schedule%", RunOnStartup = false)] TimerInfo timer,
        [DurableClient] DurableTaskClient durable,
        CancellationToken cancellationToken) =>
        sweeper.SweepAsync(durable, options.Value.ClaimedBefore(clock.GetUtcNow()), cancellationToken);
}

using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Options;
using SetupClaw.Lifecycle;
using SetupClaw.Operations;

namespace SetupClaw.Functions;

/// <summary>The orphan sweep on a timer (<c>Sweep:Schedule</c>, every 5 minutes by default); the operator's routes are in <see cref="SiteFunctions"/>.</summary>
public sealed class OperatorFunctions(
    OrphanSweeper sweeper, LifecycleScheduler lifecycle, Pool.PoolReconciler pool, Email.EmailOutbox emails, IOptions<SweepOptions> options, TimeProvider clock)
{
    /// <summary>
    /// The warm pool's reconciler (<c>Pool:Schedule</c>, every minute by default; a pass does nothing while
    /// <c>Pool:Size</c> is 0 and nothing is pooled). One pass at a time across instances (an advisory lock).
    /// </summary>
    [Function("PoolReconcile")]
    public Task ReconcilePoolAsync(
        [TimerTrigger("%Pool:Schedule%", RunOnStartup = true)] TimerInfo timer,
        CancellationToken cancellationToken) =>
        pool.ReconcileAsync(cancellationToken);

    /// <summary>
    /// When an instance starts (and daily): lifecycle work that waited starts at once, so turning
    /// <c>Provisioning:Paused</c> off (an app setting change restarts the app) provisions the customers who paid
    /// meanwhile without waiting for the sweep. Each run is claimed once, so instances starting together start it once.
    /// </summary>
    [Function("ResumeLifecycle")]
    public Task ResumeAsync(
        [TimerTrigger("0 0 4 * * *", RunOnStartup = true)] TimerInfo timer,
        [DurableClient] DurableTaskClient durable,
        CancellationToken cancellationToken) =>
        lifecycle.RecoverAsync(durable, options.Value.ClaimedBefore(clock.GetUtcNow()), cancellationToken);

    [Function("OrphanSweep")]
    public Task SweepAsync(
        [TimerTrigger("%Sweep:Schedule%", RunOnStartup = false)] TimerInfo timer,
        [DurableClient] DurableTaskClient durable,
        CancellationToken cancellationToken) =>
        sweeper.SweepAsync(durable, options.Value.ClaimedBefore(clock.GetUtcNow()), cancellationToken);

    /// <summary>
    /// Customer emails that are due (new, or a retry whose time has come), every minute: the outbox's own loop sends
    /// new ones at once while a worker is warm; this timer makes sure a retry never waits for the next request.
    /// </summary>
    [Function("EmailDelivery")]
    public Task DeliverEmailsAsync(
        [TimerTrigger("0 */1 * * * *", RunOnStartup = true)] TimerInfo timer,
        CancellationToken cancellationToken) =>
        emails.DeliverDueAsync(cancellationToken);
}

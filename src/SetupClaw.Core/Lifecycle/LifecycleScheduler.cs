using DurableTask.Core.Exceptions;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SetupClaw.Customers;
using SetupClaw.Provisioning;

namespace SetupClaw.Lifecycle;

/// <summary>
/// Where Stripe's facts enter the lifecycle. A fact that changes what Stripe says raises the customer's desired
/// version; then one lifecycle run (a durable orchestration holding the customer's lease) converges the customer to
/// it. Runs never overlap for one customer, and a fact that arrives while a run is finishing is seen by that run
/// before it lets go. A cancellation also tells a provisioning in flight to stop and undo itself.
/// </summary>
public sealed partial class LifecycleScheduler(
    ICustomerStore customers, LifecycleStore store, LifecycleStarter starter, TimeProvider clock, IOptions<ProvisioningOptions> provisioning,
    ILogger<LifecycleScheduler> logger)
{
    /// <summary><c>Provisioning:Paused</c>: facts are stored, no run starts.</summary>
    public bool IsPaused => provisioning.Value.Paused;

    /// <summary>A sweep's hold that outlived this was left by a crashed sweep.</summary>
    public static readonly TimeSpan SweepHoldLimit = TimeSpan.FromMinutes(10);

    public async Task<string> RecordAsync(DurableTaskClient durable, string customerId, BillingFact fact, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(durable);
        var outcome = await store.ApplyFactAsync(customerId, fact, cancellationToken);
        return outcome is null ? "unknown_customer" : await ConvergeAsync(durable, customerId, outcome, cancellationToken);
    }

    /// <summary>
    /// Binds the subscription to the customer and applies the facts with every event parked for it (see
    /// <see cref="LifecycleStore.BindAsync"/>), then converges. Returns the outcome to record; a refused binding
    /// changes nothing and says why.
    /// </summary>
    public async Task<string> BindAsync(
        DurableTaskClient durable, string customerId, string subscriptionId, IReadOnlyList<BillingFact> facts, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(durable);
        var bound = await store.BindAsync(customerId, subscriptionId, facts, cancellationToken);
        var parked = bound.ParkedApplied > 0 ? $" ({bound.ParkedApplied} parked applied)" : "";
        return bound.Result switch
        {
            BindResult.UnknownCustomer => "unknown_customer",
            BindResult.CustomerBoundToAnother => "subscription_already_bound",
            BindResult.SubscriptionBoundToAnother => "subscription_of_another_customer",
            _ when bound.Facts is null => "bound",
            _ => "bound: " + await ConvergeAsync(durable, customerId, bound.Facts, cancellationToken) + parked,
        };
    }

    private async Task<string> ConvergeAsync(DurableTaskClient durable, string customerId, FactOutcome outcome, CancellationToken cancellationToken)
    {
        if (outcome.Changed && outcome.State == BillingStates.Cancelled)
        {
            await CancelProvisioningAsync(durable, customerId, cancellationToken);
        }

        var started = await KickAsync(durable, customerId, cancellationToken);
        return outcome.Describe() + (started is null ? "" : " (run started)");
    }

    /// <summary>
    /// Starts a lifecycle run if there is work and none holds the customer: claims it, and hands its scheduling to the
    /// <see cref="LifecycleStarter"/>. Returns the run's instance id. When the
    /// durable backend cannot be reached the claim stays: the fact is stored, and the sweep schedules the same run
    /// once the grace has passed (letting go instead could let a second run start if the first had in fact begun).
    /// </summary>
    public async Task<string?> KickAsync(DurableTaskClient durable, string customerId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(durable);
        if (IsPaused)
        {
            // The fact is stored and the desired version raised: RecoverAsync starts the run once provisioning resumes.
            LogPaused(logger, customerId);
            return null;
        }

        if (await store.ClaimAsync(customerId, cancellationToken) is not { } claim)
        {
            return null;
        }

        // Scheduled by the starter, off the caller's path (a webhook is acknowledged once the claim is stored).
        var input = new LifecycleInput(customerId, claim.Run);
        if (!starter.Enqueue(durable, (client, stopping) => StartQueuedAsync(client, claim.InstanceId, input, stopping)))
        {
            await ScheduleOrLeaveAsync(durable, claim.InstanceId, input, cancellationToken);
        }

        return claim.InstanceId;
    }

    /// <summary>
    /// A queued start schedules only a run that still holds the customer: after a long queue the sweep's recovery may
    /// have scheduled it already, and it may have finished and let go (scheduling it again would start a run that
    /// holds nothing). Each start has its own deadline, so one call that hangs does not hold back the queue.
    /// </summary>
    private async Task StartQueuedAsync(DurableTaskClient durable, string instanceId, LifecycleInput input, CancellationToken stopping)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        deadline.CancelAfter(QueuedStartLimit);
        try
        {
            if (!await store.HoldsAsync(input.CustomerId, instanceId, deadline.Token))
            {
                LogStaleStart(logger, instanceId);
                return;
            }

            await ScheduleOrLeaveAsync(durable, instanceId, input, deadline.Token);
        }
        catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
        {
            LogScheduleFailed(logger, instanceId, $"no answer within {QueuedStartLimit.TotalSeconds:0} s");
        }
    }

    /// <summary>How long one queued start may take (its retries included) before it is left to the sweep.</summary>
    private static readonly TimeSpan QueuedStartLimit = TimeSpan.FromSeconds(15);

    /// <summary>Schedules the run; when that fails the claim stays, and the sweep schedules it after the grace.</summary>
    private async Task ScheduleOrLeaveAsync(DurableTaskClient durable, string instanceId, LifecycleInput input, CancellationToken cancellationToken)
    {
        try
        {
            await ScheduleAsync(durable, instanceId, input, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogScheduleFailed(logger, instanceId, e.Message);
        }
    }

    /// <summary>
    /// Finds lifecycle work that nothing is doing and does it: a change whose run was never started (a crash
    /// between a fact and its kick), a claim whose orchestration does not exist (a crash between claim and
    /// schedule, or an in-memory backend that restarted), a run that ended without letting go, a sweep's hold
    /// left by a crashed sweep. Returns how many runs it started.
    /// </summary>
    /// <param name="claimedBefore">Only claims older than this are taken for lost: now minus the grace, or (after a
    /// restart of the in-memory backend, which forgot every run) the moment the host started.</param>
    public async Task<int> RecoverAsync(DurableTaskClient durable, DateTimeOffset claimedBefore, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(durable);
        if (IsPaused)
        {
            return 0;
        }

        var started = 0;
        var now = clock.GetUtcNow();
        foreach (var unsettled in await store.ListUnsettledAsync(cancellationToken))
        {
            if (unsettled.Instance is null)
            {
                started += await KickAsync(durable, unsettled.CustomerId, cancellationToken) is null ? 0 : 1;
                continue;
            }

            var age = now - (unsettled.ClaimedAt ?? now);
            if (unsettled.Instance.StartsWith(OrphanHolderPrefix, StringComparison.Ordinal))
            {
                if (age > SweepHoldLimit && await store.LetGoAsync(unsettled.CustomerId, unsettled.Instance, cancellationToken) == 1)
                {
                    started += await KickAsync(durable, unsettled.CustomerId, cancellationToken) is null ? 0 : 1;
                }

                continue;
            }

            if ((unsettled.ClaimedAt ?? now) >= claimedBefore)
            {
                continue;
            }

            var instance = await durable.GetInstanceAsync(unsettled.Instance, cancellationToken);
            if (instance is null)
            {
                LogRescheduled(logger, unsettled.Instance);
                await ScheduleAsync(durable, unsettled.Instance, new LifecycleInput(unsettled.CustomerId, unsettled.Runs), cancellationToken);
                started++;
            }
            else if (instance.RuntimeStatus is OrchestrationRuntimeStatus.Completed or OrchestrationRuntimeStatus.Failed or OrchestrationRuntimeStatus.Terminated)
            {
                // Ended without letting go (a bug or a termination): free the customer and look again.
                LogReleasedStuck(logger, unsettled.Instance, instance.RuntimeStatus.ToString());
                await store.LetGoAsync(unsettled.CustomerId, unsettled.Instance, cancellationToken);
                started += await KickAsync(durable, unsettled.CustomerId, cancellationToken) is null ? 0 : 1;
            }
        }

        return started;
    }

    private static readonly OrchestrationRuntimeStatus[] LiveStatuses =
        [OrchestrationRuntimeStatus.Pending, OrchestrationRuntimeStatus.Running, OrchestrationRuntimeStatus.Suspended];

    /// <summary>The prefix of the holder name a sweep uses while it removes a customer's leftovers.</summary>
    public const string OrphanHolderPrefix = "sweep:";

    private async Task CancelProvisioningAsync(DurableTaskClient durable, string customerId, CancellationToken cancellationToken)
    {
        var customer = await customers.GetAsync(customerId, cancellationToken);
        if (customer is { Status: CustomerStatus.Provisioning, OrchestrationId: { } provisioning })
        {
            try
            {
                await durable.RaiseEventAsync(provisioning, ProvisionCustomerOrchestrator.CancelEvent, "subscription cancelled", cancellationToken);
                LogCancelRaised(logger, provisioning);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Whatever the reason (the saga has just finished, the backend is out of reach), the outcome is the same:
                // the lifecycle run sees the cancellation next and deprovisions after the saga.
                LogCancelMissed(logger, provisioning, e.Message);
            }
        }
    }

    private async Task ScheduleAsync(DurableTaskClient durable, string instanceId, LifecycleInput input, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                // Dedupe statuses: a second schedule of a run that is alive fails instead of starting it twice.
                await durable.ScheduleNewOrchestrationInstanceAsync(nameof(CustomerLifecycleOrchestrator), input,
                    new StartOrchestrationOptions(instanceId).WithDedupeStatuses(LiveStatuses), cancellationToken);
                LogScheduled(logger, instanceId);
                return;
            }
            catch (OrchestrationAlreadyExistsException)
            {
                LogAlreadyScheduled(logger, instanceId);
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException && attempt < ScheduleAttempts)
            {
                // The backend out of reach for a moment (a sidecar still starting, a connection in backoff): worth a
                // second look before the run is left to the sweep's grace.
                await Task.Delay(TimeSpan.FromMilliseconds(250 * attempt * attempt), clock, cancellationToken);
            }
        }
    }

    /// <summary>Tries to schedule a run, in all, before the claim is left for the sweep (about 1.25 s of waiting).</summary>
    private const int ScheduleAttempts = 3;

    [LoggerMessage(Level = LogLevel.Information, Message = "Provisioning is paused: the change for {CustomerId} is stored and waits")]
    private static partial void LogPaused(ILogger logger, string customerId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lifecycle run {InstanceId} could not be scheduled ({Reason}); the sweep schedules it after the grace")]
    private static partial void LogScheduleFailed(ILogger logger, string instanceId, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Lifecycle run {InstanceId} no longer holds its customer when its turn came: not scheduled")]
    private static partial void LogStaleStart(ILogger logger, string instanceId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Lifecycle run {InstanceId} scheduled")]
    private static partial void LogScheduled(ILogger logger, string instanceId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Lifecycle run {InstanceId} was already scheduled")]
    private static partial void LogAlreadyScheduled(ILogger logger, string instanceId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lifecycle run {InstanceId} was claimed but never started: scheduled again")]
    private static partial void LogRescheduled(ILogger logger, string instanceId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lifecycle run {InstanceId} ended ({Status}) without letting go of its customer: released")]
    private static partial void LogReleasedStuck(ILogger logger, string instanceId, string status);

    [LoggerMessage(Level = LogLevel.Information, Message = "Asked provisioning {InstanceId} to stop: the subscription was cancelled")]
    private static partial void LogCancelRaised(ILogger logger, string instanceId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Provisioning {InstanceId} could not be told to stop ({Reason}); the lifecycle run deprovisions after it")]
    private static partial void LogCancelMissed(ILogger logger, string instanceId, string reason);
}

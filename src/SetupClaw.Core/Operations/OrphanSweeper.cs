using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SetupClaw.Credentials;
using SetupClaw.Customers;
using SetupClaw.Lifecycle;
using SetupClaw.Providers;

namespace SetupClaw.Operations;

/// <summary>
/// What one sweep did; <see cref="LeftOpen"/> is what still needs it (or the operator). <see cref="Foreign"/>:
/// resources named for customers this control database does not know, left alone.
/// </summary>
public sealed record SweepReport(int Found, int Removed, int LeftOpen, int RunsStarted, int Foreign, IReadOnlyList<string> Errors, bool Paused = false);

/// <summary>
/// The periodic sweep (a timer function in Azure, a background service in the local host). It restarts lifecycle
/// work nothing is doing, records provider resources named for SetupClaw customers that no live customer owns, and
/// deletes every open orphan — holding the customer's lease meanwhile, so it never races a lifecycle run that is
/// about to use the resource. It also drops Stripe events parked for 30 days for a subscription no checkout bound, and erases revealable API key
/// copies whose reveal window has passed (nobody has to poll for that). Results go to <c>sweep_runs</c>, the log and <c>GET /api/operator/orphans</c>.
/// Only customers this control database knows (and that are not live) lose resources: one named for a customer it
/// does not know may belong to another installation sharing the Neon project, the Railway project or the local
/// PostgreSQL server, so it is counted as foreign and never touched.
/// </summary>
public sealed partial class OrphanSweeper(
    ICustomerStore customers, LifecycleStore leases, OrphanStore orphans, LifecycleScheduler lifecycle,
    IDatabaseProvider database, IComputeProvider compute, Pool.PoolStore pool, IOptions<SecurityOptions> security, IOptions<Billing.AppOptions> app,
    Dashboard.CustomerSessions sessions, IOptions<Dashboard.DashboardOptions> dashboard, TimeProvider clock, Telemetry.SetupClawMetrics metrics, ILogger<OrphanSweeper> logger)
{
    /// <summary>An event parked for a subscription that no checkout bound within this is dropped.</summary>
    public static readonly TimeSpan ParkedEventLifetime = TimeSpan.FromDays(30);

    /// <param name="claimedBefore">Lifecycle claims older than this whose run does not exist are scheduled again.</param>
    public async Task<SweepReport> SweepAsync(DurableTaskClient durable, DateTimeOffset claimedBefore, CancellationToken cancellationToken)
    {
        var startedAt = clock.GetUtcNow();
        var errors = new List<string>();
        await leases.DropParkedAsync(startedAt - ParkedEventLifetime, cancellationToken);
        await customers.EraseExpiredApiKeyCopiesAsync(security.Value.ApiKeyRevealWindow, cancellationToken);
        if (lifecycle.IsPaused)
        {
            // The rollback switch: no run starts and nothing is deleted; the sweep after resuming does both.
            var open = (await orphans.ListOpenAsync(cancellationToken)).Count;
            const string Note = "provisioning is paused: no lifecycle run started, no orphan removed";
            await orphans.RecordSweepAsync(new SweepRecord(startedAt, clock.GetUtcNow(), 0, 0, open, 0, 0, Note), cancellationToken);
            return new SweepReport(0, 0, open, 0, 0, [Note], Paused: true);
        }

        // What customers were told: a cancelled customer's archive is kept for Dashboard:ArchiveRetention, then deleted
        // (not while paused: the rollback switch deletes nothing). Spent sessions and sign-in links go too.
        try
        {
            await leases.PurgeArchivesAsync(dashboard.Value.ArchiveRetention, cancellationToken);
            await sessions.PurgeExpiredAsync(cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            errors.Add($"purging expired archives and sessions failed: {e.Message}");
        }

        var runs = await lifecycle.RecoverAsync(durable, claimedBefore, cancellationToken);
        runs += await EndForgottenSmokeTestsAsync(durable, startedAt, cancellationToken);

        var found = 0;
        var foreign = 0;
        foreach (var (kind, list) in new[] { (OrphanKinds.Database, (Func<CancellationToken, Task<IReadOnlyList<ProviderResource>>>)database.ListAsync), (OrphanKinds.Service, compute.ListAsync) })
        {
            IReadOnlyList<ProviderResource> resources;
            try
            {
                resources = await list(cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                errors.Add($"listing {kind}s failed: {e.Message}");
                continue;
            }

            foreach (var resource in resources)
            {
                (Verdict, string, string) verdict;
                try
                {
                    verdict = await JudgeAsync(kind, resource, cancellationToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    errors.Add($"judging the {kind} {resource.ResourceId} failed: {e.Message}");
                    continue;
                }

                switch (verdict)
                {
                    case (Verdict.Foreign, _, _):
                        foreign++;
                        break;
                    case (Verdict.Orphan, var owner, var reason) when await orphans.RecordAsync(new OrphanReport(kind, owner, OrphanSources.Sweep, reason, resource.ResourceId), cancellationToken):
                        found++;
                        LogFound(logger, kind, owner);
                        break;
                }
            }
        }

        var removed = 0;
        foreach (var orphan in await orphans.ListOpenAsync(cancellationToken))
        {
            removed += await RemoveAsync(durable, orphan, errors, cancellationToken) ? 1 : 0;
        }

        var left = (await orphans.ListOpenAsync(cancellationToken)).Count;
        metrics.Swept(left, (await leases.ListUnsettledAsync(cancellationToken)).Count(u => u.Instance is not null));
        var report = new SweepReport(found, removed, left, runs, foreign, errors);
        await orphans.RecordSweepAsync(new SweepRecord(startedAt, clock.GetUtcNow(), found, removed, left, runs, foreign,
            errors.Count == 0 ? null : string.Join("\n", errors)), cancellationToken);
        LogSwept(logger, found, removed, left, runs, foreign, errors.Count);
        return report;
    }

    /// <summary>A smoke test's customer older than this was left by a run that never cleaned up (a killed command).</summary>
    public static readonly TimeSpan SmokeTestLifetime = TimeSpan.FromHours(1);

    /// <summary>Cancels the test customers a smoke run left behind, so the lifecycle removes their resources.</summary>
    private async Task<int> EndForgottenSmokeTestsAsync(DurableTaskClient durable, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var ended = 0;
        foreach (var status in new[] { CustomerStatus.Active, CustomerStatus.Suspended, CustomerStatus.Provisioning, CustomerStatus.Failed })
        {
            foreach (var customer in await customers.ListByStatusAsync(status, cancellationToken))
            {
                if (customer is { IsTest: true } && customer.BillingState != Lifecycle.BillingStates.Cancelled && now - customer.CreatedAt > SmokeTestLifetime)
                {
                    await lifecycle.RecordAsync(durable, customer.Id, new Lifecycle.BillingFact(now, Lifecycle.BillingStates.Cancelled), cancellationToken);
                    ended++;
                }
            }
        }

        return ended;
    }

    private enum Verdict
    {
        Owned,
        Orphan,
        Foreign,
    }

    /// <summary>
    /// Whose a resource is. Named for a customer: that customer's (foreign when this control database does not know
    /// it). Named for a pool member: the pool's while the member is recorded unclaimed, the claiming customer's once
    /// claimed, and a leftover when no record has it, if its installation tag is this installation's (foreign else).
    /// </summary>
    private async Task<(Verdict Verdict, string Owner, string Reason)> JudgeAsync(string kind, ProviderResource resource, CancellationToken cancellationToken)
    {
        var owner = resource.OwnerId;
        if (PoolMemberIds.IsValid(owner))
        {
            var member = await pool.GetAsync(owner, cancellationToken);
            if (member is null && await pool.CustomerRecordingAsync(resource.ResourceId, cancellationToken) is { } recordedBy)
            {
                owner = recordedBy; // a customer's, whatever its name: judged as the customer's below
            }
            else if (member is null)
            {
                // Only with an installation id of its own may this installation call a pool leftover its own: under
                // the default, two installations sharing a project would delete each other's.
                var installation = resource.InstallationId
                    ?? (kind == OrphanKinds.Service ? await compute.InstallationOfAsync(resource.ResourceId, cancellationToken) : null);
                return installation == app.Value.InstallationId && app.Value.InstallationId != Billing.AppOptions.DefaultInstallationId
                    ? (Verdict.Orphan, owner, "pool member with no record (a leftover of this installation's pool)")
                    : (Verdict.Foreign, owner, "");
            }

            else if (member is not { Status: Pool.PoolStatus.Claimed, ClaimedBy: { } claimedBy })
            {
                return (Verdict.Owned, owner, ""); // pooled: the reconciler's to keep or destroy
            }
            else
            {
                owner = claimedBy;
            }
        }

        var customer = await customers.GetAsync(owner, cancellationToken);
        return customer is null ? (Verdict.Foreign, owner, "")
            : !Owns(customer) ? (Verdict.Orphan, owner, $"customer is {customer.Status}")
            : IsNotRecorded(customer, kind, resource.ResourceId) ? (Verdict.Orphan, owner, $"not the customer's recorded {kind} (left by an earlier provisioning)")
            : (Verdict.Owned, owner, "");
    }

    /// <summary>
    /// A live customer owns the resource the control database records for it, and (while none is recorded, a create in
    /// flight) the one named for it; another one is a leftover, such as a cold run's database after a warm claim.
    /// </summary>
    private static bool IsNotRecorded(Customer customer, string kind, string? resourceId)
    {
        var recorded = kind == OrphanKinds.Database ? customer.DatabaseBranchId : customer.RailwayServiceId;
        return resourceId is not null && recorded is not null && recorded != resourceId && customer.LifecycleInstance is null;
    }

    /// <summary>A customer owns its resources while it is live or a lifecycle run holds it (which may be creating them).</summary>
    private static bool Owns(Customer customer) => customer.LifecycleInstance is not null || IsLive(customer);

    private static bool IsLive(Customer customer) =>
        customer.Status is CustomerStatus.Provisioning or CustomerStatus.Active or CustomerStatus.Suspended or CustomerStatus.Deprovisioning;

    private async Task<bool> RemoveAsync(DurableTaskClient durable, OpenOrphan orphan, List<string> errors, CancellationToken cancellationToken)
    {
        var holder = LifecycleScheduler.OrphanHolderPrefix + Guid.NewGuid().ToString("N")[..12];
        var known = await customers.GetAsync(orphan.CustomerId, cancellationToken) is not null;
        if (known && !await leases.TryHoldAsync(orphan.CustomerId, holder, cancellationToken))
        {
            return false; // a lifecycle run holds the customer: the next sweep looks again
        }

        try
        {
            var customer = await customers.GetAsync(orphan.CustomerId, cancellationToken);
            // Re-read while the sweep holds the customer: live again means the resource is in use, unless it is not the
            // one recorded for the customer (then no run can be using it: the sweep holds the customer).
            if (customer is not null && IsLive(customer) && !IsNotRecorded(customer with { LifecycleInstance = null }, orphan.Kind, orphan.ResourceId))
            {
                await orphans.CloseAsync(orphan.Id, "owned", cancellationToken);
                return false;
            }

            // A pool leftover recorded since, in the pool or on a customer (a record is the last word).
            if (PoolMemberIds.IsValid(orphan.CustomerId) && (await pool.GetAsync(orphan.CustomerId, cancellationToken) is not null ||
                (orphan.ResourceId is { } found && await pool.CustomerRecordingAsync(found, cancellationToken) is not null)))
            {
                await orphans.CloseAsync(orphan.Id, "owned", cancellationToken);
                return false;
            }

            // By the id found (or recorded on the customer), else by the name derived for the owner.
            if (orphan.Kind == OrphanKinds.Database)
            {
                await database.DeleteAsync(new ResourceRef(orphan.CustomerId, orphan.ResourceId ?? customer?.DatabaseBranchId), cancellationToken);
            }
            else
            {
                await compute.DeleteServiceAsync(new ResourceRef(orphan.CustomerId, orphan.ResourceId ?? customer?.RailwayServiceId), cancellationToken);
            }

            await orphans.CloseAsync(orphan.Id, "removed", cancellationToken);
            LogRemoved(logger, orphan.Kind, orphan.CustomerId);
            return true;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            errors.Add($"removing the {orphan.Kind} of {orphan.CustomerId} failed: {e.Message}");
            await orphans.AttemptFailedAsync(orphan.Id, e.Message, cancellationToken);
            return false;
        }
        finally
        {
            if (known)
            {
                await leases.LetGoAsync(orphan.CustomerId, holder, CancellationToken.None);
                // A fact that arrived while the sweep held the customer found it busy: start its run now.
                await lifecycle.KickAsync(durable, orphan.CustomerId, CancellationToken.None);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Orphan found: the {Kind} of {CustomerId}, which is not a live customer")]
    private static partial void LogFound(ILogger logger, string kind, string customerId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Orphan removed: the {Kind} of {CustomerId}")]
    private static partial void LogRemoved(ILogger logger, string kind, string customerId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sweep: {Found} orphan(s) found, {Removed} removed, {Left} left open, {Runs} lifecycle run(s) restarted, {Foreign} foreign resource(s) left alone, {Errors} error(s)")]
    private static partial void LogSwept(ILogger logger, int found, int removed, int left, int runs, int foreign, int errors);
}

using System.Net.Http.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using SetupClaw.Credentials;
using SetupClaw.Lifecycle;
using SetupClaw.Plans;
using SetupClaw.Providers;
using SetupClaw.Provisioning;

namespace SetupClaw.Pool;

/// <summary>What one pass did, for the log and the operator.</summary>
public sealed record PoolReport(int Size, int Ready, int Warming, int Added, int Drained, int Failed, int Destroyed, IReadOnlyList<string> Errors, bool Skipped = false);

/// <summary>
/// Keeps <c>Pool:Size</c> members warming or ready: adds members when some were claimed or failed, drains the surplus
/// when the size went down, health-checks ready members (a member must answer <c>/health</c> 200 and belong to
/// nobody) and destroys failed and drained ones by their recorded ids. A member is warmed like a cold provisioning
/// (database, service, deployment, domain, health) under names of its own, tagged with this installation's id. Its
/// row is written before anything is created and removed only after everything is deleted. One pass at a time
/// across hosts (an advisory lock on the control database); nothing happens while provisioning is paused.
/// </summary>
public sealed partial class PoolReconciler(
    PoolStore pool, IDatabaseProvider databases, IComputeProvider compute, SecretBox secretBox, NpgsqlDataSource db, LifecycleScheduler lifecycle,
    IOptionsMonitor<PoolOptions> options, IOptions<Billing.AppOptions> app, IOptions<LlmOptions> llm, IOptions<ProvisioningOptions> provisioning,
    IHttpClientFactory httpClients, DeploymentWatch watch, TimeProvider clock, ILogger<PoolReconciler> logger)
{
    private const long LockKey = 0x5e7c1a3_9001;

    public async Task<PoolReport> ReconcileAsync(CancellationToken cancellationToken)
    {
        var settings = options.CurrentValue;
        if (lifecycle.IsPaused)
        {
            return new PoolReport(settings.Size, 0, 0, 0, 0, 0, 0, ["provisioning is paused: the pool is left as it is"], Skipped: true);
        }

        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        if (!await TryLockAsync(connection, cancellationToken))
        {
            return new PoolReport(settings.Size, 0, 0, 0, 0, 0, 0, ["another pass is running"], Skipped: true);
        }

        try
        {
            return await PassAsync(settings, cancellationToken);
        }
        finally
        {
            await using var unlock = new NpgsqlCommand("select pg_advisory_unlock(@key)", connection);
            unlock.Parameters.AddWithValue("key", LockKey);
            await unlock.ExecuteScalarAsync(CancellationToken.None);
        }
    }

    private async Task<PoolReport> PassAsync(PoolOptions settings, CancellationToken cancellationToken)
    {
        var errors = new List<string>();
        var failed = 0;
        foreach (var member in (await pool.ListAsync(cancellationToken)).Where(m => m.Status == PoolStatus.Ready && IsDue(m, settings)))
        {
            // A member the platform put to sleep is deployed and wakes on its claim's health check: checking it now
            // would only wake it (and its database) for nothing.
            if (member.ServiceId is { } serviceId && await compute.StateOrUnknownAsync(new ResourceRef(member.Id, serviceId), cancellationToken) == ServiceStates.Sleeping)
            {
                await pool.MarkCheckedAsync(member.Id, cancellationToken);
                continue;
            }

            if (await UnhealthyBecauseAsync(member, TimeSpan.FromSeconds(10), cancellationToken) is { } problem)
            {
                failed += await pool.MarkFailedAsync(member.Id, $"health check: {problem}", cancellationToken) ? 1 : 0;
                LogUnhealthy(logger, member.Id, problem);
            }
            else
            {
                await pool.MarkCheckedAsync(member.Id, cancellationToken);
            }
        }

        // A member warming for longer than a deployment and a health check may take is stuck (say its URL no longer
        // opens): it is replaced rather than holding a place in the pool.
        var stuckAfter = provisioning.Value.DeploymentTimeout + provisioning.Value.HealthCheckTimeout + TimeSpan.FromMinutes(10);
        foreach (var stuck in (await pool.ListAsync(cancellationToken)).Where(m => m.Status == PoolStatus.Warming && clock.GetUtcNow() - m.CreatedAt > stuckAfter))
        {
            failed += await pool.MarkFailedAsync(stuck.Id, $"still warming after {stuckAfter.TotalMinutes:0} minutes", cancellationToken) ? 1 : 0;
        }

        var live = (await pool.ListAsync(cancellationToken)).Count(m => m.Status is PoolStatus.Ready or PoolStatus.Warming);
        var size = Math.Max(0, settings.Size);
        var drained = live > size ? await pool.DrainAsync(live - size, cancellationToken) : 0;
        var added = 0;
        var installation = InstallationTag.Checked(app.Value.InstallationId);
        for (; live + added < size; added++)
        {
            await pool.AddAsync(PoolMemberIds.New(), PlanCatalog.Get(settings.Plan).Name, installation, cancellationToken);
        }

        var members = await pool.ListAsync(cancellationToken);
        var destroyed = 0;
        foreach (var member in members.Where(m => m.Status is PoolStatus.Failed or PoolStatus.Draining))
        {
            try
            {
                await DestroyAsync(member, cancellationToken);
                destroyed++;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                errors.Add($"destroying {member.Id} failed (tried again next pass): {e.Message}");
            }
        }

        // Not disposed: a pass cancelled at shutdown leaves warm-ups that still release it (it holds no wait handle).
        var gate = new SemaphoreSlim(Math.Max(1, settings.MaxWarmingAtOnce));
        var warming = members.Where(m => m.Status == PoolStatus.Warming).Select(async member =>
        {
            await gate.WaitAsync(cancellationToken);
            try
            {
                return await WarmAsync(member, cancellationToken);
            }
            finally
            {
                gate.Release();
            }
        });
        foreach (var problem in await Task.WhenAll(warming))
        {
            if (problem is not null)
            {
                errors.Add(problem);
            }
        }

        var after = await pool.ListAsync(cancellationToken);
        var report = new PoolReport(size, after.Count(m => m.Status == PoolStatus.Ready), after.Count(m => m.Status == PoolStatus.Warming),
            added, drained, failed + errors.Count(e => e.StartsWith("warming", StringComparison.Ordinal)), destroyed, errors);
        if (added + drained + failed + destroyed + errors.Count > 0)
        {
            LogPass(logger, report.Size, report.Ready, report.Warming, added, drained, destroyed, errors.Count);
        }

        return report;
    }

    private bool IsDue(PoolMember member, PoolOptions settings) =>
        member.CheckedAt is not { } checkedAt || clock.GetUtcNow() - checkedAt >= TimeSpan.FromSeconds(settings.HealthCheckSeconds);

    /// <summary>Warms a member as far as it gets. Null when it is ready (or was drained meanwhile); else what went wrong.</summary>
    private async Task<string?> WarmAsync(PoolMember member, CancellationToken cancellationToken)
    {
        var plan = PlanCatalog.Get(member.Plan);
        try
        {
            var databaseUrl = member.DatabaseUrlEncrypted;
            if (member.DatabaseId is null || databaseUrl is null)
            {
                var database = await databases.CreateAsync(new DatabaseRequest(member.Id, plan.Name, member.InstallationId), cancellationToken);
                databaseUrl = secretBox.Seal(database.ConnectionString, member.Id, SealedColumns.DatabaseUrl);
                await pool.RecordDatabaseAsync(member.Id, database.ResourceId, databaseUrl, cancellationToken);
            }

            var (serviceId, accessUrl) = (member.ServiceId, member.AccessUrl);
            if (serviceId is null || accessUrl is null)
            {
                var variables = CreateServiceActivity.VariablesFor(secretBox.Open(databaseUrl, member.Id, SealedColumns.DatabaseUrl), llm.Value, app.Value);
                var service = await compute.CreateServiceAsync(new ServiceRequest(member.Id, plan, variables, null, member.InstallationId), cancellationToken);
                (serviceId, accessUrl) = (service.ServiceId, service.AccessUrl);
                await pool.RecordServiceAsync(member.Id, serviceId, accessUrl, cancellationToken);
            }

            var deploymentId = member.DeploymentId;
            if (deploymentId is null)
            {
                deploymentId = await compute.DeployAsync(serviceId, cancellationToken);
                await pool.RecordDeploymentAsync(member.Id, deploymentId, cancellationToken);
            }

            // As the saga waits: watched at its address where the provider counts calls, and the provider asked after.
            var deadline = clock.GetUtcNow() + provisioning.Value.DeploymentTimeout;
            while (true)
            {
                var state = compute.DeploymentWatchWindow > TimeSpan.Zero && await watch.AnswersAsync(accessUrl, compute.DeploymentWatchWindow, cancellationToken)
                    ? new DeploymentState(DeploymentPhase.Succeeded)
                    : await compute.GetDeploymentAsync(serviceId, deploymentId, cancellationToken);
                if (state.Phase == DeploymentPhase.Succeeded)
                {
                    break;
                }

                if (state.Phase == DeploymentPhase.Failed || clock.GetUtcNow() > deadline)
                {
                    return await FailAsync(member, $"deployment {deploymentId}: {state.Reason ?? "did not finish in time"}", cancellationToken);
                }

                await Task.Delay(TimeSpan.FromMilliseconds(500), clock, cancellationToken);
            }

            if (await UnhealthyBecauseAsync(member with { AccessUrl = accessUrl }, provisioning.Value.HealthCheckTimeout, cancellationToken) is { } problem)
            {
                return await FailAsync(member, $"health check: {problem}", cancellationToken);
            }

            if (await pool.MarkReadyAsync(member.Id, cancellationToken))
            {
                LogReady(logger, member.Id, (clock.GetUtcNow() - member.CreatedAt).TotalSeconds);
            }

            return null;
        }
        catch (PermanentProvisioningException e)
        {
            return await FailAsync(member, e.Message, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A provider hiccup: the member stays warming, and the next pass goes on from what is recorded.
            LogWarmingInterrupted(logger, member.Id, e.Message);
            return $"warming {member.Id} was interrupted (continued next pass): {e.Message}";
        }
    }

    private async Task<string> FailAsync(PoolMember member, string reason, CancellationToken cancellationToken)
    {
        await pool.MarkFailedAsync(member.Id, reason, cancellationToken);
        LogWarmingFailed(logger, member.Id, reason);
        return $"warming {member.Id} failed (it is destroyed and replaced): {reason}";
    }

    /// <summary>Null when <c>/health</c> answers 200 and names no workspace (the member belongs to nobody); else why not.</summary>
    private async Task<string?> UnhealthyBecauseAsync(PoolMember member, TimeSpan within, CancellationToken cancellationToken)
    {
        if (member.AccessUrl is null)
        {
            return "no access URL recorded";
        }

        var client = httpClients.CreateClient(HealthCheckActivity.HttpClientName);
        var deadline = clock.GetUtcNow() + within;
        var problem = "no answer yet";
        do
        {
            try
            {
                using var response = await client.GetAsync(new Uri(new Uri(member.AccessUrl), "/health"), cancellationToken);
                if (!response.IsSuccessStatusCode)
                {
                    problem = $"HTTP {(int)response.StatusCode}";
                }
                else if ((await response.Content.ReadFromJsonAsync<Health>(cancellationToken))?.WorkspaceId is { } workspace)
                {
                    return $"it already names workspace {workspace}";
                }
                else
                {
                    return null;
                }
            }
            catch (HttpRequestException e)
            {
                problem = e.Message;
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                problem = "the request timed out";
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), clock, cancellationToken);
        }
        while (clock.GetUtcNow() < deadline);
        return problem;
    }

    /// <summary>Deletes a failed or drained member's service and database by their recorded ids (or its names), then its row.</summary>
    private async Task DestroyAsync(PoolMember member, CancellationToken cancellationToken)
    {
        await compute.DeleteServiceAsync(new ResourceRef(member.Id, member.ServiceId), cancellationToken);
        await databases.DeleteAsync(new ResourceRef(member.Id, member.DatabaseId), cancellationToken);
        await pool.RemoveAsync(member.Id, cancellationToken);
        LogDestroyed(logger, member.Id, member.Status);
    }

    private static async Task<bool> TryLockAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("select pg_try_advisory_lock(@key)", connection);
        command.Parameters.AddWithValue("key", LockKey);
        return await command.ExecuteScalarAsync(cancellationToken) is true;
    }

    private sealed record Health(string? Status, string? WorkspaceId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Pool member {MemberId} is ready ({Seconds:0.0} s after it was added)")]
    private static partial void LogReady(ILogger logger, string memberId, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pool member {MemberId} failed to warm and is replaced: {Reason}")]
    private static partial void LogWarmingFailed(ILogger logger, string memberId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Warming pool member {MemberId} was interrupted; the next pass goes on: {Reason}")]
    private static partial void LogWarmingInterrupted(ILogger logger, string memberId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pool member {MemberId} is unhealthy and is replaced: {Problem}")]
    private static partial void LogUnhealthy(ILogger logger, string memberId, string problem);

    [LoggerMessage(Level = LogLevel.Information, Message = "Pool member {MemberId} ({Status}) destroyed")]
    private static partial void LogDestroyed(ILogger logger, string memberId, string status);

    [LoggerMessage(Level = LogLevel.Information, Message = "Pool: size {Size}, {Ready} ready, {Warming} warming; {Added} added, {Drained} drained, {Destroyed} destroyed, {Errors} error(s)")]
    private static partial void LogPass(ILogger logger, int size, int ready, int warming, int added, int drained, int destroyed, int errors);
}

/// <summary>Wakes the reconciler at once (a member was just claimed) instead of at its next interval.</summary>
public sealed class PoolSignal
{
    private readonly SemaphoreSlim signal = new(0, 1);

    public void Nudge()
    {
        try
        {
            signal.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already nudged.
        }
    }

    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => signal.WaitAsync(timeout, cancellationToken);
}

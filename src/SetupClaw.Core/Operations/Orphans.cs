using Npgsql;
using SetupClaw.Data;

namespace SetupClaw.Operations;

public static class OrphanKinds
{
    public const string Database = "database";
    public const string Service = "service";
}

public static class OrphanSources
{
    public const string Compensation = "compensation";
    public const string Deprovision = "deprovision";
    public const string Sweep = "sweep";
}

/// <param name="CustomerId">Whose resource it is: a customer's id, or a pool member's for a pool leftover.</param>
/// <param name="ResourceId">The provider's id of the resource, when known: it is deleted by that id.</param>
public sealed record OrphanReport(string Kind, string CustomerId, string Source, string Reason, string? ResourceId = null);

public sealed record OpenOrphan(long Id, string Kind, string CustomerId, string Source, string Reason, DateTimeOffset FoundAt, int Attempts, string? LastError, string? ResourceId = null);

public sealed record SweepRecord(DateTimeOffset StartedAt, DateTimeOffset FinishedAt, int Found, int Removed, int LeftOpen, int RunsStarted, int Foreign, string? Errors);

/// <summary>The <c>orphans</c> and <c>sweep_runs</c> tables: what was left behind, and what the sweep did about it.</summary>
public sealed class OrphanStore(NpgsqlDataSource db)
{
    /// <summary>Records an orphan once: a second report of the same open one only adds its reason.</summary>
    public async Task<bool> RecordAsync(OrphanReport report, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(report);
        return await Sql.ExecuteAsync(db,
            """
            insert into orphans (kind, customer_id, source, reason, resource_id) values (@kind, @customer, @source, @reason, @resource)
            on conflict (kind, customer_id) where removed_at is null do nothing
            """, cancellationToken, ("kind", report.Kind), ("customer", report.CustomerId), ("source", report.Source), ("reason", report.Reason),
            ("resource", report.ResourceId)) == 1;
    }

    public async Task<IReadOnlyList<OpenOrphan>> ListOpenAsync(CancellationToken cancellationToken)
    {
        await using var command = Sql.Command(db,
            "select id, kind, customer_id, source, reason, found_at, attempts, last_error, resource_id from orphans where removed_at is null order by id");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var list = new List<OpenOrphan>();
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(new OpenOrphan(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
                reader.GetFieldValue<DateTimeOffset>(5), reader.GetInt32(6), reader.IsDBNull(7) ? null : reader.GetString(7), reader.IsDBNull(8) ? null : reader.GetString(8)));
        }

        return list;
    }

    public Task AttemptFailedAsync(long id, string error, CancellationToken cancellationToken) =>
        Sql.ExecuteAsync(db, "update orphans set attempts = attempts + 1, last_attempt_at = now(), last_error = @error where id = @id",
            cancellationToken, ("id", id), ("error", error));

    /// <summary><paramref name="resolution"/>: <c>removed</c>, or <c>owned</c> when a live customer uses the resource again.</summary>
    public Task CloseAsync(long id, string resolution, CancellationToken cancellationToken) =>
        Sql.ExecuteAsync(db, "update orphans set attempts = attempts + 1, last_attempt_at = now(), removed_at = now(), resolution = @resolution where id = @id",
            cancellationToken, ("id", id), ("resolution", resolution));

    public Task RecordSweepAsync(SweepRecord sweep, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sweep);
        return Sql.ExecuteAsync(db,
            "insert into sweep_runs (started_at, finished_at, found, removed, left_open, runs_started, foreign_found, errors) values (@s, @f, @found, @removed, @left, @runs, @foreign, @errors)",
            cancellationToken, ("s", sweep.StartedAt), ("f", sweep.FinishedAt), ("found", sweep.Found), ("removed", sweep.Removed),
            ("left", sweep.LeftOpen), ("runs", sweep.RunsStarted), ("foreign", sweep.Foreign), ("errors", sweep.Errors));
    }

    public async Task<IReadOnlyList<SweepRecord>> RecentSweepsAsync(int count, CancellationToken cancellationToken)
    {
        await using var command = Sql.Command(db,
            "select started_at, finished_at, found, removed, left_open, runs_started, foreign_found, errors from sweep_runs order by id desc limit @count", ("count", count));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var list = new List<SweepRecord>();
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(new SweepRecord(reader.GetFieldValue<DateTimeOffset>(0), reader.GetFieldValue<DateTimeOffset>(1), reader.GetInt32(2),
                reader.GetInt32(3), reader.GetInt32(4), reader.GetInt32(5), reader.GetInt32(6), reader.IsDBNull(7) ? null : reader.GetString(7)));
        }

        return list;
    }
}

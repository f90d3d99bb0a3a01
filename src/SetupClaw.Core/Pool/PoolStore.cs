using Npgsql;
using SetupClaw.Credentials;
using SetupClaw.Data;

namespace SetupClaw.Pool;

public static class PoolStatus
{
    public const string Warming = "warming";
    public const string Ready = "ready";
    public const string Claimed = "claimed";
    public const string Failed = "failed";
    public const string Draining = "draining";
}

/// <summary>A pool member as recorded. Its database URL is sealed under the member's own id until a customer claims it.</summary>
public sealed record PoolMember(
    string Id, string Status, string Plan, string InstallationId, string? DatabaseId, string? DatabaseUrlEncrypted, string? ServiceId,
    string? AccessUrl, string? DeploymentId, string? ClaimedBy, string? Error, DateTimeOffset CreatedAt, DateTimeOffset? ReadyAt, DateTimeOffset? CheckedAt);

/// <summary>What a claim handed to the customer.</summary>
public sealed record PoolClaim(string MemberId, string Plan, string DatabaseId, string ServiceId, string AccessUrl);

/// <summary>The <c>pool_members</c> table. Claiming is one transaction: two customers never get one member.</summary>
public sealed class PoolStore(NpgsqlDataSource db, SecretBox secretBox)
{
    private const string Columns =
        "id, status, plan, installation_id, database_id, database_url_encrypted, service_id, access_url, deployment_id, claimed_by, error, created_at, ready_at, checked_at";

    public Task AddAsync(string id, string plan, string installationId, CancellationToken cancellationToken) =>
        Sql.ExecuteAsync(db, "insert into pool_members (id, status, plan, installation_id) values (@id, 'warming', @plan, @installation)",
            cancellationToken, ("id", id), ("plan", plan), ("installation", installationId));

    public async Task<IReadOnlyList<PoolMember>> ListAsync(CancellationToken cancellationToken) =>
        await QueryAsync($"select {Columns} from pool_members where status <> 'claimed' order by created_at", cancellationToken);

    public async Task<PoolMember?> GetAsync(string id, CancellationToken cancellationToken) =>
        (await QueryAsync($"select {Columns} from pool_members where id = @id", cancellationToken, ("id", id))).SingleOrDefault();

    public async Task<(int Ready, int Warming, int Failed, int Draining)> CountsAsync(CancellationToken cancellationToken)
    {
        var members = await ListAsync(cancellationToken);
        return (members.Count(m => m.Status == PoolStatus.Ready), members.Count(m => m.Status == PoolStatus.Warming),
            members.Count(m => m.Status == PoolStatus.Failed), members.Count(m => m.Status == PoolStatus.Draining));
    }

    public Task RecordDatabaseAsync(string id, string databaseId, string databaseUrlEncrypted, CancellationToken cancellationToken) =>
        Update("database_id = @a, database_url_encrypted = @b", id, cancellationToken, databaseId, databaseUrlEncrypted);

    public Task RecordServiceAsync(string id, string serviceId, string accessUrl, CancellationToken cancellationToken) =>
        Update("service_id = @a, access_url = @b", id, cancellationToken, serviceId, accessUrl);

    public Task RecordDeploymentAsync(string id, string deploymentId, CancellationToken cancellationToken) =>
        Update("deployment_id = @a", id, cancellationToken, deploymentId, null);

    /// <summary>Warming → ready; false when it is no longer warming (drained meanwhile).</summary>
    public async Task<bool> MarkReadyAsync(string id, CancellationToken cancellationToken) =>
        await Sql.ExecuteAsync(db, "update pool_members set status = 'ready', ready_at = now(), checked_at = now(), error = null, updated_at = now() where id = @id and status = 'warming'",
            cancellationToken, ("id", id)) == 1;

    public Task MarkCheckedAsync(string id, CancellationToken cancellationToken) =>
        Sql.ExecuteAsync(db, "update pool_members set checked_at = now() where id = @id", cancellationToken, ("id", id));

    /// <summary>A member that failed to warm or a health check: it is destroyed and replaced. Never a claimed one.</summary>
    public async Task<bool> MarkFailedAsync(string id, string error, CancellationToken cancellationToken) =>
        await Sql.ExecuteAsync(db, "update pool_members set status = 'failed', error = @error, updated_at = now() where id = @id and status in ('warming', 'ready')",
            cancellationToken, ("id", id), ("error", error.Length > 2000 ? error[..2000] : error)) == 1;

    /// <summary>Surplus members when <c>Pool:Size</c> went down: the ones not yet ready go first. Returns how many.</summary>
    public async Task<int> DrainAsync(int count, CancellationToken cancellationToken) =>
        count <= 0 ? 0 : await Sql.ExecuteAsync(db,
            """
            update pool_members set status = 'draining', updated_at = now() where id in (
                select id from pool_members where status in ('warming', 'ready')
                order by (status = 'ready'), created_at desc limit @count for update skip locked)
            """, cancellationToken, ("count", count));

    /// <summary>Removes a failed or draining member's row, once its resources are deleted.</summary>
    public Task RemoveAsync(string id, CancellationToken cancellationToken) =>
        Sql.ExecuteAsync(db, "delete from pool_members where id = @id and status in ('failed', 'draining')", cancellationToken, ("id", id));

    /// <summary>
    /// Gives the oldest usable ready member to the customer, in one transaction: the member is marked claimed by it (and
    /// by this operation), and the customer's row gets the member's database (its URL sealed again for the customer),
    /// service and access URL. The customer's row is locked first, so copies of one claim run one after another; a
    /// retried claim of the same operation returns the member it already has, even when <paramref name="takeNew"/> is
    /// false (the pool was turned off meanwhile). A ready member that cannot be given (its URL no longer opens, a field
    /// is missing) is marked failed, for the reconciler to destroy, and the next is tried. Null: none is ready.
    /// </summary>
    public async Task<PoolClaim?> ClaimAsync(string customerId, string operationId, bool takeNew, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await ExecuteAsync(connection, transaction, "select 1 from customers where id = @customer for update", cancellationToken, ("customer", customerId));
        var member = await OneAsync(connection, transaction, $"select {Columns} from pool_members where claimed_by = @customer and claimed_operation = @operation",
            cancellationToken, ("customer", customerId), ("operation", operationId));
        if (member is not null)
        {
            await transaction.CommitAsync(cancellationToken);
            return new PoolClaim(member.Id, member.Plan, member.DatabaseId!, member.ServiceId!, member.AccessUrl!);
        }

        if (!takeNew)
        {
            return null;
        }

        for (var tries = 0; tries < 5; tries++)
        {
            member = await OneAsync(connection, transaction,
                $"select {Columns} from pool_members where status = 'ready' order by ready_at limit 1 for update skip locked", cancellationToken);
            if (member is null)
            {
                await transaction.CommitAsync(cancellationToken);
                return null;
            }

            string? databaseUrl = null;
            try
            {
                if (member is { DatabaseId: not null, DatabaseUrlEncrypted: not null, ServiceId: not null, AccessUrl: not null })
                {
                    databaseUrl = secretBox.Seal(secretBox.Open(member.DatabaseUrlEncrypted, member.Id, SealedColumns.DatabaseUrl), customerId, SealedColumns.DatabaseUrl);
                }
            }
            catch (System.Security.Cryptography.CryptographicException)
            {
                // Sealed under a key that is no longer configured.
            }

            if (databaseUrl is null)
            {
                await ExecuteAsync(connection, transaction, "update pool_members set status = 'failed', error = @error, updated_at = now() where id = @id",
                    cancellationToken, ("id", member.Id), ("error", "could not be given: its record is incomplete or its database URL no longer opens"));
                continue;
            }

            // An earlier operation's claim (its provisioning failed and destroyed the instance, or its undo failed and
            // the sweep will find the resources): only history once this customer holds a new one.
            await ExecuteAsync(connection, transaction, "delete from pool_members where claimed_by = @customer", cancellationToken, ("customer", customerId));
            await ExecuteAsync(connection, transaction,
                "update pool_members set status = 'claimed', claimed_by = @customer, claimed_operation = @operation, claimed_at = now(), database_url_encrypted = null, updated_at = now() where id = @id",
                cancellationToken, ("id", member.Id), ("customer", customerId), ("operation", operationId));
            if (await ExecuteAsync(connection, transaction,
                """
                update customers set database_branch_id = @database, database_url_encrypted = @url, railway_service_id = @service, instance_id = @service,
                    access_url = @access, updated_at = now()
                where id = @customer
                """, cancellationToken, ("customer", customerId), ("database", member.DatabaseId), ("url", databaseUrl), ("service", member.ServiceId),
                ("access", member.AccessUrl)) != 1)
            {
                throw new InvalidOperationException($"Customer {customerId} does not exist; pool member {member.Id} stays in the pool.");
            }

            await transaction.CommitAsync(cancellationToken);
            return new PoolClaim(member.Id, member.Plan, member.DatabaseId!, member.ServiceId!, member.AccessUrl!);
        }

        await transaction.CommitAsync(cancellationToken);
        return null;
    }

    /// <summary>A claim given up (its member failed the warm path and was destroyed): its row is history, and goes.</summary>
    public Task AbandonAsync(string customerId, string operationId, CancellationToken cancellationToken) =>
        Sql.ExecuteAsync(db, "delete from pool_members where claimed_by = @customer and claimed_operation = @operation", cancellationToken,
            ("customer", customerId), ("operation", operationId));

    /// <summary>The customer whose row records this provider resource (database or service), if any.</summary>
    public Task<string?> CustomerRecordingAsync(string resourceId, CancellationToken cancellationToken) =>
        Sql.ScalarAsync<string>(db, "select id from customers where database_branch_id = @id or railway_service_id = @id limit 1", cancellationToken, ("id", resourceId));

    /// <summary>The member a customer claimed, if any (for the sweep: its resources are the customer's).</summary>
    public async Task<string?> ClaimedByAsync(string memberId, CancellationToken cancellationToken) =>
        (await GetAsync(memberId, cancellationToken)) is { Status: PoolStatus.Claimed, ClaimedBy: { } customer } ? customer : null;

    private Task<int> Update(string set, string id, CancellationToken cancellationToken, string? a, string? b) =>
        Sql.ExecuteAsync(db, $"update pool_members set {set}, updated_at = now() where id = @id", cancellationToken, ("id", id), ("a", a), ("b", b));

    private async Task<IReadOnlyList<PoolMember>> QueryAsync(string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var command = Sql.Command(db, sql, parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var list = new List<PoolMember>();
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(Read(reader));
        }

        return list;
    }

    private static async Task<int> ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        Sql.Add(command, parameters);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<PoolMember?> OneAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        Sql.Add(command, parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    private static PoolMember Read(NpgsqlDataReader reader)
    {
        string? Text(int i) => reader.IsDBNull(i) ? null : reader.GetString(i);
        DateTimeOffset? Time(int i) => reader.IsDBNull(i) ? null : reader.GetFieldValue<DateTimeOffset>(i);
        return new PoolMember(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), Text(4), Text(5), Text(6), Text(7),
            Text(8), Text(9), Text(10), reader.GetFieldValue<DateTimeOffset>(11), Time(12), Time(13));
    }
}

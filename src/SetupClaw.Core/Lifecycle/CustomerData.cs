using System.Globalization;
using System.IO.Compression;
using System.Text;
using Npgsql;
using SetupClaw.Provisioning;

namespace SetupClaw.Lifecycle;

/// <summary>What the control plane writes to or reads from a customer's own database, outside the seed step.</summary>
public interface ICustomerData
{
    /// <summary>Sets (with the time it began) or clears the suspension mark the runtime reads before every chat.</summary>
    Task SetSuspendedAsync(string connectionString, DateTimeOffset? since, CancellationToken cancellationToken);

    /// <summary>Offers a plan's skills: new ones start enabled, a skill the customer turned off stays off.</summary>
    Task GrantSkillsAsync(string connectionString, IReadOnlyList<string> skills, CancellationToken cancellationToken);

    /// <summary>Writes (replaces) who the assistant is and what its plan allows: the runtime reads it on every request.</summary>
    Task WriteIdentityAsync(string connectionString, AssistantIdentity identity, CancellationToken cancellationToken);

    /// <summary>Everything the customer's assistant holds, as gzip-compressed JSON, with the row counts.</summary>
    Task<CustomerExport> ExportAsync(string connectionString, CancellationToken cancellationToken);
}

public sealed record CustomerExport(byte[] Content, string Counts);

internal sealed class PostgresCustomerData : ICustomerData
{
    public const string SuspendedKey = "billing.suspended_since";

    // Every table of the runtime's schema that holds the customer's data, with its columns (memories' search
    // vector is derived, so it is left out).
    private const string ExportSql =
        """
        select json_build_object(
            'format', 'setupclaw-archive/1',
            'workspace_files', (select coalesce(json_agg(f order by f.name), '[]') from (select name, content, edited, updated_at from workspace_files) f),
            'memories', (select coalesce(json_agg(m order by m.id), '[]') from (select id, content, metadata, created_at from memories) m),
            'conversations', (select coalesce(json_agg(c order by c.created_at), '[]') from conversations c),
            'messages', (select coalesce(json_agg(x order by x.id), '[]') from (select id, conversation_id, role, content, input_tokens, output_tokens, created_at from messages) x),
            'skills', (select coalesce(json_agg(s order by s.name), '[]') from skills s),
            'settings', (select coalesce(json_agg(w order by w.key), '[]') from workspace_settings w),
            'usage_monthly', (select coalesce(json_agg(u order by u.month), '[]') from usage_monthly u)
        )::text,
        json_build_object(
            'workspace_files', (select count(*) from workspace_files), 'memories', (select count(*) from memories),
            'conversations', (select count(*) from conversations), 'messages', (select count(*) from messages)
        )::text
        """;

    public async Task SetSuspendedAsync(string connectionString, DateTimeOffset? since, CancellationToken cancellationToken)
    {
        await using var connection = await OpenWithSchemaAsync(connectionString, cancellationToken);
        await using var command = since is { } at
            ? new NpgsqlCommand("insert into workspace_settings (key, value) values ($1, $2) on conflict (key) do update set value = excluded.value", connection)
            {
                Parameters = { new() { Value = SuspendedKey }, new() { Value = at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture) } },
            }
            : new NpgsqlCommand("delete from workspace_settings where key = $1", connection) { Parameters = { new() { Value = SuspendedKey } } };
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task GrantSkillsAsync(string connectionString, IReadOnlyList<string> skills, CancellationToken cancellationToken)
    {
        await using var connection = await OpenWithSchemaAsync(connectionString, cancellationToken);
        await using var command = new NpgsqlCommand("insert into skills (name) select unnest($1::text[]) on conflict (name) do nothing", connection)
        {
            Parameters = { new() { Value = skills.ToArray() } },
        };
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task WriteIdentityAsync(string connectionString, AssistantIdentity identity, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(identity);
        await using var connection = await OpenWithSchemaAsync(connectionString, cancellationToken);
        await using var command = new NpgsqlCommand(
            """
            insert into runtime_identity (customer_id, workspace_id, api_key_hash, gateway_token, plan_name, message_limit, monthly_tokens, max_agents, features, skills)
            values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
            on conflict (singleton) do update set customer_id = excluded.customer_id, workspace_id = excluded.workspace_id,
                api_key_hash = excluded.api_key_hash, gateway_token = excluded.gateway_token, plan_name = excluded.plan_name,
                message_limit = excluded.message_limit, monthly_tokens = excluded.monthly_tokens, max_agents = excluded.max_agents,
                features = excluded.features, skills = excluded.skills, updated_at = now()
            """, connection)
        {
            Parameters =
            {
                new() { Value = identity.CustomerId }, new() { Value = identity.WorkspaceId }, new() { Value = identity.ApiKeyHash },
                new() { Value = (object?)identity.GatewayToken ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text },
                new() { Value = identity.PlanName }, new() { Value = identity.MessageLimit }, new() { Value = identity.MonthlyTokens },
                new() { Value = identity.MaxAgents }, new() { Value = identity.Features.ToArray() }, new() { Value = identity.Skills.ToArray() },
            },
        };
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<CustomerExport> ExportAsync(string connectionString, CancellationToken cancellationToken)
    {
        await using var connection = await OpenWithSchemaAsync(connectionString, cancellationToken);
        await using var command = new NpgsqlCommand(ExportSql, connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var json = reader.GetString(0);
        var counts = reader.GetString(1);
        using var buffer = new MemoryStream();
        await using (var gzip = new GZipStream(buffer, CompressionLevel.Optimal, leaveOpen: true))
        {
            await gzip.WriteAsync(Encoding.UTF8.GetBytes(json), cancellationToken);
        }

        return new CustomerExport(buffer.ToArray(), counts);
    }

    /// <summary>An assistant provisioned before a schema change still gets every table the control plane touches.</summary>
    internal static async Task<NpgsqlConnection> OpenWithSchemaAsync(string connectionString, CancellationToken cancellationToken)
    {
        var connection = new NpgsqlConnection(connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await using (var schema = new NpgsqlCommand(WorkspaceSeeder.RuntimeSchemaSql, connection, transaction))
            {
                await schema.ExecuteNonQueryAsync(cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }
}

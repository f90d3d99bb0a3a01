using Npgsql;

namespace SetupClaw.Dashboard;

/// <summary>This month's usage and the limit the runtime enforces, and the skills' switches, as the customer's own database holds them.</summary>
public sealed record AssistantFacts(int MessagesUsed, int MessageLimit, DateOnly Month, IReadOnlyDictionary<string, bool> Skills);

/// <summary>What the dashboard reads from and writes to a customer's own database: the rows the runtime itself reads.</summary>
public sealed class AssistantDatabase(TimeProvider clock)
{
    /// <summary>The runtime's month: the first day of the current UTC month.</summary>
    public DateOnly CurrentMonth
    {
        get
        {
            var now = clock.GetUtcNow();
            return new DateOnly(now.Year, now.Month, 1);
        }
    }

    public async Task<AssistantFacts> ReadAsync(string connectionString, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        var month = CurrentMonth;
        int used, limit;
        await using (var usage = new NpgsqlCommand(
            "select coalesce((select messages from usage_monthly where month = $1), 0), coalesce((select message_limit from runtime_identity limit 1), 0)", connection))
        {
            usage.Parameters.Add(new NpgsqlParameter { Value = month });
            await using var reader = await usage.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            used = reader.GetInt32(0);
            limit = reader.GetInt32(1);
        }

        var skills = new Dictionary<string, bool>(StringComparer.Ordinal);
        await using (var list = new NpgsqlCommand("select name, enabled from skills", connection))
        await using (var reader = await list.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                skills[reader.GetString(0)] = reader.GetBoolean(1);
            }
        }

        return new AssistantFacts(used, limit, month, skills);
    }

    /// <summary>The runtime's own switch (its <c>skills</c> row), so the change holds at its next request.</summary>
    public async Task SetSkillAsync(string connectionString, string skill, bool enabled, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            "insert into skills (name, enabled) values ($1, $2) on conflict (name) do update set enabled = excluded.enabled", connection)
        {
            Parameters = { new() { Value = skill }, new() { Value = enabled } },
        };
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}

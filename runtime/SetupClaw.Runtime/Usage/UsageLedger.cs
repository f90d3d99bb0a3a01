using Npgsql;

namespace SetupClaw.Runtime.Usage;

public sealed record MonthUsage(DateOnly Month, int Messages, long InputTokens, long OutputTokens);

/// <summary>
/// The plan's monthly message allowance and what was used. A chat reserves its message before the model is called
/// (one conditional upsert, so concurrent chats never pass the limit) and gives it back if the call fails; tokens are
/// recorded per day once the reply is stored.
/// </summary>
public sealed class UsageLedger(NpgsqlDataSource db, RuntimeIdentity identity, TimeProvider clock)
{
    public int Limit => identity.MessageLimit;

    public DateOnly CurrentMonth
    {
        get
        {
            var now = clock.GetUtcNow();
            return new DateOnly(now.Year, now.Month, 1);
        }
    }

    /// <summary>Reserves one message of <paramref name="month"/>'s allowance: the count used including it, or null when none is left.</summary>
    public async Task<int?> TryReserveAsync(DateOnly month, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("""
            insert into usage_monthly (month, messages) select $1, 1 where $2 > 0
            on conflict (month) do update set messages = usage_monthly.messages + 1 where usage_monthly.messages < $2
            returning messages
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = month });
        command.Parameters.Add(new NpgsqlParameter { Value = Limit });
        return await command.ExecuteScalarAsync(cancellationToken) is int used ? used : null;
    }

    public async Task ReleaseAsync(DateOnly month)
    {
        await using var command = db.CreateCommand("update usage_monthly set messages = greatest(messages - 1, 0) where month = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = month });
        await command.ExecuteNonQueryAsync(CancellationToken.None);
    }

    public async Task<MonthUsage> ThisMonthAsync(CancellationToken cancellationToken)
    {
        var month = CurrentMonth;
        await using var command = db.CreateCommand("""
            select coalesce((select messages from usage_monthly where month = $1), 0),
                   coalesce(sum(input_tokens), 0)::bigint, coalesce(sum(output_tokens), 0)::bigint
            from usage_daily where day >= $1 and day < $2
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = month });
        command.Parameters.Add(new NpgsqlParameter { Value = month.AddMonths(1) });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new MonthUsage(month, reader.GetInt32(0), reader.GetInt64(1), reader.GetInt64(2));
    }

    /// <summary>The daily record of a completed chat, written in the transaction that stores its turns.</summary>
    public NpgsqlBatchCommand RecordDay(long inputTokens, long outputTokens)
    {
        var command = new NpgsqlBatchCommand("""
            insert into usage_daily (day, messages, input_tokens, output_tokens) values ($1, 1, $2, $3)
            on conflict (day) do update set messages = usage_daily.messages + 1,
                input_tokens = usage_daily.input_tokens + excluded.input_tokens,
                output_tokens = usage_daily.output_tokens + excluded.output_tokens
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime) });
        command.Parameters.Add(new NpgsqlParameter { Value = inputTokens });
        command.Parameters.Add(new NpgsqlParameter { Value = outputTokens });
        return command;
    }
}

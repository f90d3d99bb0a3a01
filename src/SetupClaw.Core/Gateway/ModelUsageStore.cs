using Npgsql;
using SetupClaw.Data;

namespace SetupClaw.Gateway;

/// <summary>Tokens a customer's assistant spent through the gateway, per calendar month (UTC).</summary>
public sealed record ModelUsage(long InputTokens, long OutputTokens, int Requests)
{
    public long Total => InputTokens + OutputTokens;
}

public sealed class ModelUsageStore(NpgsqlDataSource db)
{
    /// <summary>The first day (UTC) of the month <paramref name="at"/> is in: the period budgets count.</summary>
    public static DateOnly PeriodOf(DateTimeOffset at) => new(at.UtcDateTime.Year, at.UtcDateTime.Month, 1);

    public async Task<ModelUsage> GetAsync(string customerId, DateOnly period, CancellationToken cancellationToken)
    {
        await using var command = Sql.Command(db, "select input_tokens, output_tokens, requests from model_usage where customer_id = @id and period = @period",
            ("id", customerId), ("period", period));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? new ModelUsage(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt32(2)) : new ModelUsage(0, 0, 0);
    }

    public Task AddAsync(string customerId, DateOnly period, long inputTokens, long outputTokens, CancellationToken cancellationToken) =>
        Sql.ExecuteAsync(db,
            """
            insert into model_usage (customer_id, period, input_tokens, output_tokens, requests) values (@id, @period, @input, @output, 1)
            on conflict (customer_id, period) do update set input_tokens = model_usage.input_tokens + excluded.input_tokens,
                output_tokens = model_usage.output_tokens + excluded.output_tokens, requests = model_usage.requests + 1, updated_at = now()
            """, cancellationToken, ("id", customerId), ("period", period), ("input", inputTokens), ("output", outputTokens));
}

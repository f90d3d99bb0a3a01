using Npgsql;

namespace SetupClaw.Runtime;

/// <summary>
/// Who this assistant belongs to and what its plan allows, as the control plane last wrote it into the assistant's
/// own database (<c>runtime_identity</c>). Read on every request, so a rotated key is refused at once and a plan
/// change or a claim by a new customer needs no redeploy. <see cref="ToString"/> hides the gateway token.
/// </summary>
public sealed record RuntimeIdentity(
    string CustomerId,
    string WorkspaceId,
    string ApiKeyHash,
    string? GatewayToken,
    string PlanName,
    int MessageLimit,
    long? MonthlyTokens,
    string MaxAgents,
    IReadOnlyList<string> Features,
    IReadOnlyList<string> Skills)
{
    private const string Query = """
        select customer_id, workspace_id, api_key_hash, gateway_token, plan_name, message_limit, monthly_tokens, max_agents, features, skills
        from runtime_identity
        """;

    /// <summary>The identity in the database, or null while no customer has been given this assistant.</summary>
    public static async Task<RuntimeIdentity?> ReadAsync(NpgsqlDataSource db, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand(Query);
        command.CommandTimeout = 5;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        return new RuntimeIdentity(
            reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3),
            reader.GetString(4), reader.GetInt32(5), reader.IsDBNull(6) ? null : reader.GetInt64(6), reader.GetString(7),
            reader.GetFieldValue<string[]>(8), reader.GetFieldValue<string[]>(9));
    }

    /// <summary>What <c>/health</c> names: the workspace and plan, or nulls while no customer has been given this assistant.</summary>
    public static async Task<(string? WorkspaceId, string? PlanName)> ReadNamesAsync(NpgsqlDataSource db, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("select workspace_id, plan_name from runtime_identity");
        command.CommandTimeout = 3;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? (reader.GetString(0), reader.GetString(1)) : (null, null);
    }

    /// <summary>The identity the authentication step attached to this request.</summary>
    public static RuntimeIdentity Of(HttpContext context) =>
        context.Features.Get<RuntimeIdentity>() ?? throw new InvalidOperationException("The request has no identity: it did not pass the API key check.");

    public override string ToString() =>
        $"RuntimeIdentity {{ CustomerId = {CustomerId}, WorkspaceId = {WorkspaceId}, PlanName = {PlanName}, GatewayToken = {(GatewayToken is null ? "(none)" : "(set)")} }}";
}

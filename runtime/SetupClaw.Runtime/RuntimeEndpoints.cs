using Npgsql;

namespace SetupClaw.Runtime;

public static class RuntimeEndpoints
{
    public static void MapRuntimeEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/health", async (RuntimeSettings settings, NpgsqlDataSource db, CancellationToken cancellationToken) =>
        {
            try
            {
                await using var command = db.CreateCommand("select 1");
                await command.ExecuteScalarAsync(cancellationToken);
                return Results.Ok(new Health("healthy", settings.WorkspaceId, "connected"));
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException)
            {
                return Results.Json(new Health("unhealthy", settings.WorkspaceId, "unreachable"), statusCode: 503);
            }
        });

        app.MapGet("/status", (RuntimeSettings settings) => Results.Ok(new
        {
            workspaceId = settings.WorkspaceId,
            plan = new { name = settings.PlanName, limits = new { messagesPerMonth = settings.MessageLimit, maxAgents = settings.MaxAgents } },
            features = settings.Features,
        }));
    }

    public sealed record Health(string Status, string WorkspaceId, string Database);
}

public static class RuntimeSchema
{
    /// <summary>The runtime owns its schema: applied at every start (idempotent), as the seed step also does.</summary>
    public static async Task ApplyAsync(NpgsqlDataSource db, CancellationToken cancellationToken)
    {
        var assembly = typeof(RuntimeSchema).Assembly;
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith("schema/", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            await using var stream = assembly.GetManifestResourceStream(name)!;
            using var reader = new StreamReader(stream);
            await using var command = db.CreateCommand(await reader.ReadToEndAsync(cancellationToken));
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }
}

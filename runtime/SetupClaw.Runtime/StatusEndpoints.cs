using Npgsql;
using SetupClaw.Runtime.Chat;
using SetupClaw.Runtime.Skills;
using SetupClaw.Runtime.Usage;

namespace SetupClaw.Runtime;

public static class StatusEndpoints
{
    public static void MapStatusEndpoints(this IEndpointRouteBuilder app)
    {
        // No auth, no model call: what a load balancer or Railway's health check asks. A missing model keeps it 200
        // (the assistant is up; chat says what to configure), an unreachable database makes it 503.
        app.MapGet("/health", async (RuntimeSettings settings, NpgsqlDataSource db, ModelGateway model, CancellationToken cancellationToken) =>
        {
            try
            {
                await using var command = db.CreateCommand("select 1");
                command.CommandTimeout = 3;
                await command.ExecuteScalarAsync(cancellationToken);
                return Results.Ok(new Health("healthy", settings.WorkspaceId, "connected", model.Provider, settings.PlanName));
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException)
            {
                return Results.Json(new Health("unhealthy", settings.WorkspaceId, "unreachable", model.Provider, settings.PlanName), statusCode: 503);
            }
        });

        app.MapGet("/status", async (RuntimeSettings settings, UsageLedger usage, SkillStore skills, ModelGateway model, CancellationToken cancellationToken) =>
        {
            var month = await usage.ThisMonthAsync(cancellationToken);
            var skillStates = await skills.ListAsync(cancellationToken);
            return Results.Ok(new
            {
                workspaceId = settings.WorkspaceId,
                plan = new { name = settings.PlanName, limits = new { messagesPerMonth = settings.MessageLimit, maxAgents = settings.MaxAgents } },
                usage = new
                {
                    month = month.Month.ToString("yyyy-MM", System.Globalization.CultureInfo.InvariantCulture),
                    messagesUsed = month.Messages,
                    messagesRemaining = Math.Max(0, settings.MessageLimit - month.Messages),
                    percentUsed = settings.MessageLimit == 0 ? 100 : Math.Round(100.0 * month.Messages / settings.MessageLimit, 1),
                    inputTokens = month.InputTokens,
                    outputTokens = month.OutputTokens,
                },
                features = settings.Features,
                skills = new
                {
                    available = skillStates.Where(s => s.Available).Select(s => s.Skill.Name),
                    enabled = skillStates.Where(s => s.Enabled).Select(s => s.Skill.Name),
                },
                model = new { provider = model.Provider, name = model.ConfigurationProblem is null ? model.Model : null, problem = model.ConfigurationProblem },
            });
        });
    }

    public sealed record Health(string Status, string WorkspaceId, string Database, string ModelProvider, string Plan);
}

using Npgsql;
using SetupClaw.Runtime.Chat;
using SetupClaw.Runtime.Http;
using SetupClaw.Runtime.Skills;
using SetupClaw.Runtime.Usage;

namespace SetupClaw.Runtime;

public static class StatusEndpoints
{
    public static void MapStatusEndpoints(this IEndpointRouteBuilder app)
    {
        // No auth, no model call: what a load balancer, Railway's health check and the control plane's health step ask.
        // It names the workspace and plan the database holds (none while no customer has been given this assistant).
        // A missing model keeps it 200 (the assistant is up; chat says what to configure), an unreachable database
        // makes it 503.
        app.MapGet("/health", async Task<IResult> (NpgsqlDataSource db, ModelGateway model, CancellationToken cancellationToken) =>
        {
            try
            {
                var (workspaceId, plan) = await RuntimeIdentity.ReadNamesAsync(db, cancellationToken);
                return Results.Ok(new Health("healthy", workspaceId, "connected", model.Provider, plan));
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException)
            {
                return Results.Json(new Health("unhealthy", null, "unreachable", model.Provider, null), RuntimeJson.Default.Health, statusCode: 503);
            }
        });

        app.MapGet("/status", async Task<IResult> (RuntimeIdentity identity, UsageLedger usage, SkillStore skills, ModelGateway model, CancellationToken cancellationToken) =>
        {
            var month = await usage.ThisMonthAsync(cancellationToken);
            var skillStates = await skills.ListAsync(cancellationToken);
            return Results.Ok(new StatusView(
                identity.WorkspaceId,
                new StatusPlan(identity.PlanName, new StatusLimits(identity.MessageLimit, identity.MaxAgents)),
                new StatusUsage(
                    month.Month.ToString("yyyy-MM", System.Globalization.CultureInfo.InvariantCulture),
                    month.Messages,
                    Math.Max(0, identity.MessageLimit - month.Messages),
                    identity.MessageLimit == 0 ? 100 : Math.Round(100.0 * month.Messages / identity.MessageLimit, 1),
                    month.InputTokens,
                    month.OutputTokens,
                    // The plan's model budget, which the control plane's gateway enforces: this month's tokens against it.
                    month.InputTokens + month.OutputTokens,
                    identity.MonthlyTokens),
                identity.Features,
                new StatusSkills(
                    [.. skillStates.Where(s => s.Available).Select(s => s.Skill.Name)],
                    [.. skillStates.Where(s => s.Enabled).Select(s => s.Skill.Name)]),
                new StatusModel(model.Provider, model.ConfigurationProblem is null ? model.Model : null, model.ConfigurationProblem)));
        });
    }

    public sealed record Health(string Status, string? WorkspaceId, string Database, string ModelProvider, string? Plan);
}

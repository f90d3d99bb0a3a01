using System.Globalization;
using SetupClaw.Runtime.Http;

namespace SetupClaw.Runtime.Skills;

public static class SkillEndpoints
{
    public static void MapSkillEndpoints(this IEndpointRouteBuilder app)
    {
        var skills = app.MapGroup("/api/skills");

        skills.MapGet("/", async Task<IResult> (SkillStore store, CancellationToken cancellationToken) => Results.Ok(new SkillList([.. (await store.ListAsync(cancellationToken)).Select(View)])));

        skills.MapPost("/{name}/enable", (string name, SkillStore store, SkillCatalog catalog, RuntimeIdentity identity, CancellationToken cancellationToken) =>
            SetAsync(name, true, store, catalog, identity, cancellationToken));

        skills.MapPost("/{name}/disable", (string name, SkillStore store, SkillCatalog catalog, RuntimeIdentity identity, CancellationToken cancellationToken) =>
            SetAsync(name, false, store, catalog, identity, cancellationToken));
    }

    private static async Task<IResult> SetAsync(
        string name, bool enabled, SkillStore store, SkillCatalog catalog, RuntimeIdentity identity, CancellationToken cancellationToken)
    {
        if (catalog.Find(name) is not { } skill)
        {
            return Problems.NotFound($"There is no skill '{name}'. GET /api/skills lists them: {string.Join(", ", catalog.All.Select(s => s.Name))}.");
        }

        if (enabled && !store.IsAvailable(skill))
        {
            var plan = CultureInfo.InvariantCulture.TextInfo.ToTitleCase(identity.PlanName);
            return Problems.Of(403, "Skill not in your plan",
                $"The '{skill.Name}' skill is not included in the {plan} plan. Upgrade your plan to enable it.",
                new Dictionary<string, object?> { ["skill"] = skill.Name, ["plan"] = identity.PlanName });
        }

        await store.SetEnabledAsync(skill, enabled, cancellationToken);
        return Results.Ok(View(new SkillState(skill, store.IsAvailable(skill), enabled)));
    }

    private static SkillView View(SkillState state) => new(state.Skill.Name, state.Skill.Description, state.Available, state.Enabled);
}

namespace SetupClaw.Plans;

/// <summary>
/// What a customer buys. Limits and features live in code; prices and Stripe price ids come from configuration.
/// <see cref="MonthlyTokens"/> is the model gateway's monthly budget (input + output tokens), overridable by
/// <c>Plans:{Plan}:MonthlyTokens</c>; the message limit stays beside it. <see cref="SleepWhenIdle"/> (Railway's
/// application sleeping: an idle service stops and wakes on its next request) and <see cref="DatabaseSuspendSeconds"/>
/// (Neon's compute suspend after that many idle seconds; -1 never) are the defaults of <c>Plans:{Plan}:SleepWhenIdle</c>
/// and <c>Plans:{Plan}:DatabaseSuspendSeconds</c>: Starter and Pro rest when idle, Team always answers at once.
/// </summary>
public sealed record Plan(
    string Name,
    string DisplayName,
    int MessagesPerMonth,
    int? MaxAgents,
    IReadOnlyList<string> Features,
    IReadOnlyList<string> Skills,
    double Vcpus,
    int MemoryMb,
    long MonthlyTokens,
    bool SleepWhenIdle = true,
    int DatabaseSuspendSeconds = 300)
{
    public const string Starter = "starter";
    public const string Pro = "pro";
    public const string Team = "team";

    // Skills are folders under runtime/skills; each plan includes the one below it.
    private static readonly string[] StarterSkills = ["daily-briefing", "note-taker", "writing-helper"];
    private static readonly string[] ProSkills = [.. StarterSkills, "email-drafter", "meeting-prep", "research-brief"];

    public static readonly Plan StarterPlan = new(Starter, "Starter", 5_000, 3, ["chat", "memory", "web_search"], StarterSkills, 0.5, 512, 2_000_000);

    public static readonly Plan ProPlan = new(Pro, "Pro", 20_000, 10,
        ["chat", "memory", "web_search", "gmail", "calendar", "browser"], ProSkills, 1, 1024, 10_000_000);

    /// <summary>Team has no agent limit (null), never the prototype's magic -1.</summary>
    public static readonly Plan TeamPlan = new(Team, "Team", 100_000, null,
        ["chat", "memory", "web_search", "gmail", "calendar", "browser", "team_seats", "shared_workspaces"], [.. ProSkills, "team-handoff"], 2, 2048, 50_000_000,
        SleepWhenIdle: false, DatabaseSuspendSeconds: -1);

    public static IReadOnlyList<Plan> All { get; } = [StarterPlan, ProPlan, TeamPlan];

    /// <summary>Whether an instance sized for this plan is sized for <paramref name="other"/> too (compute and memory).</summary>
    public bool SameSize(Plan other) => other is not null && Vcpus.Equals(other.Vcpus) && MemoryMb == other.MemoryMb;
}

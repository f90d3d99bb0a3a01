namespace SetupClaw.Pool;

/// <summary>The warm pool (<c>Pool:*</c>): instances made ready before anyone pays, so a paid customer waits seconds, not a deploy.</summary>
public sealed class PoolOptions
{
    public const string Section = "Pool";

    /// <summary>How many members to keep ready or warming (0: no pool; every customer is provisioned cold).</summary>
    public int Size { get; set; }

    /// <summary>The plan members are created on (its size); a claim applies the customer's own plan.</summary>
    public string Plan { get; set; } = Plans.Plan.Starter;

    /// <summary>How often the local host's reconciler looks (it also wakes as soon as a member is claimed).</summary>
    public double IntervalSeconds { get; set; } = 30;

    /// <summary>The Functions app's reconciler timer (CRON, every minute by default).</summary>
    public string Schedule { get; set; } = "0 */1 * * * *";

    /// <summary>
    /// How often a ready member's health is checked; one that fails is replaced. Each check wakes the member's Neon
    /// compute for 5 minutes (the cost: docs/operations.md), and a claim checks the member again anyway (one that fails
    /// then is destroyed and the customer provisioned cold), so the default is every 30 minutes.
    /// </summary>
    public double HealthCheckSeconds { get; set; } = 1800;

    /// <summary>How many members warm at once (each makes provider calls: Railway counts them per hour).</summary>
    public int MaxWarmingAtOnce { get; set; } = 4;
}

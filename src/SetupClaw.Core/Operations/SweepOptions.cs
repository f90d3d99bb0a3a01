namespace SetupClaw.Operations;

/// <summary><c>Sweep:*</c>: how often the local host sweeps (Azure: the timer's <c>Sweep:Schedule</c> CRON).</summary>
public sealed class SweepOptions
{
    public const string Section = "Sweep";

    /// <summary>Seconds between sweeps in the local host; 0 turns the background sweep off.</summary>
    public int IntervalSeconds { get; set; } = 300;

    /// <summary>How long a claimed lifecycle run may be missing from the durable backend before the sweep starts it again.</summary>
    public int GraceSeconds { get; set; } = 30;

    /// <summary>Claims made before this are old enough to be taken for lost.</summary>
    public DateTimeOffset ClaimedBefore(DateTimeOffset now) => now - TimeSpan.FromSeconds(GraceSeconds);
}

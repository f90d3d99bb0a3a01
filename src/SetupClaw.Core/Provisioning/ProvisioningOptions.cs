namespace SetupClaw.Provisioning;

public sealed class ProvisioningOptions
{
    public const string Section = "Provisioning";

    /// <summary>How long the health check waits for <c>/health</c> to answer 200 with the right workspace.</summary>
    public TimeSpan HealthCheckTimeout { get; set; } = TimeSpan.FromSeconds(90);

    /// <summary>How long a deployment may take before the saga gives up and compensates.</summary>
    public TimeSpan DeploymentTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// The rollback switch: webhooks are still verified, recorded and acknowledged and their facts stored, but no
    /// lifecycle run starts and the sweep deletes nothing (runs in flight finish). A paid customer stays pending and
    /// its status says so. When a host starts with it off, everything that waited starts at once.
    /// </summary>
    public bool Paused { get; set; }

    /// <summary>
    /// How many lifecycle runs start per second at most (0: no limit). A burst of payments is acknowledged at once
    /// and its runs start at this pace, so the webhooks still arriving are not starved of the CPU by sagas starting
    /// together. The default is above what the providers absorb (Railway's per-second limit over a provisioning's
    /// calls), so a burst of cold provisionings finishes no later for it.
    /// </summary>
    public int MaxStartsPerSecond { get; set; } = 20;

    /// <summary>What a waiting customer's status says while <see cref="Paused"/>.</summary>
    public const string PausedNotice =
        "Setup is paused for a short maintenance. Your payment is recorded, and your assistant is set up as soon as it resumes: keep this page open or come back later.";
}

namespace SetupClaw.Provisioning;

public sealed class ProvisioningOptions
{
    public const string Section = "Provisioning";

    /// <summary>How long the health check waits for <c>/health</c> to answer 200 with the right workspace.</summary>
    public TimeSpan HealthCheckTimeout { get; set; } = TimeSpan.FromSeconds(90);

    /// <summary>How long a deployment may take before the saga gives up and compensates.</summary>
    public TimeSpan DeploymentTimeout { get; set; } = TimeSpan.FromMinutes(10);
}

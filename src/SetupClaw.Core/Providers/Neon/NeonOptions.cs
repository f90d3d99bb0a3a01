namespace SetupClaw.Providers.Neon;

/// <summary><c>Providers:Neon</c>: where customer branches are created.</summary>
public sealed class NeonOptions
{
    public const string Section = "Providers:Neon";

    public Uri BaseUrl { get; set; } = new("https://console.neon.tech/api/v2/");

    /// <summary>A Neon API key (personal, organization, or project-scoped).</summary>
    public string? ApiKey { get; set; }

    public string? ProjectId { get; set; }

    /// <summary>
    /// The branch customer branches start from (required): an empty template, with no databases and no roles. A
    /// branch copies its parent's data and roles, so the project's default branch must never be the parent.
    /// </summary>
    public string? ParentBranchId { get; set; }

    /// <summary>How often and how long to poll Neon operations.</summary>
    public TimeSpan OperationPollInterval { get; set; } = TimeSpan.FromSeconds(2);

    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromMinutes(3);

    /// <summary>The missing settings, by name; empty when Neon can be used.</summary>
    public IEnumerable<string> Missing()
    {
        if (string.IsNullOrWhiteSpace(ApiKey))
        {
            yield return "Providers:Neon:ApiKey";
        }

        if (string.IsNullOrWhiteSpace(ProjectId))
        {
            yield return "Providers:Neon:ProjectId";
        }

        if (string.IsNullOrWhiteSpace(ParentBranchId))
        {
            yield return "Providers:Neon:ParentBranchId (an empty template branch: customer branches copy their parent's data and roles)";
        }
    }
}

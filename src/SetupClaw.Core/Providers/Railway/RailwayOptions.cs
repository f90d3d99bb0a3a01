namespace SetupClaw.Providers.Railway;

/// <summary><c>Providers:Railway</c>: where customer services run.</summary>
public sealed class RailwayOptions
{
    public const string Section = "Providers:Railway";

    public Uri Endpoint { get; set; } = new("https://backboard.railway.com/graphql/v2");

    public string? Token { get; set; }

    /// <summary><c>Workspace</c> or <c>Account</c> tokens go as <c>Authorization: Bearer</c>; <c>Project</c> tokens as <c>Project-Access-Token</c>.</summary>
    public string TokenKind { get; set; } = "Workspace";

    public string? ProjectId { get; set; }

    /// <summary>The environment customer services run in, by id, or by name (default <c>production</c>).</summary>
    public string? EnvironmentId { get; set; }

    public string EnvironmentName { get; set; } = "production";

    /// <summary>The runtime image (runtime/SetupClaw.Runtime/Dockerfile, pushed to a registry); or <see cref="Repo"/> + <see cref="Branch"/>.</summary>
    public string? Image { get; set; }

    public string? Repo { get; set; }

    public string Branch { get; set; } = "main";

    public string HealthCheckPath { get; set; } = "/health";

    /// <summary>
    /// How long a deployment is watched at its public address before Railway is asked for its status (0: ask at once).
    /// Railway limits API calls per hour: a 30-60 s deployment then costs two or three status calls, not a dozen.
    /// </summary>
    public double DeploymentWatchSeconds { get; set; } = 15;

    /// <summary>
    /// How long a service's state (running, sleeping, …) is reused before Railway is asked again: the dashboard and the
    /// pool ask often, and each call counts against the hour's budget.
    /// </summary>
    public double StateCacheSeconds { get; set; } = 60;

    /// <summary>
    /// Calls per second this control plane makes at most (Railway's published limits, unverified: Hobby 10/s and
    /// 1,000/h, Pro 50/s and 10,000/h). The hourly budget is read from Railway's X-RateLimit-* headers.
    /// </summary>
    public int MaxRequestsPerSecond { get; set; } = 10;

    public bool IsProjectToken => string.Equals(TokenKind, "Project", StringComparison.OrdinalIgnoreCase);

    /// <summary>The missing or contradictory settings, by name; empty when Railway can be used.</summary>
    public IEnumerable<string> Missing()
    {
        if (string.IsNullOrWhiteSpace(Token))
        {
            yield return "Providers:Railway:Token";
        }

        if (string.IsNullOrWhiteSpace(ProjectId))
        {
            yield return "Providers:Railway:ProjectId";
        }

        if (string.IsNullOrWhiteSpace(Image) == string.IsNullOrWhiteSpace(Repo))
        {
            yield return "Providers:Railway:Image or Providers:Railway:Repo (exactly one)";
        }

        if (TokenKind is not ("Workspace" or "Account" or "Project"))
        {
            yield return "Providers:Railway:TokenKind (Workspace, Account or Project)";
        }
    }
}

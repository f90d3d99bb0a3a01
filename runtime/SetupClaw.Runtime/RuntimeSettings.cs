using System.Globalization;

namespace SetupClaw.Runtime;

/// <summary>What the control plane tells a runtime, through environment variables (Railway service variables).</summary>
public sealed record RuntimeSettings(
    string WorkspaceId, string ApiKeyHash, string DatabaseUrl, string PlanName, int MessageLimit, string MaxAgents, IReadOnlyList<string> Features)
{
    public static RuntimeSettings FromEnvironment(IConfiguration configuration)
    {
        string Required(string key) => configuration[key] is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException($"{key} is not set: the runtime is configured by the SetupClaw control plane.");

        return new RuntimeSettings(
            Required("WORKSPACE_ID"),
            Required("API_KEY_HASH"),
            Required("DATABASE_URL"),
            configuration["PLAN_NAME"] ?? "starter",
            int.TryParse(configuration["MESSAGE_LIMIT"], NumberStyles.Integer, CultureInfo.InvariantCulture, out var limit) ? limit : 5000,
            configuration["MAX_AGENTS"] ?? "3",
            (configuration["FEATURES"] ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }
}

using System.Globalization;

namespace SetupClaw.Runtime;

/// <summary>What the control plane tells a runtime, through environment variables (Railway service variables).</summary>
public sealed record RuntimeSettings(
    string WorkspaceId,
    string ApiKeyHash,
    string DatabaseUrl,
    string PlanName,
    int MessageLimit,
    string MaxAgents,
    IReadOnlyList<string> Features,
    IReadOnlyList<string> Skills,
    LlmSettings Llm)
{
    public static RuntimeSettings FromEnvironment(IConfiguration configuration)
    {
        string Required(string key) => configuration[key] is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException($"{key} is not set: the runtime is configured by the SetupClaw control plane.");

        static IReadOnlyList<string> List(string? value) =>
            (value ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

        return new RuntimeSettings(
            Required("WORKSPACE_ID"),
            Required("API_KEY_HASH"),
            Required("DATABASE_URL"),
            configuration["PLAN_NAME"] ?? "starter",
            int.TryParse(configuration["MESSAGE_LIMIT"], NumberStyles.Integer, CultureInfo.InvariantCulture, out var limit) ? limit : 5000,
            configuration["MAX_AGENTS"] ?? "3",
            List(configuration["FEATURES"]),
            List(configuration["SKILLS"]),
            LlmSettings.From(configuration.GetSection("Llm")));
    }
}

/// <summary>
/// The model behind the assistant: <c>Llm:Provider</c> (<c>anthropic</c> | <c>openai</c>), <c>Llm:BaseUrl</c>,
/// <c>Llm:ApiKey</c>, <c>Llm:Model</c>, <c>Llm:MaxOutputTokens</c>. The key is a setting only: it is never written to a
/// response, a log line or a workspace file (<see cref="ToString"/> hides it too).
/// </summary>
public sealed record LlmSettings(string? Provider, string? BaseUrl, string? ApiKey, string? Model, int MaxOutputTokens)
{
    public static LlmSettings From(IConfiguration section) => new(
        Blank(section["Provider"])?.ToLowerInvariant(),
        Blank(section["BaseUrl"]),
        Blank(section["ApiKey"]),
        Blank(section["Model"]),
        int.TryParse(section["MaxOutputTokens"], NumberStyles.Integer, CultureInfo.InvariantCulture, out var max) && max > 0 ? max : 1024);

    public override string ToString() =>
        $"LlmSettings {{ Provider = {Provider}, BaseUrl = {BaseUrl}, ApiKey = {(ApiKey is null ? "(none)" : "(set)")}, Model = {Model} }}";

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}

using System.Globalization;

namespace SetupClaw.Runtime;

/// <summary>
/// What a runtime is deployed with (environment variables, Railway service variables): its database and the model
/// endpoint (the control plane's gateway). Everything else, who it belongs to included, is read from that database
/// (<see cref="RuntimeIdentity"/>).
/// </summary>
public sealed partial record RuntimeSettings(string DatabaseUrl, LlmSettings Llm)
{
    public static RuntimeSettings FromEnvironment(IConfiguration configuration) => new(
        configuration["DATABASE_URL"] is { Length: > 0 } url
            ? url
            : throw new InvalidOperationException("DATABASE_URL is not set: the runtime is configured by the SetupClaw control plane."),
        LlmSettings.From(configuration.GetSection("Llm")));
}

public sealed partial record RuntimeSettings
{
    /// <summary>
    /// The Npgsql connection string for DATABASE_URL, which may be a connection string or a <c>postgres://</c> URI (as
    /// Neon and Railway write them; <c>sslmode</c> and other query parameters are kept). One assistant needs few
    /// connections and a small Neon compute allows few: unless the URL says otherwise, at most 20 pooled connections,
    /// closed after a minute idle.
    /// </summary>
    public static string ConnectionString(string databaseUrl)
    {
        var builder = new Npgsql.NpgsqlConnectionStringBuilder(SetupClaw.Data.PostgresConnectionStrings.Normalize(databaseUrl));

        // The builder reports every known key as present, so what the URL itself set is read from its raw keys.
        var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = builder.ConnectionString }.Keys
            .Cast<string>().Select(k => k.Replace(" ", "", StringComparison.Ordinal).ToUpperInvariant()).ToHashSet();
        if (!given.Contains("MAXIMUMPOOLSIZE") && !given.Contains("MAXPOOLSIZE"))
        {
            builder.MaxPoolSize = 20;
        }

        if (!given.Contains("CONNECTIONIDLELIFETIME"))
        {
            builder.ConnectionIdleLifetime = 60;
        }

        return builder.ConnectionString;
    }
}

/// <summary>
/// The model behind the assistant: <c>Llm:Provider</c> (<c>openai</c>, any OpenAI-compatible API), <c>Llm:BaseUrl</c>,
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

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
        var builder = new Npgsql.NpgsqlConnectionStringBuilder();
        if (databaseUrl.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) || databaseUrl.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase))
        {
            var uri = new Uri(databaseUrl);
            builder.Host = uri.Host;
            builder.Port = uri.IsDefaultPort || uri.Port < 0 ? 5432 : uri.Port;
            builder.Database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));
            var userInfo = uri.UserInfo.Split(':', 2);
            builder.Username = Uri.UnescapeDataString(userInfo[0]);
            if (userInfo.Length > 1)
            {
                builder.Password = Uri.UnescapeDataString(userInfo[1]);
            }

            foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
            {
                var parts = pair.Split('=', 2);
                var key = Uri.UnescapeDataString(parts[0]);
                var value = parts.Length > 1 ? Uri.UnescapeDataString(parts[1]) : "";
                if (key.Equals("sslmode", StringComparison.OrdinalIgnoreCase))
                {
                    builder.SslMode = Enum.Parse<Npgsql.SslMode>(value.Replace("-", "", StringComparison.Ordinal), ignoreCase: true);
                }
                else if (!key.Equals("channel_binding", StringComparison.OrdinalIgnoreCase) && !key.Equals("options", StringComparison.OrdinalIgnoreCase))
                {
                    try
                    {
                        builder[key] = value;
                    }
                    catch (ArgumentException)
                    {
                        // A libpq parameter Npgsql does not know: the connection works without it.
                    }
                }
            }
        }
        else
        {
            builder.ConnectionString = databaseUrl;
        }

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

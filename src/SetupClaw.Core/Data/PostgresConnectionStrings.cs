namespace SetupClaw.Data;

/// <summary>
/// PostgreSQL connection strings as people and providers write them: an Npgsql connection string, or a
/// <c>postgres://</c> / <c>postgresql://</c> URL (Neon, Railway, Heroku-style <c>DATABASE_URL</c>s, <c>pg_dump</c>'s
/// habit), which Npgsql does not parse. One converter for the control plane, the providers, the command line and the
/// runtime (which links this file, internal there: it has no other dependency on the core).
/// </summary>
#if SETUPCLAW_RUNTIME
internal
#else
public
#endif
static class PostgresConnectionStrings
{
    /// <summary>True when <paramref name="value"/> is a URL (postgres:// or postgresql://) rather than key=value pairs.</summary>
    public static bool IsUrl(string value) =>
        value.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) || value.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The Npgsql connection string for <paramref name="value"/>: a connection string as it is, a URL converted (user,
    /// password and database unescaped, port 5432 when none is given, <c>sslmode</c> and the other query parameters
    /// Npgsql knows kept; <c>channel_binding</c>, <c>options</c> and parameters it does not know dropped).
    /// </summary>
    /// <exception cref="FormatException">Neither a valid URL nor a valid connection string; the message says which
    /// part is wrong and never repeats a password.</exception>
    public static string Normalize(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        value = value.Trim();
        if (!IsUrl(value))
        {
            try
            {
                return new Npgsql.NpgsqlConnectionStringBuilder(value).ConnectionString;
            }
            catch (ArgumentException e)
            {
                // Npgsql's message repeats the text it could not read, which may hold a password: say only what is wrong.
                throw new FormatException("Not a PostgreSQL connection string (Host=…;Database=…;Username=…) or postgres:// URL: a key is unknown or a value malformed.", e);
            }
        }

        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
        {
            throw new FormatException("Not a valid postgres:// URL: expected postgres://user:password@host:port/database.");
        }

        var builder = new Npgsql.NpgsqlConnectionStringBuilder
        {
            Host = uri.Host.Trim('[', ']'),
            Port = uri.IsDefaultPort || uri.Port < 0 ? 5432 : uri.Port,
        };
        var database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));
        if (database.Length > 0)
        {
            builder.Database = database;
        }

        if (uri.UserInfo.Length > 0)
        {
            var userInfo = uri.UserInfo.Split(':', 2);
            builder.Username = Uri.UnescapeDataString(userInfo[0]);
            if (userInfo.Length > 1)
            {
                builder.Password = Uri.UnescapeDataString(userInfo[1]);
            }
        }

        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = pair.Split('=', 2);
            var key = Uri.UnescapeDataString(parts[0]);
            var parameter = parts.Length > 1 ? Uri.UnescapeDataString(parts[1]) : "";
            if (key.Equals("sslmode", StringComparison.OrdinalIgnoreCase))
            {
                builder.SslMode = Enum.TryParse<Npgsql.SslMode>(parameter.Replace("-", "", StringComparison.Ordinal), ignoreCase: true, out var mode)
                    ? mode
                    : throw new FormatException($"sslmode={parameter} is not one of disable, allow, prefer, require, verify-ca, verify-full.");
            }
            else if (!key.Equals("channel_binding", StringComparison.OrdinalIgnoreCase) && !key.Equals("options", StringComparison.OrdinalIgnoreCase))
            {
                try
                {
                    builder[key] = parameter;
                }
                catch (ArgumentException)
                {
                    // A libpq parameter Npgsql does not know: the connection works without it.
                }
            }
        }

        return builder.ConnectionString;
    }
}

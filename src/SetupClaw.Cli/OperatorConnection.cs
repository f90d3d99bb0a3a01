using System.Text.Json;

namespace SetupClaw.Cli;

/// <summary>
/// Where the control plane is and the admin key for its operator API: from the flags, else the environment
/// (<c>SETUPCLAW_URL</c>, <c>SETUPCLAW_ADMIN_KEY</c>), else the local settings (<c>local.settings.json</c>, or the
/// committed sample, found upwards from the current directory: what <c>./setupclaw up</c> runs with).
/// </summary>
public sealed record OperatorConnection(Uri BaseUrl, string AdminKey)
{
    public const string AdminKeyHeader = "X-Admin-Key";

    public static OperatorConnection Resolve(string? url, string? adminKey)
    {
        var settings = LocalSettings();
        var givenAddress = url ?? Environment.GetEnvironmentVariable("SETUPCLAW_URL");
        var givenKey = adminKey ?? Environment.GetEnvironmentVariable("SETUPCLAW_ADMIN_KEY");
        if (givenAddress is not null && givenKey is null)
        {
            // The local settings' key belongs to the local stack: it is never sent to another address.
            throw new UsageException("An address was given without an admin key: pass --admin-key or set SETUPCLAW_ADMIN_KEY.");
        }

        var address = givenAddress ?? settings.GetValueOrDefault("LocalHost__Url") ?? "http://127.0.0.1:7071";
        var key = givenKey ?? settings.GetValueOrDefault("Security__AdminKey");
        if (!Uri.TryCreate(address, UriKind.Absolute, out var baseUrl) || baseUrl.Scheme is not ("http" or "https"))
        {
            throw new UsageException($"'{address}' is not an http(s) address: pass --url https://<your app> or set SETUPCLAW_URL.");
        }

        if (string.IsNullOrWhiteSpace(key))
        {
            throw new UsageException("No admin key: pass --admin-key, set SETUPCLAW_ADMIN_KEY, or run next to a local.settings.json with Security__AdminKey.");
        }

        return new OperatorConnection(baseUrl, key);
    }

    /// <summary>A client for the operator API: every request carries the admin key.</summary>
    public HttpClient CreateClient(TimeSpan? timeout = null)
    {
        var client = new HttpClient { BaseAddress = BaseUrl, Timeout = timeout ?? TimeSpan.FromSeconds(100) };
        client.DefaultRequestHeaders.Add(AdminKeyHeader, AdminKey);
        return client;
    }

    private static Dictionary<string, string> LocalSettings()
    {
        for (var directory = new DirectoryInfo(Environment.CurrentDirectory); directory is not null; directory = directory.Parent)
        {
            foreach (var name in new[] { "local.settings.json", "local.settings.sample.json" })
            {
                var path = Path.Combine(directory.FullName, name);
                if (File.Exists(path))
                {
                    using var document = Parse(path);
                    return document.RootElement.TryGetProperty("Values", out var values)
                        ? values.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.String).ToDictionary(p => p.Name, p => p.Value.GetString()!)
                        : [];
                }
            }
        }

        return [];
    }

    private static JsonDocument Parse(string path)
    {
        try
        {
            return JsonDocument.Parse(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new UsageException($"{path} is not valid JSON ({e.Message}): fix it, or pass --url and --admin-key.");
        }
    }
}

/// <summary>Bad input on the command line: exit code 2, with a message saying what to change.</summary>
public sealed class UsageException(string message) : Exception(message);

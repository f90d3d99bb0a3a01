using System.Net;
using System.Text.Json;

namespace SetupClaw.LocalHost;

internal static class LocalSettings
{
    /// <summary>
    /// The Functions app's <c>local.settings.json</c> (or the committed sample) feeds the local host too, so both hosts
    /// run from one set of settings. Environment variables and arguments still win.
    /// </summary>
    public static IConfigurationBuilder AddLocalSettings(this ConfigurationManager configuration)
    {
        var file = FindUp("local.settings.json") ?? FindUp("local.settings.sample.json");
        if (file is null)
        {
            return configuration;
        }

        using var document = JsonDocument.Parse(File.ReadAllText(file));
        var values = new Dictionary<string, string?>();
        if (document.RootElement.TryGetProperty("Values", out var settings))
        {
            foreach (var setting in settings.EnumerateObject())
            {
                values[setting.Name.Replace("__", ":", StringComparison.Ordinal)] = setting.Value.ToString();
            }
        }

        // Inserted first, so every other source (appsettings, environment, command line) overrides it.
        configuration.Sources.Insert(0, new Microsoft.Extensions.Configuration.Memory.MemoryConfigurationSource { InitialData = values });
        return configuration;
    }

    public static void ConfigureLocalEndpoint(this WebApplicationBuilder builder)
    {
        var url = builder.Configuration["LocalHost:Url"] ?? "http://127.0.0.1:7071";
        var uri = new Uri(url);
        builder.WebHost.ConfigureKestrel(kestrel =>
            kestrel.Listen(IPAddress.Parse(uri.Host == "localhost" ? "127.0.0.1" : uri.Host), uri.Port));
    }

    private static string? FindUp(string name)
    {
        for (var directory = new DirectoryInfo(Directory.GetCurrentDirectory()); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}

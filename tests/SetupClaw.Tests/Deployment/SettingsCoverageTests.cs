using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace SetupClaw.Tests.Deployment;

/// <summary>
/// Every setting the code binds (each options class's properties under its <c>Section</c>, and every key read
/// directly in the core and the Functions app) appears in local.settings.sample.json with a value, and in the Bicep
/// app settings, unless it is listed below with the reason it has no place there.
/// </summary>
public sealed partial class SettingsCoverageTests
{
    /// <summary>Settings with no place in the sample or the deployment, each with its reason.</summary>
    public static readonly IReadOnlyDictionary<string, string> Exemptions = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["LocalHost:*"] = "read by the local host only (its address); the Functions app has none",
        ["Providers:Local:*"] = "the local providers (PostgreSQL on this machine, runtime processes); production uses Neon and Railway",
        ["Durable:*"] = "the local host's durable backend; the Functions app's is host.json with AzureWebJobsStorage",
        ["Providers:Neon:BaseUrl"] = "Neon's public API by default; set only to point at a simulator",
        ["Providers:Railway:Endpoint"] = "Railway's public API by default; set only to point at a simulator",
        ["Stripe:ApiBase"] = "Stripe's public API by default; set only to point at a simulator",
        ["Providers:Railway:Repo"] = "deploying from a repository is for development; production deploys the image (Providers:Railway:Image)",
        ["Providers:Railway:Branch"] = "goes with Providers:Railway:Repo",
        ["Providers:Railway:EnvironmentId"] = "looked up from Providers:Railway:EnvironmentName when unset",
        ["Plans:LegacyPrices:*"] = "a map of the operator's old Stripe price ids (Plans__LegacyPrices__<price>=<plan>), empty unless the mock era's prices are still billed",
    };

    /// <summary>Settings the Functions host itself needs that no class binds.</summary>
    private static readonly string[] HostSettings = ["AzureWebJobsStorage", "DurableTaskHubName", "AzureWebJobsDisableHomepage"];

    [Fact]
    public void EveryBoundSetting_IsInTheSample_WithAValue()
    {
        var sample = SampleSettings();
        var missing = BoundSettings().Where(key => !sample.ContainsKey(key)).ToList();

        Assert.True(missing.Count == 0, "Not in local.settings.sample.json (as Key__Sub): " + string.Join(", ", missing));
        Assert.All(HostSettings, key => Assert.True(sample.ContainsKey(key), key));
    }

    [Fact]
    public void EveryBoundSetting_IsInTheBicepAppSettings()
    {
        var bicep = BicepAppSettings();
        var missing = BoundSettings().Where(key => !bicep.ContainsKey(key)).ToList();

        Assert.True(missing.Count == 0, "Not in infra/main.bicep's app settings: " + string.Join(", ", missing));
        Assert.True(bicep.ContainsKey("AzureWebJobsStorage:accountName"), "the durable backend's storage, by identity");
        Assert.Contains("DurableTaskHubName", bicep.Keys);
        // Flex Consumption takes the runtime from functionAppConfig and refuses these as app settings.
        Assert.DoesNotContain("FUNCTIONS_WORKER_RUNTIME", bicep.Keys);
        Assert.DoesNotContain("FUNCTIONS_EXTENSION_VERSION", bicep.Keys);
    }

    [Fact]
    public void TheBicepAndTheSample_SetNothingTheCodeDoesNotRead()
    {
        var known = BoundSettings().Concat(HostSettings).ToHashSet(StringComparer.Ordinal);
        bool Known(string key) => known.Contains(key) || IsExempt(key) || key.StartsWith("AzureWebJobsStorage:", StringComparison.Ordinal)
            || key.StartsWith("APPLICATIONINSIGHTS_", StringComparison.Ordinal) || key == "FUNCTIONS_WORKER_RUNTIME"
            || key == "AZURE_CLIENT_ID"; // read by Azure.Identity for the telemetry exporter's managed identity

        Assert.DoesNotContain(BicepAppSettings().Keys, k => !Known(k));
        Assert.DoesNotContain(SampleSettings().Keys, k => !Known(k));
    }

    /// <summary>The settings the code binds, with ':' separators, exemptions left out.</summary>
    public static IReadOnlyList<string> BoundSettings()
    {
        var keys = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var type in typeof(SetupClawServices).Assembly.GetTypes())
        {
            if (type.GetField("Section", BindingFlags.Public | BindingFlags.Static) is { IsLiteral: true } field)
            {
                AddProperties(type, (string)field.GetRawConstantValue()!, keys);
            }
        }

        foreach (var directory in new[] { "src/SetupClaw.Core", "src/SetupClaw.Functions" })
        {
            foreach (var file in Directory.GetFiles(Path.Combine(Bicep.RepositoryRoot, directory), "*.cs", SearchOption.AllDirectories)
                .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)))
            {
                var text = File.ReadAllText(file);
                keys.UnionWith(DirectRead().Matches(text).Select(m => m.Groups[1].Value));
                keys.UnionWith(ConnectionStringRead().Matches(text).Select(m => "ConnectionStrings:" + m.Groups[1].Value));
                keys.UnionWith(TriggerSetting().Matches(text).Select(m => m.Groups[1].Value));
            }
        }

        return [.. keys.Where(k => !IsExempt(k))];
    }

    /// <summary>infra/main.bicep's app settings: name (with ':' separators) → the Bicep expression of its value.</summary>
    public static IReadOnlyDictionary<string, string> BicepAppSettings() =>
        BicepSetting().Matches(File.ReadAllText(Path.Combine(Bicep.InfraDirectory, "main.bicep")))
            .ToDictionary(m => m.Groups[1].Value.Replace("__", ":", StringComparison.Ordinal), m => m.Groups[2].Value.Trim(), StringComparer.Ordinal);

    private static Dictionary<string, string> SampleSettings()
    {
        // Strict JSON: no comments, no trailing commas.
        using var sample = JsonDocument.Parse(File.ReadAllText(Path.Combine(Bicep.RepositoryRoot, "local.settings.sample.json")));
        return sample.RootElement.GetProperty("Values").EnumerateObject()
            .ToDictionary(p => p.Name.Replace("__", ":", StringComparison.Ordinal), p => p.Value.GetString()!, StringComparer.Ordinal);
    }

    private static bool IsExempt(string key) => Exemptions.Keys.Any(exemption => exemption.EndsWith(":*", StringComparison.Ordinal)
        ? key.StartsWith(exemption[..^1], StringComparison.Ordinal)
        : key == exemption);

    private static void AddProperties(Type type, string prefix, ISet<string> keys)
    {
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.SetMethod?.IsPublic == true))
        {
            var propertyType = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            var key = $"{prefix}:{property.Name}";
            if (propertyType.IsPrimitive || propertyType.IsEnum || propertyType == typeof(string) || propertyType == typeof(decimal)
                || propertyType == typeof(TimeSpan) || propertyType == typeof(Uri))
            {
                keys.Add(key);
            }
            else if (propertyType.IsClass)
            {
                AddProperties(propertyType, key, keys);
            }
        }
    }

    [GeneratedRegex("""[Cc]onfiguration\["([A-Za-z][A-Za-z0-9:]*)"\]""")]
    private static partial Regex DirectRead();

    [GeneratedRegex("""GetConnectionString\("([A-Za-z]+)"\)""")]
    private static partial Regex ConnectionStringRead();

    [GeneratedRegex(""""Trigger\("%([A-Za-z:]+)%"""")]
    private static partial Regex TriggerSetting();

    [GeneratedRegex("""\{ name: '([A-Za-z_]+)', value: (.+?) \}""")]
    private static partial Regex BicepSetting();
}

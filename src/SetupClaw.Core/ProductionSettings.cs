using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using SetupClaw.Data;
using SetupClaw.Plans;

namespace SetupClaw;

/// <summary>
/// What a host that takes real payments refuses to start without: a Stripe price id for every plan, an admin key of
/// at least 32 characters, and no secret left at its value from <c>local.settings.sample.json</c> (which is public).
/// The Functions app always checks; the local host whenever a Stripe key is configured or it listens on anything but
/// loopback. The local host on loopback without a Stripe key starts on the sample, as <c>./setupclaw up</c> needs.
/// </summary>
public static class ProductionSettings
{
    public const int MinAdminKeyLength = 32;

    /// <summary>The settings that are secrets: never their sample value in production.</summary>
    public static IReadOnlyList<string> Secrets { get; } =
    [
        "ConnectionStrings:ControlDatabase", "Stripe:SecretKey", "Stripe:WebhookSecret", "Security:EncryptionKey", "Security:AdminKey",
        "Providers:Neon:ApiKey", "Providers:Railway:Token", "Llm:ApiKey",
    ];

    /// <summary>Whether the local host must pass the check: a Stripe key is configured, or it listens beyond loopback.</summary>
    public static bool AppliesToLocalHost(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        if (!string.IsNullOrWhiteSpace(configuration["Stripe:SecretKey"]))
        {
            return true;
        }

        var url = new Uri(configuration["LocalHost:Url"] ?? "http://127.0.0.1:7071");
        return !(url.IsLoopback || (IPAddress.TryParse(url.Host, out var address) && IPAddress.IsLoopback(address)));
    }

    /// <summary>Every refusal, each naming its setting and what to do; empty when the settings may take payments.</summary>
    public static IReadOnlyList<string> Problems(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var problems = new List<string>();
        foreach (var plan in Plan.All)
        {
            var key = $"{PlansOptions.Section}:{plan.DisplayName}:StripePriceId";
            if (string.IsNullOrWhiteSpace(configuration[key]))
            {
                problems.Add($"{key} is required: the Stripe price id (price_…) customers of the {plan.DisplayName} plan pay.");
            }
        }

        if ((configuration["Security:AdminKey"] ?? "").Length < MinAdminKeyLength)
        {
            problems.Add($"Security:AdminKey must have at least {MinAdminKeyLength} characters (openssl rand -hex 32).");
        }

        var sample = SampleValues();
        foreach (var secret in Secrets)
        {
            if (configuration[secret] is { Length: > 0 } value && sample.TryGetValue(secret, out var published) && value == published)
            {
                problems.Add($"{secret} still has its value from local.settings.sample.json, which is public: set a secret of your own.");
            }
        }

        return problems;
    }

    /// <summary>Throws, naming every problem, when <see cref="Problems"/> finds any.</summary>
    public static void Require(IConfiguration configuration)
    {
        var problems = Problems(configuration);
        if (problems.Count > 0)
        {
            throw new OptionsValidationException("ProductionSettings", typeof(IConfiguration),
                [.. problems.Prepend("This host takes real payments and refuses to start:")]);
        }
    }

    /// <summary>The committed sample's values (embedded in the core), by configuration key.</summary>
    internal static IReadOnlyDictionary<string, string> SampleValues()
    {
        using var document = JsonDocument.Parse(ControlDatabase.ReadResource(typeof(ProductionSettings).Assembly, "settings/local.settings.sample.json"));
        return document.RootElement.GetProperty("Values").EnumerateObject()
            .ToDictionary(p => p.Name.Replace("__", ":", StringComparison.Ordinal), p => p.Value.GetString() ?? "", StringComparer.OrdinalIgnoreCase);
    }
}

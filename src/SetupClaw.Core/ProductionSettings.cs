using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using SetupClaw.Data;
using SetupClaw.Plans;

namespace SetupClaw;

/// <summary>
/// What a host that takes real payments refuses to start without: a Stripe price id for every plan (not the sample's),
/// an admin key of at least 32 characters, and no secret left at its value from <c>local.settings.sample.json</c>
/// (which is public). A host others can reach (the Functions app; a local host listening beyond loopback) also needs
/// a Stripe secret key (without one, the offline checkout's Pay button would provision anyone for free) and a public
/// address that is not loopback. The Functions app always checks; the local host whenever a Stripe key is configured
/// or it listens beyond loopback. The local host on loopback without a Stripe key starts on the sample, as
/// <c>./setupclaw up</c> needs. A loopback host published through a tunnel or proxy escapes the check: do not.
/// </summary>
public static class ProductionSettings
{
    public const int MinAdminKeyLength = 32;

    /// <summary>The settings that are secrets: never their sample value in production.</summary>
    public static IReadOnlyList<string> Secrets { get; } =
    [
        "ConnectionStrings:ControlDatabase", "Stripe:SecretKey", "Stripe:WebhookSecret", "Security:EncryptionKey", "Security:AdminKey",
        "Providers:Neon:ApiKey", "Providers:Railway:Token", "Llm:ApiKey", "Email:SmtpPassword",
    ];

    /// <summary>Whether the local host must pass the check: a Stripe key is configured, or it listens beyond loopback.</summary>
    public static bool AppliesToLocalHost(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return !string.IsNullOrWhiteSpace(configuration["Stripe:SecretKey"]) || !LocalHostIsLoopback(configuration);
    }

    /// <summary>Whether the local host listens on loopback only (<c>LocalHost:Url</c>).</summary>
    public static bool LocalHostIsLoopback(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return IsLoopback(new Uri(configuration["LocalHost:Url"] ?? "http://127.0.0.1:7071"));
    }

    /// <summary>Every refusal, each naming its setting and what to do; empty when the settings may take payments.</summary>
    /// <param name="reachable">Others can reach this host (the Functions app, a local host beyond loopback): a Stripe key and a public address are required too.</param>
    public static IReadOnlyList<string> Problems(IConfiguration configuration, bool reachable)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var problems = new List<string>();
        var sample = SampleValues();
        foreach (var plan in Plan.All)
        {
            var key = $"{PlansOptions.Section}:{plan.DisplayName}:StripePriceId";
            var value = configuration[key];
            if (string.IsNullOrWhiteSpace(value))
            {
                problems.Add($"{key} is required: the Stripe price id (price_…) customers of the {plan.DisplayName} plan pay.");
            }
            else if (sample.TryGetValue(key, out var published) && value == published)
            {
                problems.Add($"{key} is the sample's '{value}': set the id of the plan's price in your Stripe account.");
            }
        }

        var stripeKey = configuration["Stripe:SecretKey"] ?? "";
        if (reachable && !(stripeKey.StartsWith("sk_", StringComparison.Ordinal) || stripeKey.StartsWith("rk_", StringComparison.Ordinal)))
        {
            problems.Add("Stripe:SecretKey is required (sk_… or rk_…): without it the offline checkout would let anyone who can reach this host provision an assistant without paying.");
        }

        if (reachable && (!Uri.TryCreate(configuration["App:PublicBaseUrl"], UriKind.Absolute, out var publicUrl) || IsLoopback(publicUrl)))
        {
            problems.Add("App:PublicBaseUrl must be this host's public https address: Stripe Checkout sends customers back to it.");
        }

        if (reachable && string.IsNullOrWhiteSpace(configuration["Email:SmtpHost"]))
        {
            problems.Add("Email:SmtpHost is required: without it customer emails (sign-in links, payment trouble, cancellations) go to a local folder nobody reads.");
        }

        if ((configuration["Security:AdminKey"] ?? "").Length < MinAdminKeyLength)
        {
            problems.Add($"Security:AdminKey must have at least {MinAdminKeyLength} characters (openssl rand -hex 32).");
        }

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
    public static void Require(IConfiguration configuration, bool reachable)
    {
        var problems = Problems(configuration, reachable);
        if (problems.Count > 0)
        {
            throw new OptionsValidationException("ProductionSettings", typeof(IConfiguration),
                [.. problems.Prepend("This host takes real payments and refuses to start:")]);
        }
    }

    internal static bool IsLoopback(Uri url) =>
        url.IsLoopback || (IPAddress.TryParse(url.Host, out var address) && IPAddress.IsLoopback(address));

    /// <summary>The committed sample's values (embedded in the core), by configuration key.</summary>
    internal static IReadOnlyDictionary<string, string> SampleValues()
    {
        using var document = JsonDocument.Parse(ControlDatabase.ReadResource(typeof(ProductionSettings).Assembly, "settings/local.settings.sample.json"));
        return document.RootElement.GetProperty("Values").EnumerateObject()
            .ToDictionary(p => p.Name.Replace("__", ":", StringComparison.Ordinal), p => p.Value.GetString() ?? "", StringComparer.OrdinalIgnoreCase);
    }
}

using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using SetupClaw.LocalHost;

namespace SetupClaw.Tests.Unit;

/// <summary>A host that can take real payments refuses to start on settings that would fail or leak; the local demo on loopback still starts on the sample.</summary>
public sealed class ProductionSettingsTests
{
    /// <summary>Every value of the committed sample, as the local host reads it (given explicitly, so a developer's local.settings.json changes nothing).</summary>
    private static Dictionary<string, string?> Sample() =>
        ProductionSettings.SampleValues().ToDictionary(kv => kv.Key, kv => (string?)kv.Value);

    [Fact]
    public void LocalHost_WithAStripeKeyAndAPlanWithoutPrice_RefusesToStartNamingTheSetting()
    {
        var settings = Own(Sample());
        settings["Stripe:SecretKey"] = "sk_test_0123456789abcdefghijklmnop";
        settings["Plans:Pro:StripePriceId"] = "";

        var refused = Assert.Throws<OptionsValidationException>(() => LocalHostApp.Build(LocalHostApp.CreateBuilder([], settings)));

        Assert.Contains("Plans:Pro:StripePriceId is required", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Plans:Starter", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LocalHost_OnANonLoopbackAddress_RefusesTheSampleSecrets()
    {
        var settings = Sample();
        settings["LocalHost:Url"] = "http://0.0.0.0:7071";

        var refused = Assert.Throws<OptionsValidationException>(() => LocalHostApp.Build(LocalHostApp.CreateBuilder([], settings)));

        foreach (var secret in new[] { "Stripe:WebhookSecret", "Security:EncryptionKey", "Security:AdminKey", "ConnectionStrings:ControlDatabase" })
        {
            Assert.Contains($"{secret} still has its value from local.settings.sample.json", refused.Message, StringComparison.Ordinal);
        }

        Assert.Contains("Security:AdminKey must have at least 32 characters", refused.Message, StringComparison.Ordinal);
        Assert.Contains("Plans:Pro:StripePriceId is the sample's 'price_local_pro'", refused.Message, StringComparison.Ordinal);
        // Reachable by others without a Stripe key, the offline checkout would provision anyone for free.
        Assert.Contains("Stripe:SecretKey is required", refused.Message, StringComparison.Ordinal);
        Assert.Contains("App:PublicBaseUrl must be this host's public https address", refused.Message, StringComparison.Ordinal);
        Assert.Contains("Email:SmtpHost is required", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Reachable_WithOwnSecretsAStripeKeyAndAPublicAddress_HasNoProblems()
    {
        var settings = Own(Sample());
        // A restricted key (rk_…) is accepted as well as a secret one; an obvious placeholder, never a real key.
        settings["Stripe:SecretKey"] = "rk_test_placeholder_not_a_real_key";
        settings["App:PublicBaseUrl"] = "https://claw.example.com";
        settings["Email:SmtpHost"] = "smtp.example.com";
        Assert.Empty(ProductionSettings.Problems(new ConfigurationBuilder().AddInMemoryCollection(settings).Build(), reachable: true));
    }

    [Fact]
    public async Task LocalHost_OnLoopbackWithoutAStripeKey_StartsOnTheSample()
    {
        await using var app = LocalHostApp.Build(LocalHostApp.CreateBuilder([], Sample()));
        Assert.NotNull(app);
    }

    [Fact]
    public void Problems_OwnSecretsAndEveryPrice_AreNone()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(Own(Sample())).Build();
        Assert.Empty(ProductionSettings.Problems(configuration, reachable: false));
    }

    /// <summary>The sample with every secret replaced by one of the operator's own.</summary>
    private static Dictionary<string, string?> Own(Dictionary<string, string?> settings)
    {
        settings["ConnectionStrings:ControlDatabase"] = "Host=db.internal;Database=setupclaw;Username=claw;Password=own-password";
        settings["Stripe:WebhookSecret"] = "whsec_own_0123456789abcdef";
        settings["Security:EncryptionKey"] = Convert.ToBase64String(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());
        settings["Security:AdminKey"] = "admin_own_0123456789abcdef0123456789";
        foreach (var plan in new[] { "Starter", "Pro", "Team" })
        {
            settings[$"Plans:{plan}:StripePriceId"] = $"price_1Own{plan}";
        }

        return settings;
    }
}

using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using SetupClaw.Credentials;
using SetupClaw.Plans;
using SetupClaw.Providers;
using SetupClaw.Provisioning;

namespace SetupClaw.Tests.Unit;

public sealed class CredentialsAndPlansTests
{
    [Fact]
    public void NewApiKey_Always_IsClawPrefixedWith64HexAndUnique()
    {
        var keys = Enumerable.Range(0, 100).Select(_ => Secrets.NewApiKey()).ToList();
        Assert.All(keys, k => Assert.Matches("^claw_[0-9a-f]{64}$", k));
        Assert.Equal(100, keys.Distinct().Count());
    }

    [Fact]
    public void MatchesHash_RightAndWrongKeys_OnlyRightOneMatches()
    {
        var key = Secrets.NewApiKey();
        var hash = Secrets.Hash(key);
        Assert.True(Secrets.MatchesHash(key, hash));
        Assert.False(Secrets.MatchesHash(Secrets.NewApiKey(), hash));
        Assert.False(Secrets.MatchesHash("", hash));
        Assert.Equal("claw_…" + key[^4..], Secrets.Hint(key));
    }

    [Fact]
    public void SecretBox_SealThenOpen_RoundTripsAndTamperingIsDetected()
    {
        var box = Box(NewKey());
        var sealedText = box.Seal("Host=db;Password=secret", "cus_a", SealedColumns.DatabaseUrl);
        Assert.StartsWith($"v2:{box.CurrentKeyId}:", sealedText, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", sealedText, StringComparison.Ordinal);
        Assert.Equal("Host=db;Password=secret", box.Open(sealedText, "cus_a", SealedColumns.DatabaseUrl));

        var prefix = sealedText[..(sealedText.LastIndexOf(':') + 1)];
        var bytes = Convert.FromBase64String(sealedText[prefix.Length..]);
        bytes[^1] ^= 1;
        Assert.ThrowsAny<CryptographicException>(() => box.Open(prefix + Convert.ToBase64String(bytes), "cus_a", SealedColumns.DatabaseUrl));
    }

    [Fact]
    public void SecretBox_AValueMovedToAnotherRowOrColumn_DoesNotOpen()
    {
        var box = Box(NewKey());
        var sealedKey = box.Seal(Secrets.NewApiKey(), "cus_a", SealedColumns.ApiKey);

        Assert.ThrowsAny<CryptographicException>(() => box.Open(sealedKey, "cus_b", SealedColumns.ApiKey));
        Assert.ThrowsAny<CryptographicException>(() => box.Open(sealedKey, "cus_a", SealedColumns.DatabaseUrl));
    }

    [Fact]
    public void SecretBox_AfterARotation_OpensOldValuesWithThePreviousKey_AndV1ValuesStillOpen()
    {
        var oldKey = NewKey();
        var old = Box(oldKey);
        var sealedBefore = old.Seal("postgres://a", "cus_a", SealedColumns.DatabaseUrl);
        var v1 = V1Seal(oldKey, "claw_legacy");

        var rotated = new SecretBox(Options.Create(new SecurityOptions { EncryptionKey = NewKey(), PreviousEncryptionKeys = oldKey }));
        Assert.NotEqual(old.CurrentKeyId, rotated.CurrentKeyId);
        Assert.Equal("postgres://a", rotated.Open(sealedBefore, "cus_a", SealedColumns.DatabaseUrl));
        Assert.Equal("claw_legacy", rotated.Open(v1, "cus_a", SealedColumns.ApiKey));
        Assert.False(rotated.IsCurrent(sealedBefore));

        var withoutOld = Box(NewKey());
        var missing = Assert.ThrowsAny<CryptographicException>(() => withoutOld.Open(sealedBefore, "cus_a", SealedColumns.DatabaseUrl));
        Assert.Contains(old.CurrentKeyId, missing.Message, StringComparison.Ordinal);
    }

    private static string NewKey() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    private static SecretBox Box(string key) => new(Options.Create(new SecurityOptions { EncryptionKey = key }));

    /// <summary>A value as the first format sealed it: v1, no key id, no associated data.</summary>
    internal static string V1Seal(string key, string plaintext)
    {
        var data = System.Text.Encoding.UTF8.GetBytes(plaintext);
        var output = new byte[12 + 16 + data.Length];
        RandomNumberGenerator.Fill(output.AsSpan(0, 12));
        using var aes = new AesGcm(Convert.FromBase64String(key), 16);
        aes.Encrypt(output.AsSpan(0, 12), data, output.AsSpan(28), output.AsSpan(12, 16));
        return "v1:" + Convert.ToBase64String(output);
    }

    [Fact]
    public void SecretBox_ShortKey_FailsWithTheSettingName()
    {
        var error = Assert.Throws<OptionsValidationException>(() => new SecretBox(Options.Create(new SecurityOptions { EncryptionKey = "c2hvcnQ=" })));
        Assert.Contains("Security:EncryptionKey", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("starter", true)]
    [InlineData("PRO", true)]
    [InlineData("team", true)]
    [InlineData("constructor", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void PlanCatalog_TryGet_OnlyRealPlans(string? name, bool found) => Assert.Equal(found, PlanCatalog.TryGet(name, out _));

    [Fact]
    public void PlanCatalog_ByPriceId_UsesConfiguredPrices()
    {
        var catalog = new PlanCatalog(Options.Create(new PlansOptions { Pro = new PlanPriceOptions { StripePriceId = "price_pro" } }));
        Assert.True(catalog.TryGetByPriceId("price_pro", out var plan));
        Assert.Equal(Plan.Pro, plan!.Name);
        Assert.False(catalog.TryGetByPriceId("price_unknown", out _));
        Assert.False(catalog.TryGetByPriceId(null, out _));
    }

    [Theory]
    [InlineData("cus_0123456789abcdef0123", true)]
    [InlineData("cus_0123456789ABCDEF0123", false)]
    [InlineData("cus_0123\"; drop table x;--", false)]
    [InlineData("ws_0123456789abcdef01234", false)]
    public void CustomerIds_IsValid_OnlyExactFormat(string id, bool valid) => Assert.Equal(valid, CustomerIds.IsValid(id));

    [Fact]
    public void Render_KnownAndUnknownPlaceholders_ReplacesOnlyKnown()
    {
        var text = WorkspaceSeeder.Render("Hi {{ customer_name }}, {{unknown}} {{plan}}", new Dictionary<string, string> { ["customer_name"] = "Ada", ["plan"] = "Pro" });
        Assert.Equal("Hi Ada, {{unknown}} Pro", text);
    }

    [Fact]
    public void Templates_AllWorkspaceFiles_AreShippedAndUseOnlyKnownPlaceholders()
    {
        var values = new[] { "customer_name", "email", "assistant_name", "plan", "features", "date" }.ToDictionary(k => k, k => "x");
        foreach (var name in WorkspaceSeeder.FileNames)
        {
            Assert.DoesNotContain("{{", WorkspaceSeeder.Render(WorkspaceSeeder.LoadTemplate(name), values), StringComparison.Ordinal);
        }
    }
}

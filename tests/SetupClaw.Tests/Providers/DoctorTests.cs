using Microsoft.Extensions.Configuration;
using SetupClaw.Operations;
using SetupClaw.Tests.Infrastructure;
using SetupClaw.Tests.Simulators;

namespace SetupClaw.Tests.Providers;

/// <summary>The doctor against a real control database and the provider simulators: what is fine, and what fails with its fix.</summary>
public sealed class DoctorTests : IAsyncLifetime
{
    private readonly TestDatabase database = new();
    private NeonSimulator neon = null!;
    private RailwaySimulator railway = null!;

    public async Task InitializeAsync()
    {
        await database.InitializeAsync();
        neon = await NeonSimulator.StartAsync();
        railway = await RailwaySimulator.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await neon.DisposeAsync();
        await railway.DisposeAsync();
        await database.DisposeAsync();
    }

    private Task<IReadOnlyList<DoctorFinding>> RunAsync(Dictionary<string, string?>? changes = null)
    {
        var settings = ProviderServices.Settings(neon, railway);
        settings["ConnectionStrings:ControlDatabase"] = database.ConnectionString;
        settings["Stripe:WebhookSecret"] = "whsec_test";
        settings["Providers:Railway:TokenKind"] = "Account";
        foreach (var (key, value) in changes ?? [])
        {
            settings[key] = value;
        }

        return new Doctor(new ConfigurationBuilder().AddInMemoryCollection(settings).Build()).RunAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Doctor_HealthyConfiguration_EveryCheckPasses()
    {
        var findings = await RunAsync();
        using var printed = new StringWriter();

        Assert.True(Doctor.Print(findings, printed), printed.ToString());
        Assert.Contains(findings, f => f.Check == "railway" && f.Detail.Contains("founder@setupclaw.example", StringComparison.Ordinal) && f.Detail.Contains("environment production", StringComparison.Ordinal));
        Assert.Contains(findings, f => f.Check == "neon" && f.Detail.Contains("0 customer branches, 2 in all, limit 5000 (4998 free); template template (br-template-000002) is empty", StringComparison.Ordinal));
        Assert.Contains("All checks passed.", printed.ToString(), StringComparison.Ordinal);
        Assert.Empty(neon.Violations);
        Assert.Empty(railway.Violations);
    }

    [Theory]
    [InlineData("Providers:Neon:ApiKey", "wrong", "neon", "authentication failed", "Providers__Neon__ApiKey")]
    [InlineData("Providers:Railway:Token", "wrong", "railway", "authentication failed", "Project-Access-Token")]
    [InlineData("Providers:Railway:EnvironmentName", "staging", "railway", "no environment staging", "one of: production")]
    [InlineData("Stripe:WebhookSecret", "secret", "stripe", "whsec_", "Developers → Webhooks")]
    [InlineData("Stripe:SecretKey", "pk_test_123", "stripe", "sk_", "publishable")]
    [InlineData("ConnectionStrings:ControlDatabase", "Host=127.0.0.1;Port=1;Username=x;Password=y;Timeout=2", "control database", "", "PostgreSQL is running")]
    [InlineData("Providers:Neon:ProjectId", null, "neon", "Providers:Neon:ProjectId", "docs/operations.md")]
    [InlineData("Providers:Neon:ParentBranchId", null, "neon", "Providers:Neon:ParentBranchId (an empty template branch", "docs/operations.md")]
    [InlineData("Providers:Neon:ParentBranchId", "br-nowhere-1", "neon", "the template branch br-nowhere-1 does not exist", "empty template branch")]
    [InlineData("Providers:Neon:ParentBranchId", "br-main-000001", "neon", "is the project's default branch", "empty template branch")]
    [InlineData("Providers:Railway:Image", null, "railway", "Providers:Railway:Image or Providers:Railway:Repo", "docs/operations.md")]
    [InlineData("Llm:Provider", "gemini", "model", "not supported", "anthropic")]
    public async Task Doctor_CommonFailure_SaysWhatIsWrongAndTheFix(string setting, string? value, string check, string detail, string fix)
    {
        var findings = await RunAsync(new Dictionary<string, string?> { [setting] = value });

        var finding = Assert.Single(findings, f => f.Check == check && !f.Ok);
        Assert.Single(findings, f => !f.Ok); // the others are still checked, and fine
        Assert.Contains(detail, finding.Detail, StringComparison.Ordinal);
        Assert.Contains(fix, finding.Fix, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Doctor_OrphansAndStuckCustomers_FailTheLifecycleCheckWithTheOperatorRoutes()
    {
        await using (var insert = database.DataSource.CreateCommand(
            """
            insert into customers (id, email, plan, status_token_hash, lifecycle_error) values ('cus_00000000000000000001', 'x@example.com', 'pro', 'h', 'plan failed: put back');
            insert into orphans (kind, customer_id, source, reason) values ('service', 'cus_00000000000000000002', 'sweep', 'no live customer owns it');
            """))
        {
            await insert.ExecuteNonQueryAsync();
        }

        var finding = Assert.Single(await RunAsync(), f => f.Check == "lifecycle");

        Assert.False(finding.Ok);
        Assert.Equal("1 customer(s) with a lifecycle error, 1 open orphan(s)", finding.Detail);
        Assert.Contains("/api/operator/customers/{id}/retry", finding.Fix, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Doctor_TemplateBranchWithADatabase_FailsNamingWhatToDelete()
    {
        neon.FillTemplate();

        var finding = Assert.Single(await RunAsync(), f => f.Check == "neon");

        Assert.False(finding.Ok);
        Assert.Contains("template template is not empty (database neondb, role neondb_owner)", finding.Detail, StringComparison.Ordinal);
        Assert.Contains("Delete those databases and roles", finding.Fix, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Doctor_BranchLimitReached_FailsWithTheFix()
    {
        neon.MaxBranches = 1; // the default branch takes the only slot

        var finding = Assert.Single(await RunAsync(), f => f.Check == "neon");

        Assert.False(finding.Ok);
        Assert.Contains("branch limit", finding.Detail, StringComparison.Ordinal);
        Assert.Contains("delete unused branches", finding.Fix, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Doctor_WithAStripeKey_ChecksThePricesAndTheWebhookEndpoint()
    {
        await using var stripe = await StripeSimulator.StartAsync();
        stripe.Prices["price_doc_starter"] = (true, "month");
        stripe.Prices["price_doc_pro"] = (true, null); // one-time
        stripe.Prices["price_doc_old"] = (false, "month"); // archived
        var handled = SetupClaw.Billing.StripeWebhookHandler.HandledEventTypes;
        stripe.WebhookEndpoints.Add(("https://claw.example.com/api/stripe/webhook", "enabled", [.. handled.Where(t => t != "invoice.payment_failed")]));
        var settings = new Dictionary<string, string?>
        {
            ["Stripe:SecretKey"] = StripeSimulator.SecretKey,
            ["Stripe:ApiBase"] = stripe.ApiBase.ToString(),
            ["Stripe:WebhookSecret"] = "whsec_doctor_0123456789",
            ["Security:AdminKey"] = "admin_doctor_0123456789abcdef0123456789",
            ["App:PublicBaseUrl"] = "https://claw.example.com",
            ["Plans:Starter:StripePriceId"] = "price_doc_starter",
            ["Plans:Pro:StripePriceId"] = "price_doc_pro",
            ["Plans:Team:StripePriceId"] = "price_doc_missing",
        };

        var findings = await RunAsync(settings);

        var prices = Assert.Single(findings, f => f.Check == "stripe prices");
        Assert.False(prices.Ok);
        Assert.Contains("Pro's price price_doc_pro is one-time", prices.Detail, StringComparison.Ordinal);
        Assert.Contains("Team's price price_doc_missing does not exist", prices.Detail, StringComparison.Ordinal);
        var webhook = Assert.Single(findings, f => f.Check == "stripe webhook");
        Assert.False(webhook.Ok);
        Assert.Contains("does not send invoice.payment_failed", webhook.Detail, StringComparison.Ordinal);
        Assert.True(Assert.Single(findings, f => f.Check == "production settings").Ok);

        // Fixed in the dashboard: an active monthly price for each plan, and the missing event added.
        stripe.Prices["price_doc_pro"] = (true, "month");
        stripe.Prices["price_doc_missing"] = (true, "month");
        stripe.WebhookEndpoints.Clear();
        stripe.WebhookEndpoints.Add(("https://claw.example.com/api/stripe/webhook", "enabled", [.. handled]));
        settings["Plans:Team:StripePriceId"] = "price_doc_old";
        findings = await RunAsync(settings);
        prices = Assert.Single(findings, f => f.Check == "stripe prices");
        Assert.Equal("Team's price price_doc_old is archived (not active)", prices.Detail);
        settings["Plans:Team:StripePriceId"] = "price_doc_missing";
        findings = await RunAsync(settings);
        Assert.All(findings.Where(f => f.Check.StartsWith("stripe", StringComparison.Ordinal)), f => Assert.True(f.Ok, f.Check + ": " + f.Detail));
        Assert.Empty(stripe.Violations);
    }
}

using Npgsql;
using SetupClaw.Data;

namespace SetupClaw.Tests.Unit;

public sealed class PostgresConnectionStringsTests
{
    [Theory]
    [InlineData("postgres://mock:s%3Acret@db.example.com:6543/customers?sslmode=require", "db.example.com", 6543, "customers", "mock", "s:cret", SslMode.Require)]
    [InlineData("postgresql://u@127.0.0.1/proto", "127.0.0.1", 5432, "proto", "u", null, SslMode.Prefer)]
    [InlineData("Host=h;Port=5433;Database=d;Username=u;Password=p", "h", 5433, "d", "u", "p", SslMode.Prefer)]
    public void Normalize_ReadsUrlsAndConnectionStringsAlike(string given, string host, int port, string database, string user, string? password, SslMode ssl)
    {
        var built = new NpgsqlConnectionStringBuilder(PostgresConnectionStrings.Normalize(given));

        Assert.Equal((host, port, database, user, password, ssl), (built.Host, built.Port, built.Database, built.Username, built.Password, built.SslMode));
    }

    [Theory]
    [InlineData("postgres://")]
    [InlineData("postgres://u:p@h/d?sslmode=sometimes")]
    [InlineData("Hots=h;;=")]
    public void Normalize_RefusesWhatIsNeither_WithoutRepeatingThePassword(string given)
    {
        var error = Assert.Throws<FormatException>(() => PostgresConnectionStrings.Normalize(given));

        Assert.DoesNotContain(":p@", error.Message, StringComparison.Ordinal);
    }
}

public sealed class LegacyPriceTests
{
    [Fact]
    public void ALegacyPrice_IsReadAsItsPlan_AndAnUnknownOneAsNone()
    {
        var plans = new SetupClaw.Plans.PlanCatalog(Microsoft.Extensions.Options.Options.Create(new SetupClaw.Plans.PlansOptions
        {
            Pro = new() { StripePriceId = "price_pro_now" },
            LegacyPrices = new(StringComparer.Ordinal) { ["price_pro_2023"] = "pro", ["price_gold"] = "gold" },
        }));

        Assert.True(plans.TryGetByPriceId("price_pro_2023", out var legacy));
        Assert.Equal("pro", legacy.Name);
        Assert.True(plans.TryGetByPriceId("price_pro_now", out _));
        Assert.False(plans.TryGetByPriceId("price_gold", out _));
        Assert.False(plans.TryGetByPriceId("price_unknown", out _));
    }
}

using Microsoft.Extensions.Configuration;
using Npgsql;
using SetupClaw.Runtime;

namespace SetupClaw.Tests.Runtime;

public sealed class RuntimeSettingsTests
{
    [Fact]
    public void ConnectionString_FromAPostgresUri_AsNeonAndRailwayWriteThem()
    {
        var built = new NpgsqlConnectionStringBuilder(RuntimeSettings.ConnectionString(
            "postgresql://claw_cus_1:p%40ss%2Fword@ep-cool-river-123456-pooler.eu-central-1.aws.neon.tech/neondb?sslmode=require&channel_binding=require"));

        Assert.Equal("ep-cool-river-123456-pooler.eu-central-1.aws.neon.tech", built.Host);
        Assert.Equal(5432, built.Port);
        Assert.Equal("neondb", built.Database);
        Assert.Equal("claw_cus_1", built.Username);
        Assert.Equal("p@ss/word", built.Password);
        Assert.Equal(SslMode.Require, built.SslMode);
        Assert.Equal(20, built.MaxPoolSize);
    }

    [Fact]
    public void ConnectionString_KeepsAPoolSizeTheUrlSets()
    {
        var built = new NpgsqlConnectionStringBuilder(RuntimeSettings.ConnectionString("Host=db;Username=u;Password=p;Database=d;Maximum Pool Size=5"));

        Assert.Equal(5, built.MaxPoolSize);
        Assert.Equal(60, built.ConnectionIdleLifetime);
    }

    [Fact]
    public void LlmSettings_ToString_NeverShowsTheKey()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Llm:Provider"] = "OpenAI",
            ["Llm:ApiKey"] = "sk-do-not-print",
            ["Llm:Model"] = "gpt-x",
        }).Build();

        var settings = LlmSettings.From(configuration.GetSection("Llm"));

        Assert.Equal("openai", settings.Provider);
        Assert.DoesNotContain("sk-do-not-print", settings.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("sk-do-not-print", (settings with { Model = "other" }).ToString(), StringComparison.Ordinal);
    }
}

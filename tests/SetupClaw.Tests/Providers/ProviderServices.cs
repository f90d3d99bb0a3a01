using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using SetupClaw.Tests.Simulators;

namespace SetupClaw.Tests.Providers;

/// <summary>The providers wired exactly as the hosts wire them (SetupClawServices.AddProviders), pointed at simulators.</summary>
public static class ProviderServices
{
    /// <summary>The settings that choose Neon and/or Railway and point them at the simulators, with quick HTTP retries.</summary>
    public static Dictionary<string, string?> Settings(NeonSimulator? neon, RailwaySimulator? railway)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Providers:Database"] = neon is null ? "Local" : "Neon",
            ["Providers:Compute"] = railway is null ? "Local" : "Railway",
            ["Providers:Http:RetryBaseDelay"] = "00:00:00.020",
            ["Providers:Http:MaxRetries"] = "6",
            ["Providers:Http:AttemptTimeout"] = "00:00:05",
        };
        if (neon is not null)
        {
            settings["Providers:Neon:BaseUrl"] = neon.ApiUrl.ToString();
            settings["Providers:Neon:ApiKey"] = neon.ApiKey;
            settings["Providers:Neon:ProjectId"] = NeonSimulator.ProjectId;
            settings["Providers:Neon:ParentBranchId"] = NeonSimulator.TemplateBranchId;
            settings["Providers:Neon:OperationPollInterval"] = "00:00:00.020";
        }

        if (railway is not null)
        {
            settings["Providers:Railway:Endpoint"] = railway.Endpoint.ToString();
            settings["Providers:Railway:Token"] = railway.Token;
            settings["Providers:Railway:ProjectId"] = RailwaySimulator.ProjectId;
            settings["Providers:Railway:Image"] = "ghcr.io/setupclaw/runtime:1.0";
            // Ask Railway at once: these tests count and fault its calls (the watch is the simulated stack's).
            settings["Providers:Railway:DeploymentWatchSeconds"] = "0";
            // Read each service's state afresh: these tests change it between reads.
            settings["Providers:Railway:StateCacheSeconds"] = "0";
            // No pacing beyond what a test asks for: the simulator enforces no limit unless a test sets one.
            settings["Providers:Railway:MaxRequestsPerSecond"] = "100000";
        }

        return settings;
    }

    public static ServiceProvider Build(NeonSimulator? neon, RailwaySimulator? railway, IDictionary<string, string?>? extra = null)
    {
        var settings = Settings(neon, railway);
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton(TimeProvider.System);
        SetupClawServices.AddProviders(services, configuration, "Host=127.0.0.1;Database=unused");
        // As the hosts build it: scopes validated, so a lifetime mistake fails here and not silently in an activity.
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateScopes = true, ValidateOnBuild = true });
    }
}

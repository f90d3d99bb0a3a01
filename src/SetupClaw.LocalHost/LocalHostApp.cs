namespace SetupClaw.LocalHost;

/// <summary>The local host as an application: built by Program, and in-process by tests that replace a service or two.</summary>
internal static class LocalHostApp
{
    public static WebApplicationBuilder CreateBuilder(string[] args, IDictionary<string, string?>? settings = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.Configuration.AddLocalSettings();
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings);
        }

        return builder;
    }

    public static WebApplication Build(WebApplicationBuilder builder, Action<IServiceCollection>? replace = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (ProductionSettings.AppliesToLocalHost(builder.Configuration))
        {
            ProductionSettings.Require(builder.Configuration, reachable: !ProductionSettings.LocalHostIsLoopback(builder.Configuration));
        }

        builder.Services.AddSetupClawCore(builder.Configuration);
        builder.AddDurableSidecar();
        builder.Services.AddHostedService<LocalRecovery>();
        builder.Services.AddHostedService<LocalPool>();
        builder.AddLocalTelemetry();
        builder.ConfigureLocalEndpoint();

        // The worker's gRPC stream to the sidecar stays open until cancelled: do not let it hold Ctrl-C up for long.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));
        replace?.Invoke(builder.Services);
        var app = builder.Build();
        app.MapSetupClawEndpoints();
        return app;
    }
}

using Microsoft.DurableTask;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;
using SetupClaw.Billing;
using SetupClaw.Credentials;
using SetupClaw.Customers;
using SetupClaw.Data;
using SetupClaw.Deprovisioning;
using SetupClaw.Lifecycle;
using SetupClaw.Operations;
using SetupClaw.Plans;
using SetupClaw.Providers;
using SetupClaw.Providers.Local;
using SetupClaw.Provisioning;
using SetupClaw.Signup;

namespace SetupClaw;

/// <summary>The one core both hosts share: options, data, providers, handlers and the durable task registrations.</summary>
public static class SetupClawServices
{
    public const string ControlDatabaseKey = "ControlDatabase";

    public static IServiceCollection AddSetupClawCore(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<AppOptions>().Bind(configuration.GetSection(AppOptions.Section)).ValidateOnStart();
        services.AddOptions<PlansOptions>().Bind(configuration.GetSection(PlansOptions.Section)).ValidateOnStart();
        services.AddOptions<ProvisioningOptions>().Bind(configuration.GetSection(ProvisioningOptions.Section));
        services.AddOptions<LlmOptions>().Bind(configuration.GetSection(LlmOptions.Section));
        services.AddOptions<LocalProviderOptions>().Bind(configuration.GetSection(LocalProviderOptions.Section));
        services.AddOptions<StripeOptions>().Bind(configuration.GetSection(StripeOptions.Section))
            .Validate(o => !string.IsNullOrWhiteSpace(o.WebhookSecret), "Stripe:WebhookSecret is required (the endpoint's whsec_… secret; offline billing signs with it too).")
            .ValidateOnStart();
        services.AddOptions<SecurityOptions>().Bind(configuration.GetSection(SecurityOptions.Section))
            .Validate(o => SecretBox.IsValidKey(o.EncryptionKey), "Security:EncryptionKey must be base64 of 32 random bytes (openssl rand -base64 32).")
            .Validate(o => o.AdminKey.Length >= 16, "Security:AdminKey is required (at least 16 characters).")
            .ValidateOnStart();

        var controlConnection = configuration.GetConnectionString(ControlDatabaseKey);
        if (string.IsNullOrWhiteSpace(controlConnection))
        {
            throw new OptionsValidationException(ControlDatabaseKey, typeof(string),
                [$"ConnectionStrings:{ControlDatabaseKey} is required (the control-plane PostgreSQL database)."]);
        }

        services.AddSingleton(_ => NpgsqlDataSource.Create(controlConnection));
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<ControlDatabase>();
        services.AddSingleton<ICustomerStore, PostgresCustomerStore>();
        services.AddSingleton<SecretBox>();
        services.AddSingleton<PlanCatalog>();
        services.AddSingleton<IWorkspaceSeeder, WorkspaceSeeder>();
        services.AddSingleton<LifecycleStarter>();
        services.AddSingleton<SignupHandler>();
        services.AddSingleton<StripeWebhookHandler>();
        services.AddSingleton<ProvisioningStatusHandler>();
        services.AddSingleton<OrchestrationStatusHandler>();
        services.AddSingleton<OfflineCheckoutHandler>();
        services.AddSingleton<ICheckoutGateway>(sp => sp.GetRequiredService<IOptions<StripeOptions>>().Value.IsOffline
            ? ActivatorUtilities.CreateInstance<OfflineCheckoutGateway>(sp)
            : ActivatorUtilities.CreateInstance<StripeCheckoutGateway>(sp));
        services.AddHttpClient(HealthCheckActivity.HttpClientName, c => c.Timeout = TimeSpan.FromSeconds(5));
        services.AddHttpClient(OfflineCheckoutHandler.HttpClientName, c => c.Timeout = TimeSpan.FromSeconds(30));
        services.AddHostedService<MigrateOnStart>();

        AddProviders(services, configuration, controlConnection);
        return services;
    }

    /// <summary>Every orchestrator and activity, registered by class name in both hosts and in the tests.</summary>
    public static DurableTaskRegistry AddSetupClawTasks(this DurableTaskRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        return registry
            .AddOrchestrator<ProvisionCustomerOrchestrator>()
            .AddOrchestrator<DeprovisionCustomerOrchestrator>()
            .AddActivity<ReserveCredentialsActivity>()
            .AddActivity<CreateDatabaseActivity>()
            .AddActivity<SeedWorkspaceActivity>()
            .AddActivity<CreateServiceActivity>()
            .AddActivity<DeployServiceActivity>()
            .AddActivity<GetDeploymentStatusActivity>()
            .AddActivity<HealthCheckActivity>()
            .AddActivity<ActivateCustomerActivity>()
            .AddActivity<MarkCustomerFailedActivity>()
            .AddActivity<DeleteServiceActivity>()
            .AddActivity<DeleteDatabaseActivity>()
            .AddActivity<BeginDeprovisionActivity>()
            .AddActivity<CompleteDeprovisionActivity>();
    }

    private static void AddProviders(IServiceCollection services, IConfiguration configuration, string controlConnection)
    {
        var database = configuration["Providers:Database"] ?? "Local";
        var compute = configuration["Providers:Compute"] ?? "Local";
        if (!string.Equals(database, "Local", StringComparison.OrdinalIgnoreCase) || !string.Equals(compute, "Local", StringComparison.OrdinalIgnoreCase))
        {
            throw new OptionsValidationException("Providers", typeof(string),
                [$"Providers:Database '{database}' / Providers:Compute '{compute}': only 'Local' is available in this build."]);
        }

        services.AddSingleton(sp => new LocalAdminConnection(
            sp.GetRequiredService<IOptions<LocalProviderOptions>>().Value.AdminConnectionString ?? controlConnection));
        services.AddSingleton<IDatabaseProvider, LocalDatabaseProvider>();
        services.AddSingleton<LocalComputeProvider>();
        services.AddSingleton<IComputeProvider>(sp => sp.GetRequiredService<LocalComputeProvider>());
    }

    private sealed class MigrateOnStart(ControlDatabase database) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => database.MigrateAsync(cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}

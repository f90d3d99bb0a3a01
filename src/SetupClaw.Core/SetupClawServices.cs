using Microsoft.DurableTask;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;
using Refit;
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
using SetupClaw.Providers.Neon;
using SetupClaw.Providers.Railway;
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
        services.AddSingleton<LifecycleStore>();
        services.AddSingleton<OrphanStore>();
        services.AddSingleton<CustomerLifecycle>();
        services.AddSingleton<ICustomerData, PostgresCustomerData>();
        services.AddTransient<OrphanSweeper>();
        services.AddTransient<OperatorHandler>();
        services.AddOptions<SweepOptions>().Bind(configuration.GetSection(SweepOptions.Section));
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
            .AddOrchestrator<CustomerLifecycleOrchestrator>()
            .AddOrchestrator<ChangePlanOrchestrator>()
            .AddActivity<NextLifecycleStepActivity>()
            .AddActivity<ReleaseLifecycleActivity>()
            .AddActivity<BeginProvisioningRunActivity>()
            .AddActivity<SetSuspendedActivity>()
            .AddActivity<ApplyPlanActivity>()
            .AddActivity<ArchiveCustomerDataActivity>()
            .AddActivity<RecordOrphanActivity>()
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

    /// <summary>
    /// Provider choice is configuration (<c>Providers:Database</c> Local | Neon, <c>Providers:Compute</c> Local |
    /// Railway): rolling back is a setting. A chosen provider's missing settings fail start-up, by name.
    /// </summary>
    internal static void AddProviders(IServiceCollection services, IConfiguration configuration, string controlConnection)
    {
        var database = configuration["Providers:Database"] ?? "Local";
        var compute = configuration["Providers:Compute"] ?? "Local";
        var http = configuration.GetSection(ProviderHttpOptions.Section).Get<ProviderHttpOptions>() ?? new ProviderHttpOptions();
        services.AddSingleton<ProviderRetries>();

        if (string.Equals(database, "Local", StringComparison.OrdinalIgnoreCase))
        {
            services.AddSingleton(sp => new LocalAdminConnection(
                sp.GetRequiredService<IOptions<LocalProviderOptions>>().Value.AdminConnectionString ?? controlConnection));
            services.AddSingleton<IDatabaseProvider, LocalDatabaseProvider>();
        }
        else if (string.Equals(database, "Neon", StringComparison.OrdinalIgnoreCase))
        {
            var neon = Require<NeonOptions>(configuration, NeonOptions.Section, o => o.Missing());
            services.AddSingleton(Options.Create(neon));
            services.AddRefitGeneratedClient<INeonApi>(NeonJson.Default)
                .ConfigureHttpClient(client =>
                {
                    client.BaseAddress = new Uri(neon.BaseUrl.ToString().TrimEnd('/'));
                    client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", neon.ApiKey);
                    client.DefaultRequestHeaders.Accept.ParseAdd("application/json");
                })
                .AddProviderResilience("neon", http);
            // Transient, like the HTTP clients they use (IHttpClientFactory rotates their handlers).
            services.AddTransient<NeonDatabaseProvider>();
            services.AddTransient<IDatabaseProvider>(sp => sp.GetRequiredService<NeonDatabaseProvider>());
        }
        else
        {
            throw new OptionsValidationException("Providers:Database", typeof(string), [$"Providers:Database is '{database}': use Local or Neon."]);
        }

        if (string.Equals(compute, "Local", StringComparison.OrdinalIgnoreCase))
        {
            services.AddSingleton<LocalComputeProvider>();
            services.AddSingleton<IComputeProvider>(sp => sp.GetRequiredService<LocalComputeProvider>());
        }
        else if (string.Equals(compute, "Railway", StringComparison.OrdinalIgnoreCase))
        {
            var railway = Require<RailwayOptions>(configuration, RailwayOptions.Section, o => o.Missing());
            services.AddSingleton(Options.Create(railway));
            services.AddSingleton(railway);
            services.AddHttpClient<RailwayClient>().AddProviderResilience("railway", http);
            services.AddSingleton<RailwayEnvironment>();
            services.AddTransient<RailwayComputeProvider>();
            services.AddTransient<IComputeProvider>(sp => sp.GetRequiredService<RailwayComputeProvider>());
        }
        else
        {
            throw new OptionsValidationException("Providers:Compute", typeof(string), [$"Providers:Compute is '{compute}': use Local or Railway."]);
        }
    }

    private static T Require<T>(IConfiguration configuration, string section, Func<T, IEnumerable<string>> missing)
        where T : class, new()
    {
        var options = configuration.GetSection(section).Get<T>() ?? new T();
        var names = missing(options).ToList();
        return names.Count == 0 ? options : throw new OptionsValidationException(section, typeof(T),
            [$"{section} is chosen but these settings are missing: {string.Join(", ", names)}."]);
    }

    private sealed class MigrateOnStart(ControlDatabase database) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => database.MigrateAsync(cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}

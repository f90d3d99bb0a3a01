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
using SetupClaw.Http;
using SetupClaw.Lifecycle;
using SetupClaw.Operations;
using SetupClaw.Plans;
using SetupClaw.Providers;
using SetupClaw.Providers.Local;
using SetupClaw.Providers.Neon;
using SetupClaw.Providers.Railway;
using SetupClaw.Provisioning;
using SetupClaw.Signup;
using Stripe;

namespace SetupClaw;

/// <summary>The one core both hosts share: options, data, providers, handlers and the durable task registrations.</summary>
public static class SetupClawServices
{
    public const string ControlDatabaseKey = "ControlDatabase";

    /// <summary>Everything both hosts run: one registration per feature, each readable on its own.</summary>
    public static IServiceCollection AddSetupClawCore(this IServiceCollection services, IConfiguration configuration)
    {
        var controlConnection = services.AddControlDatabase(configuration);
        services.AddSecurity(configuration);
        services.AddBilling(configuration);
        services.AddProvisioning(configuration);
        services.AddLifecycle();
        services.AddOperations(configuration);
        services.AddCustomerPages(configuration);
        AddProviders(services, configuration, controlConnection);
        return services;
    }

    /// <summary>The control database (customers, steps, events, orphans), migrated at start. Returns its connection string.</summary>
    public static string AddControlDatabase(this IServiceCollection services, IConfiguration configuration)
    {
        var controlConnection = configuration.GetConnectionString(ControlDatabaseKey);
        if (string.IsNullOrWhiteSpace(controlConnection))
        {
            throw new OptionsValidationException(ControlDatabaseKey, typeof(string),
                [$"ConnectionStrings:{ControlDatabaseKey} is required (the control-plane PostgreSQL database)."]);
        }

        // A postgres:// URL (as Neon's console gives it) works as well as a connection string.
        controlConnection = Data.PostgresConnectionStrings.Normalize(controlConnection);
        services.AddSingleton(_ => NpgsqlDataSource.Create(controlConnection));
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<ControlDatabase>();
        services.AddSingleton<ICustomerStore, PostgresCustomerStore>();
        services.AddHostedService<MigrateOnStart>();
        return controlConnection;
    }

    /// <summary>The key that seals secrets at rest and the operator's admin key.</summary>
    public static IServiceCollection AddSecurity(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<SecurityOptions>().Bind(configuration.GetSection(SecurityOptions.Section))
            .Validate(o => SecretBox.IsValidKey(o.EncryptionKey), "Security:EncryptionKey must be base64 of 32 random bytes (openssl rand -base64 32).")
            .Validate(o => o.AdminKey.Length >= 16, "Security:AdminKey is required (at least 16 characters).")
            .ValidateOnStart();
        services.AddSingleton<SecretBox>();
        services.AddSingleton<SecretRotation>();
        services.AddOptions<RateLimitOptions>().Bind(configuration.GetSection(RateLimitOptions.Section));
        services.AddSingleton<RequestLimits>();
        return services;
    }

    /// <summary>Plans and prices, sign-up, checkout (Stripe or offline) and the Stripe webhook.</summary>
    public static IServiceCollection AddBilling(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<AppOptions>().Bind(configuration.GetSection(AppOptions.Section))
            .Validate(o => Providers.InstallationTag.IsValid(o.InstallationId), "App:InstallationId must be 1 to 40 characters from a-z, 0-9 and '-'.")
            .ValidateOnStart();
        services.AddOptions<PlansOptions>().Bind(configuration.GetSection(PlansOptions.Section)).ValidateOnStart();
        services.AddOptions<StripeOptions>().Bind(configuration.GetSection(StripeOptions.Section))
            .Validate(o => !string.IsNullOrWhiteSpace(o.WebhookSecret), "Stripe:WebhookSecret is required (the endpoint's whsec_… secret; offline billing signs with it too).")
            .ValidateOnStart();
        services.AddSingleton<PlanCatalog>();
        services.AddSingleton<SignupHandler>();
        services.AddSingleton<StripeWebhookHandler>();
        services.AddSingleton<OfflineCheckoutHandler>();
        services.AddSingleton<IStripeClient>(sp => sp.GetRequiredService<IOptions<StripeOptions>>().Value.CreateClient());
        services.AddSingleton<StripeReader>();
        services.AddSingleton<StripeActions>();
        services.AddSingleton<ICheckoutGateway>(sp => sp.GetRequiredService<IOptions<StripeOptions>>().Value.IsOffline
            ? ActivatorUtilities.CreateInstance<OfflineCheckoutGateway>(sp)
            : ActivatorUtilities.CreateInstance<StripeCheckoutGateway>(sp));
        services.AddSingleton<OfflineWebhook>();
        services.AddHttpClient(OfflineWebhook.HttpClientName, c => c.Timeout = TimeSpan.FromSeconds(30));
        return services;
    }

    /// <summary>What the provisioning saga's steps need besides the providers: the seeder, the health check, the status endpoint.</summary>
    public static IServiceCollection AddProvisioning(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ProvisioningOptions>().Bind(configuration.GetSection(ProvisioningOptions.Section));
        services.AddOptions<LlmOptions>().Bind(configuration.GetSection(LlmOptions.Section));
        services.AddSingleton<IWorkspaceSeeder, WorkspaceSeeder>();
        services.AddSingleton<ProvisioningStatusHandler>();
        services.AddSingleton<DeploymentWatch>();
        services.AddHttpClient(HealthCheckActivity.HttpClientName, c => c.Timeout = TimeSpan.FromSeconds(5));
        services.AddSingleton<Gateway.ModelClients>();
        services.AddSingleton<Gateway.ModelUsageStore>();
        services.AddSingleton<Gateway.ModelGatewayHandler>();
        return services;
    }

    /// <summary>Stripe's facts, the per-customer lease and the scheduling of lifecycle runs; the customer's own database.</summary>
    public static IServiceCollection AddLifecycle(this IServiceCollection services)
    {
        services.AddSingleton<LifecycleStore>();
        services.AddSingleton<LifecycleStarter>();
        services.AddSingleton<LifecycleScheduler>();
        services.AddSingleton<ICustomerData, PostgresCustomerData>();
        services.AddSingleton<AssistantIdentityWriter>();
        services.AddMetrics();
        services.AddSingleton<Telemetry.SetupClawMetrics>();
        return services;
    }

    /// <summary>The operator's side: orphans and the sweep, the operator routes, the durable status endpoint.</summary>
    public static IServiceCollection AddOperations(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<SweepOptions>().Bind(configuration.GetSection(SweepOptions.Section));
        services.AddSingleton<OrphanStore>();
        services.AddTransient<OrphanSweeper>();
        services.AddTransient<OperatorHandler>();
        services.AddTransient<Migration.MockMigration>();
        services.AddTransient<Migration.MockMigrationHandler>();
        services.AddTransient<AssistantBackfill>();
        services.AddTransient<SmokeHandler>();
        services.AddSingleton<OrchestrationStatusHandler>();
        services.AddSingleton<HealthHandler>();
        return services.AddPool(configuration);
    }

    /// <summary>The customer's side: dashboard sessions and sign-in links, Manage billing, and the emails (<c>Dashboard:*</c>, <c>Email:*</c>).</summary>
    public static IServiceCollection AddCustomerPages(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<Dashboard.DashboardOptions>().Bind(configuration.GetSection(Dashboard.DashboardOptions.Section));
        services.AddOptions<Email.EmailOptions>().Bind(configuration.GetSection(Email.EmailOptions.Section))
            .Validate(o => MimeKit.MailboxAddress.TryParse(o.From, out var from) && from.Address.Contains('@', StringComparison.Ordinal),
                "Email:From must be an address, like 'SetupClaw <hello@example.com>'.")
            .ValidateOnStart();
        services.AddSingleton<Dashboard.CustomerSessions>();
        services.AddSingleton<Dashboard.AssistantDatabase>();
        services.AddSingleton<Dashboard.BillingPortal>();
        services.AddSingleton<Dashboard.DashboardHandler>();
        services.AddSingleton<Email.IEmailSender>(sp => sp.GetRequiredService<IOptions<Email.EmailOptions>>().Value.UsesSmtp
            ? ActivatorUtilities.CreateInstance<Email.SmtpEmailSender>(sp)
            : ActivatorUtilities.CreateInstance<Email.OutboxFolderEmailSender>(sp));
        services.AddSingleton<Email.EmailOutbox>();
        services.AddHostedService(sp => sp.GetRequiredService<Email.EmailOutbox>());
        services.AddSingleton<Email.CustomerEmails>();
        return services;
    }

    /// <summary>The warm pool: its store, the claim's wake-up signal and the reconciler (<c>Pool:*</c>).</summary>
    public static IServiceCollection AddPool(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<Pool.PoolOptions>().Bind(configuration.GetSection(Pool.PoolOptions.Section));
        services.AddSingleton<Pool.PoolStore>();
        services.AddSingleton<Pool.PoolSignal>();
        services.AddTransient<Pool.PoolReconciler>();
        return services;
    }

    /// <summary>
    /// Every orchestrator and activity, in both hosts and in the tests. Registered names are stored in durable
    /// history: a class that is renamed keeps its first name (<c>RegisteredName</c>), so runs in flight find it.
    /// </summary>
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
            .AddActivity(SuspendOrResumeActivity.RegisteredName, typeof(SuspendOrResumeActivity))
            .AddActivity<ApplyPlanActivity>()
            .AddActivity<ArchiveCustomerDataActivity>()
            .AddActivity<RecordOrphanActivity>()
            .AddActivity<ReserveCredentialsActivity>()
            .AddActivity<Pool.ClaimInstanceActivity>()
            .AddActivity<Pool.ResizeInstanceActivity>()
            .AddActivity<Pool.AbandonClaimActivity>()
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
            .AddActivity(RevokeCredentialsActivity.RegisteredName, typeof(RevokeCredentialsActivity));
    }

    /// <summary>
    /// Provider choice is configuration (<c>Providers:Database</c> Local | Neon, <c>Providers:Compute</c> Local |
    /// Railway): rolling back is a setting. A chosen provider's missing settings fail start-up, by name.
    /// </summary>
    internal static void AddProviders(IServiceCollection services, IConfiguration configuration, string controlConnection)
    {
        // The providers read each plan's idle settings (sleep, database suspend): the catalogue, bound once.
        if (!services.Any(d => d.ServiceType == typeof(PlanCatalog)))
        {
            services.AddOptions<PlansOptions>().Bind(configuration.GetSection(PlansOptions.Section));
            services.AddSingleton<PlanCatalog>();
        }

        services.AddOptions<LocalProviderOptions>().Bind(configuration.GetSection(LocalProviderOptions.Section));
        var database = configuration["Providers:Database"] ?? "Local";
        var compute = configuration["Providers:Compute"] ?? "Local";
        var http = configuration.GetSection(ProviderHttpOptions.Section).Get<ProviderHttpOptions>() ?? new ProviderHttpOptions();
        services.AddSingleton<ProviderRetries>();

        if (string.Equals(database, "Local", StringComparison.OrdinalIgnoreCase))
        {
            services.AddSingleton(sp => new LocalAdminConnection(
                Data.PostgresConnectionStrings.Normalize(sp.GetRequiredService<IOptions<LocalProviderOptions>>().Value.AdminConnectionString ?? controlConnection), controlConnection));
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
            services.AddSingleton<NeonWriteGate>();
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
            // The pacer is outside the retries: a call waits its turn before its attempts' timeouts start; a 429 it sees
            // holds every later call, and the retry honours the Retry-After.
            services.AddKeyedSingleton("railway", (sp, _) => new RateLimitPacer(railway.MaxRequestsPerSecond, sp.GetRequiredService<TimeProvider>()));
            services.AddHttpClient<RailwayClient>()
                .AddHttpMessageHandler(sp => new RateLimitPacingHandler(sp.GetRequiredKeyedService<RateLimitPacer>("railway")))
                .AddProviderResilience("railway", http);
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

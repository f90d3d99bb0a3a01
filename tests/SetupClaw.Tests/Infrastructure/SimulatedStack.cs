using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using SetupClaw.Billing;
using SetupClaw.Customers;
using SetupClaw.Lifecycle;
using SetupClaw.LocalHost;
using SetupClaw.Plans;
using SetupClaw.Providers;
using SetupClaw.Providers.Local;
using SetupClaw.Provisioning;
using SetupClaw.Tests.Simulators;

namespace SetupClaw.Tests.Infrastructure;

/// <summary>
/// The local host built in-process around the simulators: the real webhook, lifecycle runs, sagas, sweep and
/// durable sidecar, the real Neon and Railway providers; only the seed step, the control plane's writes into the
/// customer's (simulated) database and the runtime's /health are stand-ins.
/// </summary>
public sealed class SimulatedStack : IAsyncDisposable
{
    public const string WebhookSecret = "whsec_chaos_0123456789abcdef";
    public const string AdminKey = "admin_chaos_key_0123456789abcdefghij";

    public static readonly Dictionary<string, string> PriceOf = new()
    {
        [Plan.Starter] = "price_chaos_starter", [Plan.Pro] = "price_chaos_pro", [Plan.Team] = "price_chaos_team",
    };

    private SimulatedStack(TestDatabase database, NeonSimulator neon, RailwaySimulator railway)
    {
        Database = database;
        Neon = neon;
        Railway = railway;
    }

    public TestDatabase Database { get; }

    public NeonSimulator Neon { get; }

    public RailwaySimulator Railway { get; }

    public FakeCustomerData CustomerData { get; } = new();

    /// <summary>Every error the host logged (with its exception), for a test to print when something went wrong.</summary>
    public ConcurrentQueue<string> Errors { get; } = new();

    public WebApplication App { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    /// <summary>The Stripe stand-in the stack's Stripe key points at, or null (offline billing).</summary>
    public StripeSimulator? Stripe { get; private set; }

    /// <param name="stripe">A Stripe stand-in to use as Stripe (checkout and reads); null: offline billing.</param>
    /// <param name="changes">Settings that differ from the stack's defaults.</param>
    public static async Task<SimulatedStack> StartAsync(StripeSimulator? stripe = null, IReadOnlyDictionary<string, string?>? changes = null)
    {
        var database = new TestDatabase();
        await database.InitializeAsync();
        var stack = new SimulatedStack(database, await NeonSimulator.StartAsync(), await RailwaySimulator.StartAsync()) { Stripe = stripe };
        var settings = Providers.ProviderServices.Settings(stack.Neon, stack.Railway);
        var port = LoopbackPorts.Free();
        settings["ConnectionStrings:ControlDatabase"] = database.ConnectionString;
        settings["LocalHost:Url"] = $"http://127.0.0.1:{port}";
        settings["App:PublicBaseUrl"] = $"http://127.0.0.1:{port}";
        settings["Stripe:SecretKey"] = stripe is null ? "" : StripeSimulator.SecretKey;
        settings["Stripe:ApiBase"] = stripe?.ApiBase.ToString();
        settings["Stripe:WebhookSecret"] = WebhookSecret;
        settings["Security:EncryptionKey"] = Convert.ToBase64String(new byte[32]);
        settings["Security:AdminKey"] = AdminKey;
        settings["Provisioning:HealthCheckTimeout"] = "00:00:05";
        // Deployments are watched at their address (as in production), and Railway asked after 2 s without an answer.
        settings["Providers:Railway:DeploymentWatchSeconds"] = "2";
        settings["Sweep:IntervalSeconds"] = "3";
        // A claimed run the backend never got (it was out of reach for a moment) is scheduled again after 2 s, not the
        // production 30 s: tests wait on what happens, not on the grace.
        settings["Sweep:GraceSeconds"] = "2";
        settings["Durable:MaxConcurrentActivities"] = "48";
        settings["Durable:MaxConcurrentOrchestrations"] = "64";
        // One address (loopback) signs up hundreds of customers here; the rate-limit test lowers these.
        settings["RateLimits:SignupsPerMinute"] = "100000";
        settings["RateLimits:AdminFailuresBeforeLockout"] = "100000";
        settings["Logging:LogLevel:Default"] = Environment.GetEnvironmentVariable("SETUPCLAW_TEST_LOGLEVEL") ?? "Warning";
        settings["Logging:LogLevel:Polly"] = "Error";
        foreach (var (plan, price) in PriceOf)
        {
            settings[$"Plans:{char.ToUpperInvariant(plan[0])}{plan[1..]}:StripePriceId"] = price;
            stripe?.Prices.TryAdd(price, (true, "month"));
        }

        foreach (var (key, value) in changes ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        stack.App = LocalHostApp.Build(LocalHostApp.CreateBuilder([], settings), services =>
        {
            services.AddSingleton<ILoggerProvider>(new ErrorCollector(stack.Errors));
            services.AddSingleton<IWorkspaceSeeder>(new NoSeed());
            services.AddSingleton<ICustomerData>(stack.CustomerData);
            services.AddHttpClient(HealthCheckActivity.HttpClientName).ConfigurePrimaryHttpMessageHandler(() => new RailwayHealth(stack.Railway, stack.CustomerData));
        });
        await stack.App.StartAsync();
        await DurableSidecar.WaitUntilReachableAsync(stack.App.Services.GetRequiredService<Microsoft.DurableTask.Client.DurableTaskClient>(), TimeSpan.FromSeconds(30));
        stack.Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(60) };
        return stack;
    }

    public async Task<HttpResponseMessage> SendAsync(string payload, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/stripe/webhook") { Content = new StringContent(payload, Encoding.UTF8, "application/json") };
        request.Headers.Add("Stripe-Signature", StripeEventFactory.Sign(payload, WebhookSecret, DateTimeOffset.UtcNow));
        return await Http.SendAsync(request, cancellationToken);
    }

    public async Task<string> SignupAsync(string email, string plan) => (await SignupForCheckoutAsync(email, plan)).CustomerId;

    /// <summary>Signs up and returns the customer with the Checkout Session signup created for it.</summary>
    public async Task<(string CustomerId, string CheckoutSessionId, string CheckoutUrl)> SignupForCheckoutAsync(string email, string plan)
    {
        using var signup = await Http.PostAsJsonAsync("/api/signup", new { email, plan, name = "Sim" });
        Assert.Equal(HttpStatusCode.Created, signup.StatusCode);
        var body = await signup.Content.ReadFromJsonAsync<JsonElement>();
        return (body.GetProperty("customerId").GetString()!, body.GetProperty("checkoutSessionId").GetString()!, body.GetProperty("checkoutUrl").GetString()!);
    }

    public Task<Customer?> CustomerAsync(string customerId) => App.Services.GetRequiredService<ICustomerStore>().GetAsync(customerId, default);

    public Task SettledAsync(TimeSpan? timeout = null) => Wait.UntilAsync(
        async () => await Database.CountAsync(
            "select count(*) from customers where lifecycle_instance is not null or applied_version < desired_version or provisioning_status in ('provisioning', 'deprovisioning')") == 0,
        timeout ?? TimeSpan.FromMinutes(10), "every lifecycle run to settle", TimeSpan.FromMilliseconds(200));

    public async Task SweepAsync()
    {
        using var sweep = new HttpRequestMessage(HttpMethod.Post, "/api/operator/sweep");
        sweep.Headers.Add("X-Admin-Key", AdminKey);
        (await Http.SendAsync(sweep)).EnsureSuccessStatusCode();
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        await Neon.DisposeAsync();
        await Railway.DisposeAsync();
        await Database.DisposeAsync();
        if (Stripe is not null)
        {
            await Stripe.DisposeAsync();
        }
    }

    /// <summary>Errors the host logs, without the resilience pipeline's own reports of the retries it made.</summary>
    private sealed class ErrorCollector(ConcurrentQueue<string> errors) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Collector(categoryName, errors);

        public void Dispose()
        {
        }

        private sealed class Collector(string category, ConcurrentQueue<string> errors) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Error && !category.StartsWith("Polly", StringComparison.Ordinal);

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (IsEnabled(logLevel) && errors.Count < 200)
                {
                    errors.Enqueue($"[{category}] {formatter(state, exception)} {exception}");
                }
            }
        }
    }

    private sealed class NoSeed : IWorkspaceSeeder
    {
        public Task SeedAsync(string connectionString, Customer customer, string workspaceId, CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>
    /// A service's <c>/health</c> as its runtime would answer while the service exists: 200, with the identity written
    /// into the database its <c>DATABASE_URL</c> names (none yet: a pool member that belongs to nobody).
    /// </summary>
    private sealed class RailwayHealth(RailwaySimulator railway, FakeCustomerData data) : HttpMessageHandler
    {
        /// <summary>Services whose runtime does not answer (a crashed pool member), by service name.</summary>
        public static readonly ConcurrentDictionary<string, bool> Down = new();

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var host = request.RequestUri!.Host;
            var name = host[..Math.Max(0, host.IndexOf("-production", StringComparison.Ordinal))];
            if (!railway.IsServing(name))
            {
                // Railway's edge before a domain routes to a healthy deployment.
                return Task.FromResult(new HttpResponseMessage(HttpStatusCode.NotFound) { Content = new StringContent("Not Found - The train has not arrived at the station") });
            }

            if (railway.Service(name)?["variables"]?["DATABASE_URL"]?.GetValue<string>() is not { } databaseUrl || Down.ContainsKey(name))
            {
                return Task.FromResult(new HttpResponseMessage(HttpStatusCode.ServiceUnavailable));
            }

            var identity = data.IdentityIn(databaseUrl);
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK)
            {
                Content = new StringContent(JsonSerializer.Serialize(new
                {
                    status = "healthy",
                    workspaceId = identity?.WorkspaceId,
                    database = "connected",
                    modelProvider = "none",
                    plan = identity?.PlanName,
                }), Encoding.UTF8, "application/json"),
            });
        }
    }

    /// <summary>Makes the runtime of a service answer 503 from now on (or again 200), as a crashed one would.</summary>
    public static void SetDown(string serviceName, bool down)
    {
        if (down)
        {
            RailwayHealth.Down[serviceName] = true;
        }
        else
        {
            RailwayHealth.Down.TryRemove(serviceName, out _);
        }
    }
}

/// <summary>The customer's database as the control plane sees it, keyed by the customer's role in the connection string.</summary>
public sealed class FakeCustomerData : ICustomerData
{
    private readonly ConcurrentDictionary<string, bool> suspended = new();
    private readonly ConcurrentDictionary<string, AssistantIdentity> identities = new();

    public bool IsSuspended(string customerId) => suspended.GetValueOrDefault(customerId);

    /// <summary>The identity last written for the customer (into whichever database is its), or null.</summary>
    public AssistantIdentity? IdentityOf(string customerId) => identities.Values.LastOrDefault(i => i.CustomerId == customerId);

    /// <summary>The identity written into the database this connection string opens (keyed by its role), or null.</summary>
    public AssistantIdentity? IdentityIn(string connectionString) => identities.GetValueOrDefault(RoleOf(connectionString));

    public Task WriteIdentityAsync(string connectionString, AssistantIdentity identity, CancellationToken cancellationToken)
    {
        foreach (var (role, written) in identities)
        {
            if (written.CustomerId == identity.CustomerId && role != RoleOf(connectionString))
            {
                identities.TryRemove(role, out _); // the customer's earlier database (a destroyed claim): not its now
            }
        }

        identities[RoleOf(connectionString)] = identity;
        return Task.CompletedTask;
    }

    public Task SetSuspendedAsync(string connectionString, DateTimeOffset? since, CancellationToken cancellationToken)
    {
        suspended[CustomerOf(connectionString)] = since is not null;
        return Task.CompletedTask;
    }

    public Task GrantSkillsAsync(string connectionString, IReadOnlyList<string> skills, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<CustomerExport> ExportAsync(string connectionString, CancellationToken cancellationToken) =>
        Task.FromResult(new CustomerExport([0x1f, 0x8b], """{"memories":1}"""));

    /// <summary>Whose database a connection opens: the customer its identity names (a claimed pool member's role is the member's), else its role's.</summary>
    private string CustomerOf(string connectionString) =>
        IdentityIn(connectionString)?.CustomerId ?? ResourceNames.OwnerOf(RoleOf(connectionString)) ?? RoleOf(connectionString);

    private static string RoleOf(string connectionString) => new NpgsqlConnectionStringBuilder(connectionString).Username ?? connectionString;
}

/// <summary>
/// The tests that put the simulators under load (hundreds of sagas in this process) run one after another and
/// alone, after the rest: on two cores a 200-customer run next to a test with real runtime processes starved both.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SimulatedLoadCollection
{
    public const string Name = "simulated load";
}

using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Moq;
using SetupClaw.Credentials;
using SetupClaw.Customers;
using SetupClaw.Plans;
using SetupClaw.Providers;
using SetupClaw.Provisioning;
using SetupClaw.Tests.Infrastructure;
using SetupClaw.Tests.Simulators;
using Xunit.Abstractions;

namespace SetupClaw.Tests.Provisioning;

/// <summary>
/// The provisioning saga in the durable test host with the real control database and the real Neon and Railway
/// providers, talking to the simulators (which validate every request against the providers' contracts). Only the
/// seed step (it would connect to the simulated Neon host) and the final health check's HTTP are stand-ins.
/// </summary>
[Collection(SimulatedLoadCollection.Name)]
public sealed class SagaWithSimulatorsTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly TestDatabase database = new();
    private readonly ConcurrentDictionary<string, string> workspaces = new();
    private readonly Mock<IWorkspaceSeeder> seeder = new();
    private readonly FakeCustomerData identities = new();
    private NeonSimulator neon = null!;
    private RailwaySimulator railway = null!;
    private DurableTestHost host = null!;
    private ICustomerStore store = null!;
    private HttpStatusCode healthStatus = HttpStatusCode.OK;
    private readonly ProviderRetries retries = new();

    public async Task InitializeAsync()
    {
        await database.InitializeAsync();
        store = new PostgresCustomerStore(database.DataSource);
        neon = await NeonSimulator.StartAsync();
        railway = await RailwaySimulator.StartAsync();
        seeder.Setup(s => s.SeedAsync(It.IsAny<string>(), It.IsAny<Customer>(), It.IsAny<string>(), It.IsAny<CancellationToken>()))
            .Callback<string, Customer, string, CancellationToken>((_, customer, workspace, _) => workspaces[customer.Id] = workspace)
            .Returns(Task.CompletedTask);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(Providers.ProviderServices.Settings(neon, railway)).Build();
        host = await DurableTestHost.StartAsync(services =>
        {
            services.AddLogging();
            services.AddSingleton(TimeProvider.System);
            services.AddSingleton(store);
            services.AddSingleton(new SetupClaw.Operations.OrphanStore(database.DataSource));
            services.AddSingleton(seeder.Object);
            services.AddSingleton<SetupClaw.Lifecycle.ICustomerData>(identities);
            services.AddSingleton(new SetupClaw.Plans.PlanCatalog(Options.Create(new SetupClaw.Plans.PlansOptions())));
            services.AddSingleton<AssistantIdentityWriter>();
            services.AddMetrics();
            services.AddSingleton<SetupClaw.Telemetry.SetupClawMetrics>();
            services.AddSingleton(new SecretBox(Options.Create(new SecurityOptions { EncryptionKey = Convert.ToBase64String(new byte[32]) })));
            services.AddSingleton(Options.Create(new ProvisioningOptions { HealthCheckTimeout = TimeSpan.FromSeconds(1) }));
            services.AddSingleton(Options.Create(new LlmOptions()));
            services.AddHttpClient(HealthCheckActivity.HttpClientName).ConfigurePrimaryHttpMessageHandler(() => new HealthStub(this));
            SetupClawServices.AddProviders(services, configuration, "Host=unused");
            services.AddSingleton(retries);
            services.AddSingleton(database.DataSource);
            services.AddSingleton<DeploymentWatch>();
            services.AddPool(configuration); // no Pool:Size: every saga here is cold
            services.AddCustomerPages(configuration);
        });
    }

    public async Task DisposeAsync()
    {
        await host.DisposeAsync();
        await neon.DisposeAsync();
        await railway.DisposeAsync();
        await database.DisposeAsync();
        Assert.Empty(neon.Violations);
        Assert.Empty(railway.Violations);
    }

    [Fact]
    public async Task Provision_WithNeonAndRailway_ActiveWithOneBranchAndOneService()
    {
        var customerId = await PaidCustomerAsync();

        await RunAsync(customerId);

        var customer = (await store.GetAsync(customerId, default))!;
        Assert.True(customer.Status == CustomerStatus.Active, customer.FailureReason);
        Assert.Equal([ResourceNames.Branch(customerId)], neon.BranchNames);
        Assert.Equal([ResourceNames.Service(customerId)], railway.ServiceNames);
        Assert.StartsWith("br-", customer.DatabaseBranchId, StringComparison.Ordinal);
        Assert.StartsWith($"https://{ResourceNames.Service(customerId)}-production-", customer.AccessUrl, StringComparison.Ordinal);
        var variables = railway.Service(ResourceNames.Service(customerId))!["variables"]!;
        Assert.Contains("-pooler.", variables["DATABASE_URL"]!.GetValue<string>(), StringComparison.Ordinal);
        // Deployed with its database only (no model is configured here) and the installation's tag (not a secret: the
        // sweep tells this installation's services from another's by it); who it is, it reads from that database.
        Assert.Equal(["DATABASE_URL", InstallationTag.Variable], variables.AsObject().Select(v => v.Key));
        Assert.Equal(new SetupClaw.Billing.AppOptions().InstallationId, variables[InstallationTag.Variable]!.GetValue<string>());
        var identity = identities.IdentityOf(customerId)!;
        Assert.Equal((customer.WorkspaceId, customer.ApiKeyHash, Plan.Pro), (identity.WorkspaceId, identity.ApiKeyHash, identity.PlanName));
        Assert.Equal(PlanCatalog.Get(Plan.Pro).MonthlyTokens, identity.MonthlyTokens);
        Assert.StartsWith("gw_", identity.GatewayToken, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("create_database")]
    [InlineData("seed_workspace")]
    [InlineData("create_service")]
    [InlineData("deploy")]
    [InlineData("deployment_failed")]
    [InlineData("health_check")]
    public async Task Provision_FaultAtAStep_LeavesNothingInEitherProvider(string step)
    {
        switch (step)
        {
            case "create_database":
                neon.MaxBranches = 1;
                break;
            case "seed_workspace":
                seeder.Setup(s => s.SeedAsync(It.IsAny<string>(), It.IsAny<Customer>(), It.IsAny<string>(), It.IsAny<CancellationToken>()))
                    .ThrowsAsync(new PermanentProvisioningException("injected: the seed step failed"));
                break;
            case "create_service":
                railway.FaultFor = (_, _, body) => body.Contains("mutation ServiceInstanceUpdate", StringComparison.Ordinal) ? Fault.Rejected : null;
                break;
            case "deploy":
                railway.FaultFor = (_, _, body) => body.Contains("mutation ServiceInstanceDeploy", StringComparison.Ordinal) ? Fault.Rejected : null;
                break;
            case "deployment_failed":
                railway.DeploymentOutcome = _ => "FAILED";
                break;
            case "health_check":
                healthStatus = HttpStatusCode.ServiceUnavailable;
                break;
        }

        var customerId = await PaidCustomerAsync();

        await RunAsync(customerId);

        var customer = (await store.GetAsync(customerId, default))!;
        Assert.Equal(CustomerStatus.Failed, customer.Status);
        Assert.Empty(neon.BranchNames);
        Assert.Empty(railway.ServiceNames);
        Assert.Equal(0, railway.Domains);
        if (step == "deployment_failed")
        {
            Assert.Contains("DATABASE_URL is not set", customer.FailureReason, StringComparison.Ordinal);
            // The operator's detail (a log tail naming a setting) never reaches the customer: the step, what happens next, a reference.
            var shown = await CustomerErrorAsync(customerId);
            Assert.StartsWith("Setup failed while starting your assistant. We have been told and will retry it", shown, StringComparison.Ordinal);
            Assert.Contains(customer.OrchestrationId!, shown, StringComparison.Ordinal);
            Assert.DoesNotContain("DATABASE_URL", shown, StringComparison.Ordinal);
        }
    }

    /// <summary>The <c>error</c> the success page is given for this customer (the status endpoint, called as the page calls it).</summary>
    private async Task<string?> CustomerErrorAsync(string customerId)
    {
        const string token = "st_test_token_for_the_status_endpoint";
        await database.ExecuteAsync($"update customers set status_token_hash = '{SetupClaw.Credentials.Secrets.Hash(token)}' where id = '{customerId}'");
        var handler = new ProvisioningStatusHandler(store, new SecretBox(Options.Create(new SecurityOptions { EncryptionKey = Convert.ToBase64String(new byte[32]) })),
            Options.Create(new SecurityOptions()), Options.Create(new ProvisioningOptions()), TimeProvider.System);
        var context = new Microsoft.AspNetCore.Http.DefaultHttpContext { RequestServices = new ServiceCollection().AddLogging().BuildServiceProvider() };
        context.Request.Headers.Authorization = "Bearer " + token;
        context.Response.Body = new MemoryStream();
        await (await handler.HandleAsync(context.Request, customerId, default)).ExecuteAsync(context);
        context.Response.Body.Position = 0;
        var body = await System.Text.Json.JsonDocument.ParseAsync(context.Response.Body);
        return body.RootElement.GetProperty("error").GetString();
    }

    [Fact]
    public async Task Provision_AfterACrashBetweenCreateAndRecord_AdoptsTheBranchAndTheService()
    {
        var customerId = await PaidCustomerAsync();
        // What a run that crashed right after the providers answered leaves: a branch and a service, nothing recorded.
        await using (var providers = Providers.ProviderServices.Build(neon, railway))
        {
            await providers.GetRequiredService<IDatabaseProvider>().CreateAsync(new DatabaseRequest(customerId, Plan.Pro), default);
            await providers.GetRequiredService<IComputeProvider>().CreateServiceAsync(
                new ServiceRequest(customerId, Plan.ProPlan, new Dictionary<string, string> { ["DATABASE_URL"] = "stale" }), default);
        }

        await RunAsync(customerId);

        var customer = (await store.GetAsync(customerId, default))!;
        Assert.True(customer.Status == CustomerStatus.Active, customer.FailureReason);
        Assert.Equal([ResourceNames.Branch(customerId)], neon.BranchNames);
        Assert.Equal([ResourceNames.Service(customerId)], railway.ServiceNames);
        Assert.Equal(1, railway.Domains);
        Assert.Contains("-pooler.", railway.Service(ResourceNames.Service(customerId))!["variables"]!["DATABASE_URL"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Provision_50CustomersWith20PercentTransientFaults_AllActive()
    {
        neon.FaultRate = 0.2;
        neon.RandomFaults = [Fault.ServerError, Fault.TooManyRequests, Fault.Locked];
        railway.FaultRate = 0.2;
        railway.RandomFaults = [Fault.ServerError, Fault.TooManyRequests, Fault.Locked];
        // Retry-After is honoured (the provider tests wait out 1 s); here 0 s keeps 50 concurrent sagas quick.
        neon.RetryAfterSeconds = 0;
        railway.RetryAfterSeconds = 0;
        var clock = Stopwatch.StartNew();
        var customers = new List<string>();
        for (var i = 0; i < 50; i++)
        {
            customers.Add(await PaidCustomerAsync());
        }

        await Task.WhenAll(customers.Select(id => RunAsync(id, TimeSpan.FromMinutes(6))));

        var states = await Task.WhenAll(customers.Select(id => store.GetAsync(id, default)));
        var notActive = states.Where(c => c!.Status != CustomerStatus.Active).Select(c => $"{c!.Id}: {c.Status} {c.FailureReason}").ToList();
        var stepRetries = await database.CountAsync("select count(*) from provisioning_steps where status = 'failed'");
        output.WriteLine($"50 customers, {clock.Elapsed.TotalSeconds:0.0} s: faults injected Neon {neon.FaultsInjected} of {neon.Requests} requests, " +
            $"Railway {railway.FaultsInjected} of {railway.Requests}; HTTP retries Neon {retries["neon"]}, Railway {retries["railway"]}; " +
            $"durable step retries {stepRetries}");
        Assert.Empty(notActive);
        Assert.Equal(50, neon.BranchNames.Count);
        Assert.Equal(50, railway.ServiceNames.Count);
        Assert.Equal(50, railway.Domains);
        Assert.True(neon.FaultsInjected > 0 && railway.FaultsInjected > 0);
        // Every Neon fault is one the HTTP pipeline retries. Railway's are not all counted there: a create mutation is not
        // re-sent on a 5xx (it may have landed); the provider looks the service up by name instead, or the step is retried.
        Assert.True(retries["neon"] >= neon.FaultsInjected - 5, $"Neon: {retries["neon"]} HTTP retries for {neon.FaultsInjected} faults");
        Assert.True(retries["railway"] + stepRetries > 0);
    }

    private async Task<string> PaidCustomerAsync()
    {
        var customerId = CustomerIds.New();
        await store.CreateAsync(new NewCustomer(customerId, $"{customerId}@example.com", "Sim", null, Plan.Pro, Secrets.Hash("st_x")), default);
        Assert.True(await store.BeginProvisioningAsync(customerId, "provision-" + customerId, default));
        return customerId;
    }

    private Task RunAsync(string customerId) => RunAsync(customerId, TimeSpan.FromSeconds(90));

    /// <summary>Runs the saga to its end, or fails naming where it stands.</summary>
    private async Task RunAsync(string customerId, TimeSpan within)
    {
        var instanceId = await host.Client.ScheduleNewOrchestrationInstanceAsync(nameof(ProvisionCustomerOrchestrator), customerId);
        using var timeout = new CancellationTokenSource(within);
        try
        {
            await host.Client.WaitForInstanceCompletionAsync(instanceId, getInputsAndOutputs: false, timeout.Token);
        }
        catch (OperationCanceledException)
        {
            var state = await host.Client.GetInstanceAsync(instanceId, getInputsAndOutputs: true);
            var steps = await store.GetStepsAsync(customerId, null, default);
            throw new TimeoutException($"{instanceId} still {state?.RuntimeStatus} ({state?.SerializedCustomStatus}); steps: "
                + string.Join("; ", steps.Select(s => $"{s.Name} {s.Status} {s.Error}")));
        }
    }

    /// <summary>The runtime's /health, answering for the workspace the seed step wrote for the customer in the host name.</summary>
    private sealed class HealthStub(SagaWithSimulatorsTests test) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var host = request.RequestUri!.Host;
            var customerId = "cus_" + host["claw-cus-".Length..(host.IndexOf("-production", StringComparison.Ordinal))];
            var workspace = test.workspaces.GetValueOrDefault(customerId);
            return Task.FromResult(new HttpResponseMessage(test.healthStatus)
            {
                Content = new StringContent($$"""{"status":"healthy","workspaceId":"{{workspace}}","database":"connected","modelProvider":"none"}""", Encoding.UTF8, "application/json"),
            });
        }
    }
}

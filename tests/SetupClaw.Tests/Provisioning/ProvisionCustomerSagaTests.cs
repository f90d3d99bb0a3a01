using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Moq;
using SetupClaw.Credentials;
using SetupClaw.Customers;
using SetupClaw.Plans;
using SetupClaw.Providers;
using SetupClaw.Provisioning;
using SetupClaw.Tests.Infrastructure;

namespace SetupClaw.Tests.Provisioning;

/// <summary>
/// The saga for real on the local host's durable sidecar (DurableTestHost), with the real control database; providers are mocks that record
/// every call, so the order of steps and undos can be asserted.
/// </summary>
public sealed class ProvisionCustomerSagaTests : IAsyncLifetime
{
    private readonly TestDatabase database = new();
    private readonly ConcurrentQueue<string> calls = new();
    private readonly Mock<IDatabaseProvider> databases = new();
    private readonly Mock<IComputeProvider> compute = new();
    private readonly Mock<IWorkspaceSeeder> seeder = new();
    private readonly FakeCustomerData identities = new();
    private HttpStatusCode healthStatus = HttpStatusCode.OK;
    private string? workspaceOnHealth;
    private DurableTestHost host = null!;
    private ICustomerStore store = null!;

    public async Task InitializeAsync()
    {
        await database.InitializeAsync();
        store = new PostgresCustomerStore(database.DataSource);
        databases.Setup(d => d.CreateAsync(It.IsAny<DatabaseRequest>(), It.IsAny<CancellationToken>()))
            .Callback(() => calls.Enqueue("create_database")).ReturnsAsync(new DatabaseResource("db_1", "Host=unused"));
        databases.Setup(d => d.DeleteAsync(It.IsAny<ResourceRef>(), It.IsAny<CancellationToken>()))
            .Callback(() => calls.Enqueue("delete_database")).Returns(Task.CompletedTask);
        seeder.Setup(s => s.SeedAsync(It.IsAny<string>(), It.IsAny<Customer>(), It.IsAny<string>(), It.IsAny<CancellationToken>()))
            .Callback<string, Customer, string, CancellationToken>((_, _, workspace, _) => { calls.Enqueue("seed_workspace"); workspaceOnHealth = workspace; })
            .Returns(Task.CompletedTask);
        compute.Setup(c => c.CreateServiceAsync(It.IsAny<ServiceRequest>(), It.IsAny<CancellationToken>()))
            .Callback(() => calls.Enqueue("create_service")).ReturnsAsync(new ServiceResource("svc_1", "http://runtime.test"));
        compute.Setup(c => c.DeployAsync("svc_1", It.IsAny<CancellationToken>()))
            .Callback(() => calls.Enqueue("deploy")).ReturnsAsync("dep_1");
        compute.SetupSequence(c => c.GetDeploymentAsync("svc_1", "dep_1", It.IsAny<CancellationToken>()))
            .ReturnsAsync(new DeploymentState(DeploymentPhase.InProgress))
            .ReturnsAsync(new DeploymentState(DeploymentPhase.Succeeded));
        compute.Setup(c => c.DeleteServiceAsync(It.IsAny<ResourceRef>(), It.IsAny<CancellationToken>()))
            .Callback(() => calls.Enqueue("delete_service")).Returns(Task.CompletedTask);

        var httpClients = new Mock<IHttpClientFactory>();
        httpClients.Setup(f => f.CreateClient(It.IsAny<string>())).Returns(() => new HttpClient(new StubHandler(this)));
        host = await DurableTestHost.StartAsync(services =>
        {
            services.AddSingleton(store);
            services.AddSingleton(new SetupClaw.Operations.OrphanStore(database.DataSource));
            services.AddSingleton(databases.Object);
            services.AddSingleton(compute.Object);
            services.AddSingleton(seeder.Object);
            services.AddSingleton<SetupClaw.Lifecycle.ICustomerData>(identities);
            services.AddSingleton(new SetupClaw.Plans.PlanCatalog(Options.Create(new SetupClaw.Plans.PlansOptions())));
            services.AddSingleton<AssistantIdentityWriter>();
            services.AddMetrics();
            services.AddSingleton<SetupClaw.Telemetry.SetupClawMetrics>();
            services.AddSingleton(httpClients.Object);
            services.AddSingleton(TimeProvider.System);
            services.AddSingleton(new SecretBox(Options.Create(new SecurityOptions { EncryptionKey = Convert.ToBase64String(new byte[32]) })));
            services.AddSingleton(Options.Create(new ProvisioningOptions { HealthCheckTimeout = TimeSpan.FromSeconds(1) }));
            services.AddLogging();
            // No pool: every saga here is cold (the warm path is tested against the simulators).
            services.AddSingleton(database.DataSource);
            services.AddSingleton<DeploymentWatch>();
            services.AddPool(new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build());
            services.AddCustomerPages(new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build());
        });
    }

    public async Task DisposeAsync()
    {
        await host.DisposeAsync();
        await database.DisposeAsync();
    }

    [Fact]
    public async Task Provision_AllStepsSucceed_CustomerActiveWithCredentials()
    {
        var customerId = await PaidCustomerAsync();

        var result = await RunAsync(customerId);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal(["create_database", "seed_workspace", "create_service", "deploy"], calls);
        var customer = (await store.GetAsync(customerId, default))!;
        Assert.Equal(CustomerStatus.Active, customer.Status);
        Assert.Equal("svc_1", customer.RailwayServiceId);
        Assert.Equal("db_1", customer.DatabaseBranchId);
        Assert.Matches("^ws_[0-9a-f]{20}_[0-9]+$", customer.WorkspaceId);
        Assert.Matches("^[0-9a-f]{64}$", customer.ApiKeyHash);
        var steps = await store.GetStepsAsync(customerId, result.InstanceId, default);
        Assert.Equal(Steps.Provisioning, steps.Select(s => s.Name));
        Assert.All(steps, s => Assert.Equal("completed", s.Status));
    }

    public static TheoryData<string, string[]> Failures => new()
    {
        { "create_database", ["delete_database"] },
        { "seed_workspace", ["delete_database"] },
        { "create_service", ["delete_service", "delete_database"] },
        { "deploy", ["delete_service", "delete_database"] },
        { "deployment_failed", ["delete_service", "delete_database"] },
        { "health_check", ["delete_service", "delete_database"] },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public async Task Provision_StepFails_EarlierStepsUndoneInReverseAndCustomerFailed(string failingStep, string[] expectedUndos)
    {
        InjectFailure(failingStep);
        var customerId = await PaidCustomerAsync();

        var result = await RunAsync(customerId);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        var log = calls.ToList();
        var firstUndo = log.FindIndex(c => c.StartsWith("delete_", StringComparison.Ordinal));
        Assert.True(firstUndo >= 0, string.Join(", ", log));
        Assert.Equal(expectedUndos, log.Skip(firstUndo));
        Assert.DoesNotContain(log.Take(firstUndo), c => c.StartsWith("delete_", StringComparison.Ordinal));

        var customer = (await store.GetAsync(customerId, default))!;
        Assert.Equal(CustomerStatus.Failed, customer.Status);
        Assert.Contains("failed", customer.FailureReason, StringComparison.Ordinal);
        Assert.Null(customer.ApiKeyHash);
        Assert.Null(customer.DatabaseUrlEncrypted);
        Assert.Null(customer.RailwayServiceId);

        // A permanent failure is not retried: the failing step ran once.
        var history = await store.GetStepsAsync(customerId, null, default);
        if (Steps.Provisioning.Contains(failingStep))
        {
            Assert.Single(history, s => s.Name == failingStep);
        }
    }

    [Fact]
    public async Task Provision_TransientDatabaseFailure_IsRetriedAndSucceeds()
    {
        databases.SetupSequence(d => d.CreateAsync(It.IsAny<DatabaseRequest>(), It.IsAny<CancellationToken>()))
            .ThrowsAsync(new HttpRequestException("503 from the provider"))
            .ReturnsAsync(new DatabaseResource("db_1", "Host=unused"));
        var customerId = await PaidCustomerAsync();

        await RunAsync(customerId);

        var customer = (await store.GetAsync(customerId, default))!;
        Assert.True(customer.Status == CustomerStatus.Active, customer.FailureReason);
        var attempts = (await store.GetStepsAsync(customerId, null, default)).Where(s => s.Name == Steps.CreateDatabase).ToList();
        Assert.Equal(["failed", "completed"], attempts.Select(a => a.Status));
    }

    private void InjectFailure(string step)
    {
        var boom = new PermanentProvisioningException($"injected failure at {step}");
        switch (step)
        {
            case "create_database":
                databases.Setup(d => d.CreateAsync(It.IsAny<DatabaseRequest>(), It.IsAny<CancellationToken>())).ThrowsAsync(boom);
                break;
            case "seed_workspace":
                seeder.Setup(s => s.SeedAsync(It.IsAny<string>(), It.IsAny<Customer>(), It.IsAny<string>(), It.IsAny<CancellationToken>())).ThrowsAsync(boom);
                break;
            case "create_service":
                compute.Setup(c => c.CreateServiceAsync(It.IsAny<ServiceRequest>(), It.IsAny<CancellationToken>())).ThrowsAsync(boom);
                break;
            case "deploy":
                compute.Setup(c => c.DeployAsync(It.IsAny<string>(), It.IsAny<CancellationToken>())).ThrowsAsync(boom);
                break;
            case "deployment_failed":
                compute.SetupSequence(c => c.GetDeploymentAsync("svc_1", "dep_1", It.IsAny<CancellationToken>()))
                    .ReturnsAsync(new DeploymentState(DeploymentPhase.Failed, "crashed on start"));
                break;
            case "health_check":
                healthStatus = HttpStatusCode.ServiceUnavailable;
                break;
        }
    }

    private async Task<string> PaidCustomerAsync()
    {
        var customerId = CustomerIds.New();
        await store.CreateAsync(new NewCustomer(customerId, "saga@example.com", "Saga", null, Plan.Pro, Secrets.Hash("st_x")), default);
        Assert.True(await store.BeginProvisioningAsync(customerId, "provision-" + customerId, default));
        return customerId;
    }

    private async Task<OrchestrationMetadata> RunAsync(string customerId)
    {
        var instanceId = await host.Client.ScheduleNewOrchestrationInstanceAsync(nameof(ProvisionCustomerOrchestrator), customerId);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        return await host.Client.WaitForInstanceCompletionAsync(instanceId, getInputsAndOutputs: true, timeout.Token);
    }

    private sealed class StubHandler(ProvisionCustomerSagaTests test) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(new HttpResponseMessage(test.healthStatus)
            {
                Content = new StringContent($$"""{"status":"healthy","workspaceId":"{{test.workspaceOnHealth}}","database":"connected"}""", Encoding.UTF8, "application/json"),
            });
    }
}

using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using SetupClaw.Plans;
using SetupClaw.Providers;
using SetupClaw.Providers.Railway;
using SetupClaw.Tests.Infrastructure;
using SetupClaw.Tests.Simulators;

namespace SetupClaw.Tests.Providers;

/// <summary>The Railway provider against the Railway simulator, which validates every document and its variables against Railway's schema.</summary>
public sealed class RailwayProviderTests : IAsyncLifetime
{
    private RailwaySimulator railway = null!;
    private ServiceProvider services = null!;

    private IComputeProvider Provider => services.GetRequiredService<IComputeProvider>();

    public async Task InitializeAsync()
    {
        railway = await RailwaySimulator.StartAsync();
        services = ProviderServices.Build(null, railway);
    }

    public async Task DisposeAsync()
    {
        await services.DisposeAsync();
        await railway.DisposeAsync();
        Assert.Empty(railway.Violations);
    }

    private static ServiceRequest Request(string customer) =>
        new(customer, Plan.ProPlan, new Dictionary<string, string> { ["WORKSPACE_ID"] = "ws_1", ["DATABASE_URL"] = "postgresql://u:p@h/db", ["PLAN_NAME"] = "pro" });

    private async Task<(DeploymentState State, List<string> Phases)> DeployAndWaitAsync(string serviceId)
    {
        var deployment = await Provider.DeployAsync(serviceId, CancellationToken.None);
        Assert.True(Guid.TryParse(deployment, out _));
        var phases = new List<string>();
        DeploymentState? state = null;
        await Wait.UntilAsync(async () =>
        {
            state = await Provider.GetDeploymentAsync(serviceId, deployment, CancellationToken.None);
            phases.Add(state.Phase);
            return state.Phase != DeploymentPhase.InProgress;
        }, TimeSpan.FromSeconds(30), $"deployment {deployment} to finish", TimeSpan.FromMilliseconds(15));
        return (state!, phases);
    }

    [Fact]
    public async Task ASleepingService_IsReportedSleeping_StillDeployed_AndOnlyPlansThatAllowItSleep()
    {
        var starter = CustomerIds.New();
        var created = await Provider.CreateServiceAsync(Request(starter) with { Plan = Plan.StarterPlan }, CancellationToken.None);
        var name = ResourceNames.Service(starter);
        Assert.True(railway.Service(name)!["sleepApplication"]!.GetValue<bool>());
        var (state, _) = await DeployAndWaitAsync(created.ServiceId);
        Assert.Equal(DeploymentPhase.Succeeded, state.Phase);
        var service = new ResourceRef(starter, created.ServiceId);
        Assert.Equal(ServiceStates.Running, await Provider.StateAsync(service, CancellationToken.None));

        // Railway puts the idle service to sleep: reported as sleeping; its next request wakes it.
        railway.Sleep(name);
        Assert.Equal(ServiceStates.Sleeping, await Provider.StateAsync(service, CancellationToken.None));
        railway.Wake(name);
        Assert.Equal(ServiceStates.Running, await Provider.StateAsync(service, CancellationToken.None));

        // Team never sleeps; a plan change to Team turns sleeping off.
        var team = CustomerIds.New();
        await Provider.CreateServiceAsync(Request(team) with { Plan = Plan.TeamPlan }, CancellationToken.None);
        Assert.False(railway.Service(ResourceNames.Service(team))!["sleepApplication"]!.GetValue<bool>());
        Assert.Throws<InvalidOperationException>(() => railway.Sleep(ResourceNames.Service(team)));
        await Provider.ResizeAsync(service, Plan.TeamPlan, CancellationToken.None);
        Assert.False(railway.Service(name)!["sleepApplication"]!.GetValue<bool>());
        Assert.Equal(ServiceStates.Missing, await Provider.StateAsync(new ResourceRef(CustomerIds.New(), null), CancellationToken.None));
    }

    [Fact]
    public async Task ABurstOfCalls_IsPacedUnderTheEnforcedPerSecondLimit_AndNoneIsRefused()
    {
        // Railway refuses a ninth call within any second; the client is told its tier allows 5 a second (it sends 3,
        // keeping a reserve), so calls bunched on arrival by a busy machine still fit.
        railway.Limits = new RateLimits(perHour: 10_000, perSecond: 8);
        await using var paced = ProviderServices.Build(null, railway, new Dictionary<string, string?> { ["Providers:Railway:MaxRequestsPerSecond"] = "5" });
        var provider = paced.GetRequiredService<IComputeProvider>();

        var lists = await Task.WhenAll(Enumerable.Range(0, 24).Select(_ => provider.ListAsync(CancellationToken.None)));

        Assert.Equal(24, lists.Length);
        Assert.Equal(0, railway.Limits.Refused);
        Assert.True(paced.GetRequiredKeyedService<RateLimitPacer>("railway").Delayed > 0, "the pacer made no call wait");
    }

    [Fact]
    public async Task ANewService_CostsFiveCalls_CreatedWithItsVariables_AndNoDomainLookup()
    {
        var customer = CustomerIds.New();
        // The environment is resolved once per process: an earlier customer's service did it, as in a running host.
        await Provider.CreateServiceAsync(Request(CustomerIds.New()), CancellationToken.None);
        var before = railway.Requests;

        await Provider.CreateServiceAsync(Request(customer), CancellationToken.None);

        // Project (is it there?), ServiceCreate with the variables, ServiceInstanceUpdate, limits, domain.
        Assert.Equal(5, railway.Requests - before);
        Assert.False(railway.RequestsByOperation.ContainsKey("VariableCollectionUpsert"));
        Assert.False(railway.RequestsByOperation.ContainsKey("Domains"));
        Assert.Equal("ws_1", railway.Service(ResourceNames.Service(customer))!["variables"]!["WORKSPACE_ID"]!.GetValue<string>());
    }

    [Fact]
    public async Task Create_ServiceFromTheImage_VariablesHealthCheckLimitsAndDomain_ThenDeploys()
    {
        var customer = CustomerIds.New();

        var service = await Provider.CreateServiceAsync(Request(customer), CancellationToken.None);
        var (state, phases) = await DeployAndWaitAsync(service.ServiceId);

        Assert.Contains(DeploymentPhase.InProgress, phases);
        var created = railway.Service(ResourceNames.Service(customer))!;
        Assert.Equal(service.ServiceId, created["id"]!.GetValue<string>());
        Assert.Equal("ghcr.io/setupclaw/runtime:1.0", created["image"]!.GetValue<string>());
        Assert.Equal("/health", created["healthcheckPath"]!.GetValue<string>());
        Assert.Equal(1.0, created["vCPUs"]!.GetValue<double>());
        Assert.Equal("ws_1", created["variables"]!["WORKSPACE_ID"]!.GetValue<string>());
        Assert.Matches(@"^https://claw-cus-[0-9a-f]{20}-production-[0-9a-f]{4}\.up\.railway\.app$", service.AccessUrl);
        Assert.Equal(DeploymentPhase.Succeeded, state.Phase);
    }

    [Fact]
    public async Task Create_Again_AdoptsTheServiceAndItsDomain()
    {
        var customer = CustomerIds.New();
        var first = await Provider.CreateServiceAsync(Request(customer), CancellationToken.None);

        var second = await Provider.CreateServiceAsync(Request(customer), CancellationToken.None);

        Assert.Equal(first, second);
        Assert.Single(railway.ServiceNames);
        Assert.Equal(1, railway.Domains);
    }

    [Fact]
    public async Task Create_AnswerLostAfterRailwayCreatedTheService_AdoptsExactlyOne()
    {
        var lost = 0;
        railway.FaultFor = (_, _, body) => body.Contains("mutation ServiceCreate", StringComparison.Ordinal) && Interlocked.Exchange(ref lost, 1) == 0
            ? Fault.LostAfterCommit
            : null;
        var customer = CustomerIds.New();

        // serviceCreate's lost answer is not re-sent blindly: the provider looks for the service by name, finds it, adopts it.
        var adopted = await Provider.CreateServiceAsync(Request(customer), CancellationToken.None);

        Assert.Equal(1, lost);
        Assert.Equal([ResourceNames.Service(customer)], railway.ServiceNames);
        Assert.Equal(railway.Service(ResourceNames.Service(customer))!["id"]!.GetValue<string>(), adopted.ServiceId);
    }

    [Fact]
    public async Task Deploy_FailedDeployment_ReasonCarriesTheLogTail()
    {
        railway.DeploymentOutcome = _ => "CRASHED";
        var service = await Provider.CreateServiceAsync(Request(CustomerIds.New()), CancellationToken.None);

        var (state, _) = await DeployAndWaitAsync(service.ServiceId);

        Assert.Equal(DeploymentPhase.Failed, state.Phase);
        Assert.Contains("crashed", state.Reason, StringComparison.Ordinal);
        Assert.Contains("DATABASE_URL is not set", state.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Calls_RateLimitedOrUnavailable_AreRetriedHonouringRetryAfter()
    {
        railway.FaultRate = 0.3;
        railway.RandomFaults = [Fault.TooManyRequests, Fault.ServerError, Fault.LostConnection];

        // As the saga does: a step whose lost answer could not be re-sent safely fails, and the durable retry re-runs it.
        var customer = CustomerIds.New();
        var attempts = 0;
        ServiceResource? service = null;
        while (service is null && ++attempts <= 5)
        {
            try
            {
                service = await Provider.CreateServiceAsync(Request(customer), CancellationToken.None);
            }
            catch (HttpRequestException)
            {
            }
        }

        Assert.NotNull(service);
        railway.FaultRate = 0;
        await DeployAndWaitAsync(service.ServiceId);

        Assert.True(railway.FaultsInjected > 0, $"{railway.Requests} requests, {railway.FaultsInjected} faults");
        Assert.True(services.GetRequiredService<ProviderRetries>()["railway"] > 0);
        Assert.Equal([ResourceNames.Service(customer)], railway.ServiceNames);
        Assert.Equal(1, railway.Domains);
    }

    [Fact]
    public async Task WrongToken_PermanentFailureSayingHowToSendIt()
    {
        await using var wrong = ProviderServices.Build(null, railway, new Dictionary<string, string?> { ["Providers:Railway:Token"] = "stale" });

        var error = await Assert.ThrowsAsync<PermanentProvisioningException>(() =>
            wrong.GetRequiredService<IComputeProvider>().CreateServiceAsync(Request(CustomerIds.New()), CancellationToken.None));

        Assert.Contains("Not Authorized", error.Message, StringComparison.Ordinal);
        Assert.Contains("Project-Access-Token", error.Message, StringComparison.Ordinal);
        Assert.Contains("Authorization: Bearer", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Delete_RemovesTheService_AndAgainIsANoOp()
    {
        var customer = CustomerIds.New();
        await Provider.CreateServiceAsync(Request(customer), CancellationToken.None);

        await Provider.DeleteServiceAsync(new ResourceRef(customer, null), CancellationToken.None);
        await Provider.DeleteServiceAsync(new ResourceRef(customer, null), CancellationToken.None);

        Assert.Empty(railway.ServiceNames);
    }

    [Fact]
    public void EveryOperationDocument_IsValidAgainstTheSchema()
    {
        foreach (var (name, document) in RailwayClient.Operations)
        {
            var violations = GraphQLContract.Railway.Validate(document, name, null)
                .Where(v => !v.Contains(" is required", StringComparison.Ordinal));
            Assert.Empty(violations);
        }
    }

    [Theory]
    [InlineData("mutation M($id: String!) { serviceDelete(id: $id) { id } }", """{"id": "x"}""", "takes no selection")]
    [InlineData("mutation M($input: DeploymentTriggerInput!) { deploymentTrigger(input: $input) }", """{"input": {}}""", "not an input type")]
    [InlineData("query M($id: String) { deployment(id: $id) { id } }", """{"id": "x"}""", "cannot be used where String! is expected")]
    [InlineData("query M($id: String!) { deployment(id: $id) { id nope } }", """{"id": "x"}""", "Cannot query field \"nope\"")]
    [InlineData("mutation M($input: VariableCollectionUpsertInput!) { variableCollectionUpsert(input: $input) }", """{"input": {"projectId": "p", "environmentId": "e"}}""", "VariableCollectionUpsertInput.variables is required")]
    [InlineData("mutation M($input: ServiceInstanceUpdateInput!, $s: String!) { serviceInstanceUpdate(serviceId: $s, input: $input) }", """{"s": "x", "input": {"restartPolicyType": "SOMETIMES"}}""", "is not a RestartPolicyType")]
    [InlineData("mutation M($input: ServiceCreateInput!) { serviceCreate(input: $input) { id } }", """{"input": {"projectId": "p", "variables": {"A": 1}}}""", "is not a EnvironmentVariables")]
    [InlineData("query M($id: String!, $unused: Int) { deployment(id: $id) { id } }", """{"id": "x"}""", "never used")]
    [InlineData("{ me { id } }", "{}", "exactly one named operation")]
    public void Contract_RejectsWhatRailwayWouldReject(string query, string variables, string expected)
    {
        var violations = GraphQLContract.Railway.Validate(query, null, JsonNode.Parse(variables)!.AsObject());

        Assert.Contains(violations, v => v.Contains(expected, StringComparison.Ordinal));
    }
}

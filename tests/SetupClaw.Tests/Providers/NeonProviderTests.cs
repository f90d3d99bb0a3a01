using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using SetupClaw.Providers;
using SetupClaw.Tests.Simulators;

namespace SetupClaw.Tests.Providers;

/// <summary>The Neon provider against the Neon simulator, which checks every request against Neon's OpenAPI contract.</summary>
public sealed class NeonProviderTests : IAsyncLifetime
{
    private NeonSimulator neon = null!;
    private ServiceProvider services = null!;

    private IDatabaseProvider Provider => services.GetRequiredService<IDatabaseProvider>();

    public async Task InitializeAsync()
    {
        neon = await NeonSimulator.StartAsync();
        services = ProviderServices.Build(neon, null);
    }

    public async Task DisposeAsync()
    {
        await services.DisposeAsync();
        await neon.DisposeAsync();
        Assert.Empty(neon.Violations);
    }

    [Fact]
    public async Task TheEndpointSuspendsWhenIdle_AsThePlanSays_AndAPlanChangeMovesIt()
    {
        var customer = CustomerIds.New();
        var database = await Provider.CreateAsync(new DatabaseRequest(customer, "starter"), CancellationToken.None);
        var branch = ResourceNames.Branch(customer);
        // Starter's 300 s is Neon's default: not sent, so any Neon plan accepts it (Neon shows its default as 0).
        Assert.Equal(0, neon.EndpointOf(branch)!["suspend_timeout_seconds"]!.GetValue<long>());

        // Team always answers at once: its compute never suspends. Asked again, nothing is sent.
        await Provider.ResizeAsync(new ResourceRef(customer, database.ResourceId), "team", CancellationToken.None);
        Assert.Equal(-1, neon.EndpointOf(branch)!["suspend_timeout_seconds"]!.GetValue<long>());
        var updates = neon.RequestsByOperation.Where(o => o.Key.StartsWith("PATCH", StringComparison.Ordinal)).Sum(o => o.Value);
        await Provider.ResizeAsync(new ResourceRef(customer, database.ResourceId), "team", CancellationToken.None);
        Assert.Equal(updates, neon.RequestsByOperation.Where(o => o.Key.StartsWith("PATCH", StringComparison.Ordinal)).Sum(o => o.Value));
        Assert.True(updates > 0);

        // A setting overrides the catalogue's default.
        await using var configured = ProviderServices.Build(neon, null, new Dictionary<string, string?> { ["Plans:Starter:DatabaseSuspendSeconds"] = "900" });
        var other = CustomerIds.New();
        await configured.GetRequiredService<IDatabaseProvider>().CreateAsync(new DatabaseRequest(other, "starter"), CancellationToken.None);
        Assert.Equal(900, neon.EndpointOf(ResourceNames.Branch(other))!["suspend_timeout_seconds"]!.GetValue<long>());
    }

    [Fact]
    public async Task Create_BranchWithComputeOwnRoleAndDatabase_PooledTlsConnection()
    {
        var customer = CustomerIds.New();

        var database = await Provider.CreateAsync(new DatabaseRequest(customer, "pro"), CancellationToken.None);

        Assert.Equal([ResourceNames.Branch(customer)], neon.BranchNames);
        Assert.StartsWith("br-", database.ResourceId, StringComparison.Ordinal);
        var connection = new NpgsqlConnectionStringBuilder(database.ConnectionString);
        Assert.EndsWith("-pooler.eu-central-1.aws.neon.tech", connection.Host, StringComparison.Ordinal);
        Assert.Equal(ResourceNames.Database(customer), connection.Username);
        Assert.Equal(ResourceNames.Database(customer), connection.Database);
        Assert.NotEqual("parentpw", connection.Password);
        Assert.Equal(SslMode.Require, connection.SslMode);
        // Made from the empty template, so it holds only its own role and database, nothing of the default branch.
        var (parent, roles, databases) = neon.Lineage(ResourceNames.Branch(customer));
        Assert.Equal(NeonSimulator.TemplateBranchId, parent);
        Assert.Equal([ResourceNames.Database(customer)], roles);
        Assert.Equal([ResourceNames.Database(customer)], databases);
    }

    [Fact]
    public async Task Create_Again_AdoptsTheSameBranch_WithAFreshPassword()
    {
        var customer = CustomerIds.New();
        var first = await Provider.CreateAsync(new DatabaseRequest(customer, "starter"), CancellationToken.None);

        var second = await Provider.CreateAsync(new DatabaseRequest(customer, "starter"), CancellationToken.None);

        Assert.Equal(first.ResourceId, second.ResourceId);
        Assert.Single(neon.BranchNames);
        Assert.NotEqual(new NpgsqlConnectionStringBuilder(first.ConnectionString).Password, new NpgsqlConnectionStringBuilder(second.ConnectionString).Password);
    }

    [Fact]
    public async Task Create_AnswerLostAfterNeonCreatedTheBranch_AdoptsExactlyOne()
    {
        var lost = 0;
        neon.FaultFor = (method, path, _) => method == "POST" && path.EndsWith("/branches", StringComparison.Ordinal) && Interlocked.Exchange(ref lost, 1) == 0
            ? Fault.LostAfterCommit
            : null;
        var customer = CustomerIds.New();

        var database = await Provider.CreateAsync(new DatabaseRequest(customer, "starter"), CancellationToken.None);

        Assert.Equal(1, lost);
        Assert.Equal([ResourceNames.Branch(customer)], neon.BranchNames);
        Assert.StartsWith("br-", database.ResourceId, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_LockedRateLimitedAndUnavailable_AreRetriedAndCounted()
    {
        var seen = new Dictionary<Fault, int> { [Fault.Locked] = 0, [Fault.TooManyRequests] = 0, [Fault.ServerError] = 0 };
        neon.FaultFor = (_, _, _) =>
        {
            lock (seen)
            {
                var next = seen.FirstOrDefault(s => s.Value == 0).Key;
                if (seen[next] == 0)
                {
                    seen[next] = 1;
                    return next;
                }

                return null;
            }
        };

        await Provider.CreateAsync(new DatabaseRequest(CustomerIds.New(), "starter"), CancellationToken.None);

        Assert.Equal(3, neon.FaultsInjected);
        Assert.True(services.GetRequiredService<ProviderRetries>()["neon"] >= 3);
    }

    [Fact]
    public async Task Create_BranchLimitReached_FailsAtOnceNamingTheLimitAndTheFix()
    {
        neon.MaxBranches = 1;

        var error = await Assert.ThrowsAsync<PermanentProvisioningException>(() => Provider.CreateAsync(new DatabaseRequest(CustomerIds.New(), "starter"), CancellationToken.None));

        Assert.Contains("BRANCHES_LIMIT_EXCEEDED", error.Message, StringComparison.Ordinal);
        Assert.Contains("delete unused branches", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, services.GetRequiredService<ProviderRetries>()["neon"]);
        Assert.Empty(neon.BranchNames);
    }

    [Fact]
    public async Task Create_WrongKey_PermanentFailureNamingTheSetting()
    {
        await using var wrong = ProviderServices.Build(neon, null, new Dictionary<string, string?> { ["Providers:Neon:ApiKey"] = "not-the-key" });

        var error = await Assert.ThrowsAsync<PermanentProvisioningException>(() =>
            wrong.GetRequiredService<IDatabaseProvider>().CreateAsync(new DatabaseRequest(CustomerIds.New(), "starter"), CancellationToken.None));

        Assert.Contains("Providers:Neon:ApiKey", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_OperationFails_FailsTheStepForTheDurableRetry()
    {
        neon.FailOperationsOf = "start_compute";

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => Provider.CreateAsync(new DatabaseRequest(CustomerIds.New(), "starter"), CancellationToken.None));

        Assert.Contains("start_compute", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Delete_RemovesTheBranch_AndAgainIsANoOp()
    {
        var customer = CustomerIds.New();
        await Provider.CreateAsync(new DatabaseRequest(customer, "starter"), CancellationToken.None);

        await Provider.DeleteAsync(new ResourceRef(customer, null), CancellationToken.None);
        await Provider.DeleteAsync(new ResourceRef(customer, null), CancellationToken.None);

        Assert.Empty(neon.BranchNames);
    }

    [Theory]
    [InlineData("Providers:Neon:ApiKey")]
    [InlineData("Providers:Neon:ProjectId")]
    public void Start_NeonChosenWithoutASetting_FailsNamingIt(string setting)
    {
        var error = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() =>
            ProviderServices.Build(neon, null, new Dictionary<string, string?> { [setting] = "" }));

        Assert.Contains(setting, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("post", "/projects/autumn-disk-484331/branches", """{"endpoints": [{"type": "read_writer"}]}""", "is not one of")]
    [InlineData("post", "/projects/autumn-disk-484331/branches", """{"endpoints": [{"autoscaling_limit_min_cu": 0.25}]}""", "body.endpoints[0].type is required")]
    [InlineData("post", "/projects/autumn-disk-484331/branches/br-x/roles", """{"role": {}}""", "body.role.name is required")]
    [InlineData("post", "/projects/autumn-disk-484331/branches/br-x/databases", """{"database": {"name": "x"}}""", "owner_name is required")]
    [InlineData("post", "/projects/NOT_VALID/branches", """{}""", "does not match")]
    [InlineData("post", "/projects/p/branches", """{"branch": {"parentId": "br-x"}}""", "body.branch.parentId is not a field")]
    [InlineData("post", "/projects/p/deployments", """{}""", "is not an operation")]
    [InlineData("get", "/projects/p/connection_uri", null, "database_name")]
    public void Contract_RejectsWhatNeonWouldReject(string method, string path, string? body, string expected)
    {
        var violations = OpenApiContract.Neon.Validate(method, path, new Dictionary<string, string>(), body is null ? null : JsonNode.Parse(body));

        Assert.Contains(violations, v => v.Contains(expected, StringComparison.Ordinal));
    }
}

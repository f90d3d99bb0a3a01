using System.Net.Http.Json;
using System.Text.Json;
using SetupClaw.Billing;
using SetupClaw.Tests.Infrastructure;
using Xunit.Abstractions;

namespace SetupClaw.Tests.EndToEnd;

/// <summary>
/// The durable engine for real: the local host on the Azure Storage provider (Azurite), killed (with every runtime
/// it started) while a saga is at a step, then started again. The saga finishes on the new host, with exactly one
/// database and one service, and no step that had finished is done again.
/// </summary>
public sealed class DurabilityTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly TestDatabase database = new();
    private AzuriteProcess azurite = null!;
    private LocalHostProcess host = null!;
    private Dictionary<string, string> settings = null!;
    private string stateDirectory = null!;

    public async Task InitializeAsync()
    {
        await database.InitializeAsync();
        azurite = await AzuriteProcess.StartAsync();
        stateDirectory = Directory.CreateTempSubdirectory("setupclaw-durability-").FullName;
        settings = new Dictionary<string, string>
        {
            ["Durable__Backend"] = "AzureStorage",
            ["Durable__AzureStorage__ConnectionString"] = azurite.ConnectionString,
            ["Durable__TaskHub"] = "durability" + Guid.NewGuid().ToString("N")[..8],
            ["Durable__AzureStorage__LeaseIntervalSeconds"] = "6",
            ["Durable__AzureStorage__LeaseRenewIntervalSeconds"] = "2",
            ["Durable__AzureStorage__LeaseAcquireIntervalSeconds"] = "2",
            ["Durable__AzureStorage__VisibilityTimeoutSeconds"] = "6",
            ["Sweep__IntervalSeconds"] = "0",
        };
        host = await StartHostAsync();
    }

    public async Task DisposeAsync()
    {
        await host.DisposeAsync();
        await azurite.DisposeAsync();
        await database.DisposeAsync();
    }

    [Theory]
    [InlineData("create_database")]
    [InlineData("seed_workspace")]
    [InlineData("health_check")]
    public async Task HostKilledDuringAStep_SagaFinishesOnTheNextHost_OneDatabaseOneServiceNoFinishedStepRepeated(string step)
    {
        var client = new ControlPlaneClient(host.CreateClient());
        var (customerId, token, signup) = await client.SignupAsync($"{step}@example.com", "starter");
        await client.SendEventAsync(StripeEventFactory.CheckoutCompleted(customerId, $"{step}@example.com", DateTimeOffset.UtcNow, signup.GetProperty("checkoutSessionId").GetString()));
        await Wait.UntilAsync(
            async () => await database.CountAsync($"select count(*) from provisioning_steps where customer_id = '{customerId}' and step = '{step}'") > 0,
            TimeSpan.FromSeconds(60), $"the saga to reach {step}", TimeSpan.FromMilliseconds(5));
        await host.CrashAsync();
        var finishedBefore = await database.CountAsync($"select count(*) from provisioning_steps where customer_id = '{customerId}' and status = 'completed'");

        var clock = System.Diagnostics.Stopwatch.StartNew();
        host = await StartHostAsync();
        client = new ControlPlaneClient(host.CreateClient());
        var active = await client.WaitForStatusAsync(customerId, token, "active", TimeSpan.FromSeconds(120));
        output.WriteLine($"killed at {step} with {finishedBefore} step(s) finished; active {clock.Elapsed.TotalSeconds:0.0} s after the restart");

        var repeated = await database.CountAsync(
            $"select count(*) from (select step from provisioning_steps where customer_id = '{customerId}' and status = 'completed' group by operation_id, step having count(*) > 1) r");
        Assert.Equal(0, repeated);
        Assert.Equal(1, await database.CountAsync($"select count(distinct operation_id) from provisioning_steps where customer_id = '{customerId}'"));
        Assert.True(await TestDatabase.AdminExistsAsync("select 1 from pg_database where datname = @name", "claw_" + customerId));
        Assert.Single(Directory.GetFiles(stateDirectory, $"claw-{customerId.Replace('_', '-')}.json"));
        // The runtime answers (a host killed after activation brings it back when it starts again).
        using var runtime = new HttpClient { BaseAddress = new Uri(active.GetProperty("accessUrl").GetString()!), Timeout = TimeSpan.FromSeconds(5) };
        string? workspace = null;
        await Wait.UntilAsync(async () =>
        {
            try
            {
                workspace = (await runtime.GetFromJsonAsync<JsonElement>("/health")).GetProperty("workspaceId").GetString();
                return true;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(30), "the customer's runtime to answer");
        Assert.Equal(active.GetProperty("workspaceId").GetString(), workspace);
    }

    private Task<LocalHostProcess> StartHostAsync() => LocalHostProcess.StartAsync(database.ConnectionString, stateDirectory, settings);
}

using System.Text.Json;
using SetupClaw.Cli;
using SetupClaw.Tests.Infrastructure;

namespace SetupClaw.Tests.EndToEnd;

/// <summary>
/// The operator's smoke test against the local stack (real PostgreSQL, real runtime processes, the stub model behind
/// the gateway): the flow itself, the command line as an operator runs it, and a run where a step fails, which exits
/// non-zero and leaves nothing behind.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class SmokeTests(LocalStackFixture stack)
{
    [Fact]
    public async Task Smoke_ProvisionsChecksAndRemovesATestCustomer_AndLeavesNothing()
    {
        var connection = new OperatorConnection(stack.Host.BaseUrl, LocalHostProcess.AdminKey);
        using var controlPlane = connection.CreateClient();
        var test = new SmokeTest(controlPlane, url => new HttpClient { BaseAddress = url }, TimeSpan.FromSeconds(90), _ => { });

        var result = await test.RunAsync("starter", CancellationToken.None);

        Assert.True(result.Passed, string.Join("\n", result.Steps));
        string[] expected = ["create test customer", "provision", "credentials", "health", "chat", "memory write", "memory search", "deprovision", "resources gone"];
        Assert.Equal(expected, result.Steps.Where(s => !s.Name.StartsWith(' ')).Select(s => s.Name));
        Assert.All(result.Steps, s => Assert.Equal(SmokeStep.Passed, s.Outcome));
        Assert.Contains(result.Steps, s => s.Name.Trim() == "create_database");
        Assert.False(await TestDatabase.AdminExistsAsync("select 1 from pg_database where datname = @name", "claw_" + result.CustomerId));
        Assert.True(await stack.Database.CountAsync($"select count(*) from customers where id = '{result.CustomerId}' and is_test and provisioning_status = 'deprovisioned'") == 1);
    }

    [Fact]
    public async Task SmokeCommand_AsTheOperatorRunsIt_ExitsZero_WithJsonOnlyOnStdout()
    {
        var (exitCode, output, errors) = await RunCliAsync("smoke", "--url", stack.Host.BaseUrl.ToString(), "--admin-key", LocalHostProcess.AdminKey, "--json");

        Assert.True(exitCode == 0, output + errors);
        var result = JsonDocument.Parse(output).RootElement;
        Assert.True(result.GetProperty("passed").GetBoolean(), output);
        Assert.Contains("test customer", errors, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SmokeCommand_BadInput_Exits2_AndAWrongAdminKeyExits1()
    {
        Assert.Equal(2, (await RunCliAsync("smoke", "--timeout", "soon")).ExitCode);
        Assert.Equal(2, (await RunCliAsync("smoke", "--url", "not a url", "--admin-key", "x")).ExitCode);
        // An address without a key: the local settings' key is never sent elsewhere.
        Assert.Equal(2, (await RunCliAsync("smoke", "--url", stack.Host.BaseUrl.ToString())).ExitCode);
        var (exitCode, output, _) = await RunCliAsync("smoke", "--url", stack.Host.BaseUrl.ToString(), "--admin-key", "wrong_admin_key_0123456789");
        Assert.Equal(1, exitCode);
        Assert.Contains("smoke FAILED", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Smoke_WhenAStepFails_ExitsNonZero_AndLeavesNothingBehind()
    {
        await using var database = new TestDatabase();
        await database.InitializeAsync();
        // The runtime cannot be found: the service step fails for good and the saga undoes the database.
        await using var host = await LocalHostProcess.StartAsync(database.ConnectionString, settings: new Dictionary<string, string>
        {
            ["Providers__Local__RuntimePath"] = "/nonexistent/SetupClaw.Runtime.dll",
        });

        var (exitCode, output, errors) = await RunCliAsync("smoke", "--url", host.BaseUrl.ToString(), "--admin-key", LocalHostProcess.AdminKey, "--json", "--timeout", "60");

        Assert.True(exitCode == 1, output + errors);
        var result = JsonDocument.Parse(output).RootElement;
        Assert.False(result.GetProperty("passed").GetBoolean());
        var steps = result.GetProperty("steps").EnumerateArray().ToList();
        Assert.Contains(steps, s => s.GetProperty("name").GetString() == "provision" && s.GetProperty("outcome").GetString() == "failed");
        Assert.Contains(steps, s => s.GetProperty("name").GetString() == "resources gone" && s.GetProperty("outcome").GetString() == "passed");
        var customerId = result.GetProperty("customerId").GetString();
        Assert.False(await TestDatabase.AdminExistsAsync("select 1 from pg_database where datname = @name", "claw_" + customerId));
        Assert.False(await TestDatabase.AdminExistsAsync("select 1 from pg_roles where rolname = @name", "claw_" + customerId));
    }

    private static Task<(int ExitCode, string Output, string Errors)> RunCliAsync(params string[] arguments) =>
        // No operator settings from the environment: each test passes its own.
        Processes.RunAsync("dotnet", [Path.Combine(AppContext.BaseDirectory, "setupclaw-cli.dll"), .. arguments], TimeSpan.FromMinutes(4),
            environment: new Dictionary<string, string?> { ["SETUPCLAW_URL"] = null, ["SETUPCLAW_ADMIN_KEY"] = null });
}

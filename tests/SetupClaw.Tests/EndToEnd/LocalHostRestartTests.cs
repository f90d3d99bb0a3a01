using System.Net.Http.Json;
using System.Text.Json;
using SetupClaw.Billing;
using SetupClaw.Tests.Infrastructure;

namespace SetupClaw.Tests.EndToEnd;

/// <summary>Stopping the local host stops every runtime it started; starting it again brings back those of active customers.</summary>
public sealed class LocalHostRestartTests : IAsyncLifetime
{
    private readonly TestDatabase database = new();

    public Task InitializeAsync() => database.InitializeAsync();

    public Task DisposeAsync() => database.DisposeAsync();

    [Fact]
    public async Task Restart_ActiveCustomer_RuntimeIsStoppedThenBroughtBack()
    {
        var state = Directory.CreateTempSubdirectory("setupclaw-restart-").FullName;
        Uri accessUrl;
        string workspaceId;
        await using (var first = await LocalHostProcess.StartAsync(database.ConnectionString, state))
        {
            var client = new ControlPlaneClient(first.CreateClient());
            var (customerId, token, signup) = await client.SignupAsync("restart@example.com");
            await client.SendEventAsync(StripeEventFactory.CheckoutCompleted(customerId, "restart@example.com", DateTimeOffset.UtcNow, signup.GetProperty("checkoutSessionId").GetString()));
            var active = await client.WaitForStatusAsync(customerId, token, "active", TimeSpan.FromSeconds(90));
            accessUrl = new Uri(active.GetProperty("accessUrl").GetString()!);
            workspaceId = active.GetProperty("workspaceId").GetString()!;
        }

        using var runtime = new HttpClient { BaseAddress = accessUrl, Timeout = TimeSpan.FromSeconds(5) };
        await Assert.ThrowsAsync<HttpRequestException>(() => runtime.GetAsync("/health"));

        await using var second = await LocalHostProcess.StartAsync(database.ConnectionString, state);
        JsonElement health = default;
        try
        {
            await Wait.UntilAsync(async () =>
            {
                try
                {
                    health = await runtime.GetFromJsonAsync<JsonElement>("/health");
                    return true;
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            }, TimeSpan.FromSeconds(30), "the runtime to come back after the restart");
        }
        catch (TimeoutException e)
        {
            var log = Directory.GetFiles(state, "*.log").Select(File.ReadAllText).FirstOrDefault() ?? "(no runtime log)";
            throw new TimeoutException($"{e.Message}\nhost:\n{second.Output}\nruntime log:\n{log}", e);
        }

        Assert.Equal(workspaceId, health.GetProperty("workspaceId").GetString());
    }
}

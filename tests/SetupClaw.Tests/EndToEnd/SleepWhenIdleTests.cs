using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using SetupClaw.Tests.Infrastructure;

namespace SetupClaw.Tests.EndToEnd;

/// <summary>
/// Sleep when idle on the local stack: a Starter assistant's runtime exits after its idle time, its port is answered
/// by the host, the operator sees it sleeping, and the next request wakes it and is answered (the chat included).
/// </summary>
public sealed class SleepWhenIdleTests
{
    [Fact]
    public async Task AnIdleLocalAssistant_Sleeps_IsReportedSleeping_AndWakesOnItsNextRequest()
    {
        await using var database = new TestDatabase();
        await database.InitializeAsync();
        await using var model = await StubModelServer.StartAsync();
        var settings = new Dictionary<string, string>(Runtime.Llm.OpenAi(model)) { ["Providers__Local__SleepAfterIdleSeconds"] = "2" };
        await using var host = await LocalHostProcess.StartAsync(database.ConnectionString, settings: settings);
        var client = new ControlPlaneClient(host.CreateClient());

        using var started = await client.AdminAsync(HttpMethod.Post, "/api/operator/smoke?plan=starter");
        var smoke = JsonDocument.Parse(await started.Content.ReadAsStringAsync()).RootElement;
        var customerId = smoke.GetProperty("customerId").GetString()!;
        var statusToken = smoke.GetProperty("statusToken").GetString()!;
        var status = await client.WaitForStatusAsync(customerId, statusToken, "active", TimeSpan.FromSeconds(120));
        var accessUrl = status.GetProperty("accessUrl").GetString()!;
        var apiKey = status.GetProperty("apiKey").GetString()!;

        // Nothing talks to it: after its idle time it sleeps, and asking the operator view does not wake it.
        await Wait.UntilAsync(async () => await client.ServiceStateAsync(customerId) == "sleeping", TimeSpan.FromSeconds(60), "the idle assistant to sleep");
        Assert.Equal("sleeping", await client.ServiceStateAsync(customerId));
        // The customer's dashboard says so, and reading it does not wake the assistant either.
        using var handler = new HttpClientHandler { CookieContainer = new CookieContainer() };
        using var browser = new HttpClient(handler) { BaseAddress = host.BaseUrl };
        using (var session = new HttpRequestMessage(HttpMethod.Post, "/api/dashboard/session") { Content = JsonContent.Create(new { customerId }) })
        {
            session.Headers.Authorization = new AuthenticationHeaderValue("Bearer", statusToken);
            (await browser.SendAsync(session)).EnsureSuccessStatusCode();
        }

        var dashboard = await browser.GetFromJsonAsync<JsonElement>("/api/dashboard");
        Assert.Equal("running", dashboard.GetProperty("state").GetProperty("code").GetString());
        Assert.Contains("asleep", dashboard.GetProperty("state").GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal("sleeping", await client.ServiceStateAsync(customerId));
        Assert.Contains("going to sleep", await File.ReadAllTextAsync(Path.Combine(host.StateDirectory, $"claw-{customerId.Replace('_', '-')}.log")), StringComparison.Ordinal);

        // The next request wakes it and is answered; so is a chat right after.
        using var runtime = new HttpClient { BaseAddress = new Uri(accessUrl), Timeout = TimeSpan.FromSeconds(60) };
        runtime.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        using (var woken = await runtime.GetAsync("/health"))
        {
            Assert.Equal(HttpStatusCode.OK, woken.StatusCode);
        }

        await Wait.UntilAsync(() => Task.FromResult(host.Output.Contains("woke up in", StringComparison.Ordinal)), TimeSpan.FromSeconds(30), "the host to log the wake");
        using (var chat = await runtime.PostAsJsonAsync("/api/chat", new { message = "Are you awake?" }))
        {
            Assert.Equal(HttpStatusCode.OK, chat.StatusCode);
        }
    }
}

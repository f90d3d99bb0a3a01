using System.Net;
using SetupClaw.Plans;
using SetupClaw.Tests.Infrastructure;

namespace SetupClaw.Tests.Runtime;

/// <summary>
/// The runtime reads who it is from its own database on every request (the control plane writes it there): a rotated
/// key is refused at once, a plan change needs no restart, a runtime given to nobody is healthy but serves no one until
/// it is given a customer, and its gateway token comes from the database too.
/// </summary>
public sealed class IdentityTests
{
    [Fact]
    public async Task RotatedKey_IsRefusedAtOnce_AndTheNewOneWorks_WithoutARestart()
    {
        await using var runtime = await RuntimeInstance.StartAsync();
        var old = runtime.ApiKey;
        using (var before = runtime.CreateClient())
        {
            Assert.Equal(HttpStatusCode.OK, (await before.GetAsync(new Uri("/status", UriKind.Relative))).StatusCode);
        }

        await runtime.RotateApiKeyAsync();

        using var oldClient = runtime.CreateClient(old);
        using var newClient = runtime.CreateClient();
        Assert.Equal(HttpStatusCode.Forbidden, (await oldClient.GetAsync(new Uri("/status", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await newClient.GetAsync(new Uri("/status", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task ARuntimeGivenToNobody_IsHealthyButServesNoOne_UntilItIsGivenACustomer()
    {
        await using var runtime = await RuntimeInstance.StartAsync(assign: false);
        using var anonymous = new HttpClient { BaseAddress = runtime.BaseUrl };
        var health = await (await anonymous.GetAsync(new Uri("/health", UriKind.Relative))).JsonAsync();
        Assert.Equal("healthy", health.GetProperty("status").GetString());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, health.GetProperty("workspaceId").ValueKind);
        using var client = runtime.CreateClient();
        using var refused = await client.GetAsync(new Uri("/status", UriKind.Relative));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Contains("not been given to a customer", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        await runtime.WriteIdentityAsync(runtime.Identity);

        health = await (await anonymous.GetAsync(new Uri("/health", UriKind.Relative))).JsonAsync();
        Assert.Equal(runtime.Identity.WorkspaceId, health.GetProperty("workspaceId").GetString());
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(new Uri("/status", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task APlanChange_WrittenToTheDatabase_ChangesLimitsAndSkills_WithoutARestart()
    {
        await using var runtime = await RuntimeInstance.StartAsync(plan: Plan.Starter);
        using var client = runtime.CreateClient();
        Assert.Equal(HttpStatusCode.Forbidden, (await client.PostAsync(new Uri("/api/skills/meeting-prep/enable", UriKind.Relative), null)).StatusCode);

        var pro = Plan.ProPlan;
        await runtime.WriteIdentityAsync(runtime.Identity with
        {
            PlanName = pro.Name,
            MessageLimit = pro.MessagesPerMonth,
            MonthlyTokens = pro.MonthlyTokens,
            Skills = pro.Skills,
            Features = pro.Features,
        });

        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync(new Uri("/api/skills/meeting-prep/enable", UriKind.Relative), null)).StatusCode);
        var status = await (await client.GetAsync(new Uri("/status", UriKind.Relative))).JsonAsync();
        Assert.Equal(Plan.Pro, status.GetProperty("plan").GetProperty("name").GetString());
        Assert.Equal(pro.MessagesPerMonth, status.GetProperty("plan").GetProperty("limits").GetProperty("messagesPerMonth").GetInt32());
        Assert.Equal(pro.MonthlyTokens, status.GetProperty("usage").GetProperty("monthlyTokens").GetInt64());
        var health = await (await client.GetAsync(new Uri("/health", UriKind.Relative))).JsonAsync();
        Assert.Equal(Plan.Pro, health.GetProperty("plan").GetString());
    }

    [Fact]
    public async Task TheGatewayToken_IsNeverSentToAModelThatIsNotTheGateway()
    {
        const string Token = "gw_test_placeholder_elsewhere";
        await using var model = await StubModelServer.StartAsync();
        // A runtime given a provider's own key talks to that provider: the gateway token is for the gateway only.
        await using var runtime = await RuntimeInstance.StartAsync(llm: Llm.OpenAi(model), gatewayToken: Token);
        using var client = runtime.CreateClient();

        (await client.PostJsonAsync("/api/chat", new { message = "hello" })).EnsureSuccessStatusCode();

        var sent = model.Requests.Last();
        Assert.Equal($"Bearer {model.ApiKey}", sent.Authorization);
        Assert.DoesNotContain(Token, (sent.Authorization ?? "") + (sent.XApiKey ?? ""), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheGatewayToken_ComesFromTheDatabase_AndAReplacedOneIsUsedAtOnce_NeverShown()
    {
        const string First = "gw_test_placeholder_first";
        const string Second = "gw_test_placeholder_second";
        await using var model = await StubModelServer.StartAsync(First);
        var llm = Llm.OpenAi(model);
        llm.Remove("Llm__ApiKey"); // as deployed: the gateway's address only
        await using var runtime = await RuntimeInstance.StartAsync(llm: llm, gatewayToken: First);
        using var client = runtime.CreateClient();

        (await client.PostJsonAsync("/api/chat", new { message = "hello" })).EnsureSuccessStatusCode();
        Assert.Equal($"Bearer {First}", model.Requests.Last().Authorization);

        await runtime.WriteIdentityAsync(runtime.Identity with { GatewayToken = Second });
        using var refused = await client.PostJsonAsync("/api/chat", new { message = "again" });

        // The stub takes only the first token: the second one was sent, and the model's refusal is the runtime's 502.
        Assert.Equal($"Bearer {Second}", model.Requests.Last().Authorization);
        Assert.Equal(HttpStatusCode.BadGateway, refused.StatusCode);
        var body = await refused.Content.ReadAsStringAsync();
        Assert.DoesNotContain(Second, body, StringComparison.Ordinal);
        Assert.DoesNotContain(First, await (await client.GetAsync(new Uri("/status", UriKind.Relative))).Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.DoesNotContain(Second, runtime.Output, StringComparison.Ordinal);
    }
}

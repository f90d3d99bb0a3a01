using System.ClientModel;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using OpenAI;
using OpenAI.Chat;
using SetupClaw.Credentials;
using SetupClaw.Plans;
using SetupClaw.Tests.Infrastructure;

namespace SetupClaw.Tests.Gateway;

/// <summary>
/// The control plane's model gateway over HTTP, in front of a stub model that speaks OpenAI's wire format: the
/// runtime's token in, the platform key out, tokens counted from the provider's usage, the budget and the caps held.
/// </summary>
[Collection(SimulatedLoadCollection.Name)]
public sealed class ModelGatewayTests : IAsyncLifetime
{
    private const long StarterBudget = 60;
    private StubModelServer model = null!;
    private SimulatedStack stack = null!;

    public async Task InitializeAsync()
    {
        model = await StubModelServer.StartAsync();
        stack = await SimulatedStack.StartAsync(changes: new Dictionary<string, string?>
        {
            ["Llm:Provider"] = "openai",
            ["Llm:BaseUrl"] = model.OpenAiBaseUrl,
            ["Llm:ApiKey"] = model.ApiKey,
            ["Llm:Model"] = "stub-gpt",
            ["Llm:MaxMessages"] = "20",
            ["Plans:Starter:MonthlyTokens"] = StarterBudget.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
    }

    public async Task DisposeAsync()
    {
        await stack.DisposeAsync();
        await model.DisposeAsync();
    }

    [Fact]
    public async Task OpenAiClient_ThroughTheGateway_GetsTheReply_TheProviderSeesOnlyThePlatformKey_AndTokensAreCounted()
    {
        var (customerId, token) = await CustomerWithTokenAsync(Plan.Pro);
        var before = model.Requests.Count;

        ChatCompletion completion = await Client(token).CompleteChatAsync(new SystemChatMessage("Be brief."), new UserChatMessage("Hello gateway"));

        Assert.Equal("Stub reply to: Hello gateway", completion.Content[0].Text);
        var sent = Assert.Single(model.Requests.Skip(before));
        Assert.Equal($"Bearer {model.ApiKey}", sent.Authorization);
        Assert.Equal("stub-gpt", sent.Body["model"]!.GetValue<string>());
        Assert.Equal((completion.Usage.InputTokenCount, completion.Usage.OutputTokenCount), await UsageAsync(customerId));
        Assert.True(completion.Usage.InputTokenCount > 0);
    }

    [Fact]
    public async Task StreamedCompletion_ArrivesInChunks_WithTheUsageChunkAndDone_AndIsCounted()
    {
        var (customerId, token) = await CustomerWithTokenAsync(Plan.Pro);
        using var request = Request(token, new JsonObject
        {
            ["model"] = "anything",
            ["stream"] = true,
            ["stream_options"] = new JsonObject { ["include_usage"] = true },
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "Tell me a story" }),
        });

        using var response = await stack.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(e => e["data: ".Length..]).ToList();

        Assert.Equal("[DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonNode.Parse(e)!).ToList();
        var text = string.Concat(chunks.Where(c => c["choices"]!.AsArray().Count > 0).Select(c => c["choices"]![0]!["delta"]!["content"]?.GetValue<string>()));
        Assert.Equal("Stub reply to: Tell me a story", text);
        Assert.True(chunks.Count(c => c["choices"]!.AsArray().Count > 0) > 2, "the reply came in pieces");
        var usage = chunks[^1]["usage"]!;
        Assert.True(usage["prompt_tokens"]!.GetValue<int>() > 0, "the provider's usage reached the gateway");
        Assert.Equal((usage["prompt_tokens"]!.GetValue<int>(), usage["completion_tokens"]!.GetValue<int>()), await UsageAsync(customerId));
    }

    [Fact]
    public async Task OverTheMonthlyBudget_Answers429NamingTheBudgetAndTheReset_AndTheProviderIsNotCalled()
    {
        var (customerId, token) = await CustomerWithTokenAsync(Plan.Starter);
        // The first call is under the budget (nothing used yet) and spends more than it.
        await Client(token).CompleteChatAsync(new UserChatMessage(new string('x', 400)));
        var (input, output) = await UsageAsync(customerId);
        Assert.True(input + output >= StarterBudget, $"the first call spent {input + output} tokens");
        var before = model.Requests.Count;

        using var refused = await stack.Http.SendAsync(Request(token, Chat("One more?")));

        Assert.Equal((HttpStatusCode)429, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        var problem = await refused.Content.ReadFromJsonAsync<JsonElement>();
        var resets = new DateOnly(DateTime.UtcNow.Year, DateTime.UtcNow.Month, 1).AddMonths(1).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal("monthly_tokens", problem.GetProperty("limit").GetString());
        Assert.Equal(resets, problem.GetProperty("resetsOn").GetString());
        Assert.Contains($"resets on {resets}", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(resets, refused.Headers.GetValues("X-Budget-Resets-At").Single());
        Assert.Null(refused.Headers.RetryAfter);
        Assert.Equal(before, model.Requests.Count);
    }

    [Fact]
    public async Task Tokens_RevokedUnknownOrMissing_AreRefused_AndASuspendedCustomerGets402()
    {
        var (customerId, token) = await CustomerWithTokenAsync(Plan.Pro);
        var before = model.Requests.Count;

        using (var missing = await stack.Http.PostAsJsonAsync("/api/llm/v1/chat/completions", Chat("hi")))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);
        }

        using (var unknown = await stack.Http.SendAsync(Request(Secrets.NewGatewayToken(), Chat("hi"))))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);
        }

        await stack.Database.ExecuteAsync($"update customers set billing_state = 'suspended' where id = '{customerId}'");
        using (var suspended = await stack.Http.SendAsync(Request(token, Chat("hi"))))
        {
            Assert.Equal(HttpStatusCode.PaymentRequired, suspended.StatusCode);
        }

        // Revoked as a failed or deprovisioned customer's is: the hash is gone.
        await stack.Database.ExecuteAsync($"update customers set billing_state = 'active', gateway_token_hash = null where id = '{customerId}'");
        using (var revoked = await stack.Http.SendAsync(Request(token, Chat("hi"))))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, revoked.StatusCode);
            Assert.Equal("application/problem+json", revoked.Content.Headers.ContentType?.MediaType);
        }

        Assert.Equal(before, model.Requests.Count);
    }

    [Fact]
    public async Task RequestsBeyondTheCaps_Answer400_AndNeverReachTheProvider()
    {
        var (_, token) = await CustomerWithTokenAsync(Plan.Pro);
        var before = model.Requests.Count;
        var history = new JsonArray([.. Enumerable.Range(0, 21).Select(i => (JsonNode)new JsonObject { ["role"] = i % 2 == 0 ? "user" : "assistant", ["content"] = "turn " + i })]);

        using var tooMany = await stack.Http.SendAsync(Request(token, new JsonObject { ["model"] = "m", ["messages"] = history }));
        using var toolRole = await stack.Http.SendAsync(Request(token, new JsonObject
        {
            ["model"] = "m", ["messages"] = new JsonArray(new JsonObject { ["role"] = "tool", ["content"] = "x" }),
        }));
        using var notJson = await stack.Http.SendAsync(RawRequest(token, "{\"messages\": ["));
        // Shapes JsonNode throws on when read: each a 400, never a 500.
        string[] odd =
        [
            "{\"messages\": [1]}", "{\"messages\": [{\"role\": \"user\", \"content\": [\"hi\"]}]}",
            "{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": 1, \"text\": \"hi\"}]}]}",
            "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"stream_options\": true}",
            "{\"messages\": [], \"messages\": []}", "{\"messages\": [{\"role\": \"system\", \"content\": \"only a system prompt\"}]}",
        ];
        foreach (var body in odd)
        {
            using var answer = await stack.Http.SendAsync(RawRequest(token, body));
            Assert.True(answer.StatusCode == HttpStatusCode.BadRequest, $"{body}: {(int)answer.StatusCode}");
        }


        Assert.Equal(HttpStatusCode.BadRequest, tooMany.StatusCode);
        Assert.Contains("1 to 20 messages", await tooMany.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, toolRole.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, notJson.StatusCode);
        Assert.Equal(before, model.Requests.Count);
    }

    /// <summary>A signed-up customer holding a gateway token, as reserve_credentials leaves it.</summary>
    private async Task<(string CustomerId, string Token)> CustomerWithTokenAsync(string plan)
    {
        var customerId = await stack.SignupAsync($"{Guid.NewGuid():N}@example.com", plan);
        var token = Secrets.NewGatewayToken();
        await stack.Database.ExecuteAsync($"update customers set gateway_token_hash = '{Secrets.Hash(token)}', billing_state = 'active', provisioning_status = 'active' where id = '{customerId}'");
        return (customerId, token);
    }

    private async Task<(int Input, int Output)> UsageAsync(string customerId) => (
        (int)await stack.Database.CountAsync($"select coalesce(sum(input_tokens), 0) from model_usage where customer_id = '{customerId}'"),
        (int)await stack.Database.CountAsync($"select coalesce(sum(output_tokens), 0) from model_usage where customer_id = '{customerId}'"));

    private ChatClient Client(string token) => new OpenAIClient(
        new ApiKeyCredential(token),
        new OpenAIClientOptions { Endpoint = new Uri(stack.Http.BaseAddress!, "/api/llm/v1") }).GetChatClient("claw");

    private static JsonObject Chat(string text) => new()
    {
        ["model"] = "anything",
        ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = text }),
    };

    private static HttpRequestMessage Request(string token, JsonObject body) => RawRequest(token, body.ToJsonString());

    private static HttpRequestMessage RawRequest(string token, string body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/llm/v1/chat/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return request;
    }
}

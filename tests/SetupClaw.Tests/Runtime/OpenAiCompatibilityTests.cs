using System.ClientModel;
using System.Net;
using OpenAI;
using OpenAI.Chat;
using SetupClaw.Tests.Infrastructure;

namespace SetupClaw.Tests.Runtime;

/// <summary>The official OpenAI .NET client, pointed at an assistant's /v1, works like against any OpenAI endpoint.</summary>
public sealed class OpenAiCompatibilityTests(OpenAiRuntimeFixture fixture) : IClassFixture<OpenAiRuntimeFixture>
{
    private readonly RuntimeInstance runtime = fixture.Runtime;
    private readonly StubModelServer model = fixture.Model;

    private ChatClient Client(string? key = null) => new OpenAIClient(
        new ApiKeyCredential(key ?? runtime.ApiKey),
        new OpenAIClientOptions { Endpoint = new Uri(runtime.BaseUrl, "/v1") }).GetChatClient("claw");

    [Fact]
    public async Task OpenAiClient_CompleteChat_GetsTheAssistantsReplyWithTheWorkspacePrompt()
    {
        var before = model.Requests.Count;

        ChatCompletion completion = await Client().CompleteChatAsync(
            new SystemChatMessage("Answer in English."), new UserChatMessage("Hi there"), new AssistantChatMessage("Hello!"), new UserChatMessage("What can you do?"));

        Assert.Equal("Stub reply to: What can you do?", completion.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.True(completion.Usage.InputTokenCount > 0);
        var sent = Assert.Single(model.Requests.Skip(before));
        // The runtime's own prompt comes first, the client's system message and history follow.
        Assert.StartsWith("You are a personal AI assistant hosted by SetupClaw", sent.Messages[0].Text, StringComparison.Ordinal);
        Assert.Contains(("system", "Answer in English."), sent.Messages);
        Assert.Equal(("assistant", "Hello!"), sent.Messages[^2]);
        Assert.Equal(("user", "What can you do?"), sent.Messages[^1]);
    }

    [Fact]
    public async Task OpenAiClient_Streaming_ReceivesSeveralUpdatesThatMakeTheReply()
    {
        var pieces = new List<string>();
        await foreach (var update in Client().CompleteChatStreamingAsync([new UserChatMessage("Stream this please")]))
        {
            pieces.AddRange(update.ContentUpdate.Select(part => part.Text));
        }

        Assert.True(pieces.Count(p => p.Length > 0) >= 3, $"expected several pieces, got {pieces.Count}");
        Assert.Equal("Stub reply to: Stream this please", string.Concat(pieces));
    }

    [Fact]
    public async Task OpenAiClient_SameUser_SharesOneStoredConversation()
    {
        var options = new ChatCompletionOptions { EndUserId = "telegram:4242" };
        await Client().CompleteChatAsync([new UserChatMessage("first")], options);
        await Client().CompleteChatAsync([new UserChatMessage("second")], options);

        Assert.Equal(1, await runtime.CountAsync("select count(*) from conversations where external_key = 'telegram:4242'"));
        Assert.Equal(4, await runtime.CountAsync(
            "select count(*) from messages m join conversations c on c.id = m.conversation_id where c.external_key = 'telegram:4242'"));
    }

    [Fact]
    public async Task OpenAiClient_WrongKey_GetsA403ItCanRead()
    {
        var error = await Assert.ThrowsAsync<ClientResultException>(() => Client("claw_" + new string('1', 64)).CompleteChatAsync([new UserChatMessage("hi")]));

        Assert.Equal(403, error.Status);
    }

    [Fact]
    public async Task Models_ListsTheAssistant()
    {
        using var client = runtime.CreateClient();
        var models = await (await client.GetAsync(new Uri("/v1/models", UriKind.Relative))).JsonAsync();

        Assert.Equal("list", models.GetProperty("object").GetString());
        Assert.Equal("claw", models.GetProperty("data")[0].GetProperty("id").GetString());
    }

    [Theory]
    [InlineData("{\"model\": \"claw\"}")]
    [InlineData("{\"model\": \"claw\", \"messages\": []}")]
    [InlineData("{\"model\": \"claw\", \"messages\": [{\"role\": \"assistant\", \"content\": \"last is not the user\"}]}")]
    [InlineData("{\"model\": \"claw\", \"messages\": [{\"role\": \"tool\", \"content\": \"x\"}, {\"role\": \"user\", \"content\": \"hi\"}]}")]
    [InlineData("{\"model\": \"claw\", \"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"image_url\", \"image_url\": {\"url\": \"http://x\"}}]}]}")]
    [InlineData("{\"model\": \"claw\", \"messages\": \"hi\"}")]
    public async Task Completions_BadRequest_ProblemWithOpenAiErrorObject(string body)
    {
        using var client = runtime.CreateClient();
        var messages = await runtime.CountAsync("select count(*) from messages");

        using var response = await client.PostAsync(new Uri("/v1/chat/completions", UriKind.Relative), new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        var problem = await response.JsonAsync();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("invalid_request_error", problem.GetProperty("error").GetProperty("type").GetString());
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("error").GetProperty("message").GetString()));
        Assert.Equal(messages, await runtime.CountAsync("select count(*) from messages"));
    }
}

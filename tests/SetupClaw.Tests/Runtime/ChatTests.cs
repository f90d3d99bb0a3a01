using System.Net;
using System.Net.Http.Headers;
using System.Text;
using SetupClaw.Tests.Infrastructure;

namespace SetupClaw.Tests.Runtime;

/// <summary>Chat through the runtime's own API against a stub model speaking OpenAI's wire format.</summary>
public sealed class ChatTests(OpenAiRuntimeFixture fixture) : IClassFixture<OpenAiRuntimeFixture>
{
    private readonly RuntimeInstance runtime = fixture.Runtime;
    private readonly StubModelServer model = fixture.Model;

    [Fact]
    public async Task Chat_PutsWorkspaceFilesRelevantMemoriesAndEnabledSkillsInThePrompt()
    {
        using var client = runtime.CreateClient();
        (await client.PostJsonAsync("/api/memory", new { content = "Dentist appointment with Dr Molar on Friday at 15:00" })).EnsureSuccessStatusCode();
        (await client.PostJsonAsync("/api/memory", new { content = "The car needs new winter tyres before December" })).EnsureSuccessStatusCode();
        var before = model.Requests.Count;

        using var response = await client.PostJsonAsync("/api/chat", new { message = "When is my dentist appointment?" });
        var body = await response.JsonAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Stub reply to: When is my dentist appointment?", body.GetProperty("reply").GetString());
        Assert.True(Guid.TryParse(body.GetProperty("conversationId").GetString(), out _));
        Assert.True(body.GetProperty("usage").GetProperty("messagesUsed").GetInt32() >= 1);
        var sent = Assert.Single(model.Requests.Skip(before));
        Assert.Equal("stub-gpt", sent.Body["model"]!.GetValue<string>());
        Assert.Equal($"Bearer {model.ApiKey}", sent.Authorization);
        // Workspace files, rendered for this customer by the seed step.
        foreach (var file in new[] { "IDENTITY.md", "SOUL.md", "USER.md", "AGENTS.md", "MEMORY.md" })
        {
            Assert.Contains($"<workspace-file name=\"{file}\">", sent.System, StringComparison.Ordinal);
        }

        Assert.Contains("Babbage", sent.System, StringComparison.Ordinal);
        Assert.Contains("Ada Lovelace", sent.System, StringComparison.Ordinal);
        // The relevant memory, not the unrelated one.
        Assert.Contains("Dr Molar", sent.System, StringComparison.Ordinal);
        Assert.DoesNotContain("winter tyres", sent.System, StringComparison.Ordinal);
        // The Starter plan's enabled skills, not a Pro one.
        Assert.Contains("## Skill: daily-briefing", sent.System, StringComparison.Ordinal);
        Assert.DoesNotContain("## Skill: meeting-prep", sent.System, StringComparison.Ordinal);
        Assert.Equal(("user", "When is my dentist appointment?"), sent.Messages[^1]);
    }

    [Fact]
    public async Task Chat_WithConversationId_ReplaysEarlierTurnsAndStoresEveryTurn()
    {
        using var client = runtime.CreateClient();
        var first = await (await client.PostJsonAsync("/api/chat", new { message = "My name is Ada." })).JsonAsync();
        var conversation = first.GetProperty("conversationId").GetString();
        var before = model.Requests.Count;

        using var second = await client.PostJsonAsync("/api/chat", new { message = "What is my name?", conversationId = conversation });

        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(conversation, (await second.JsonAsync()).GetProperty("conversationId").GetString());
        var sent = Assert.Single(model.Requests.Skip(before));
        Assert.Equal(
            [("user", "My name is Ada."), ("assistant", "Stub reply to: My name is Ada."), ("user", "What is my name?")],
            sent.Messages.Where(m => m.Role != "system").ToArray());
        Assert.Equal(4, await runtime.CountAsync($"select count(*) from messages where conversation_id = '{conversation}'"));
    }

    [Fact]
    public async Task Chat_AfterTheCustomerEditsSoulMd_UsesTheEditedText()
    {
        using var client = runtime.CreateClient();
        using var edit = new StringContent("# SOUL\nYou speak like a ship's captain and keep answers to one line.", Encoding.UTF8, "text/markdown");
        (await client.PutAsync(new Uri("/api/workspace/files/SOUL.md", UriKind.Relative), edit)).EnsureSuccessStatusCode();
        var before = model.Requests.Count;

        (await client.PostJsonAsync("/api/chat", new { message = "Hello" })).EnsureSuccessStatusCode();

        var sent = Assert.Single(model.Requests.Skip(before));
        Assert.Contains("You speak like a ship's captain", sent.System, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Chat_AskedForEventStream_ArrivesInPiecesThenDone()
    {
        using var client = runtime.CreateClient();
        var hold = model.HoldNextStream();

        using var stream = await client.OpenStreamAsync("/api/chat", new { message = "Tell me a story about a lighthouse keeper" });
        Assert.Equal(HttpStatusCode.OK, stream.Response.StatusCode);
        // The model holds the rest of its reply until this client has read the first piece: a runtime that waited for
        // the whole reply before sending anything would never deliver it, and this read would time out.
        var first = await stream.NextAsync(TimeSpan.FromSeconds(30));
        Assert.Equal("delta", first?.Event);
        Assert.Equal(1, hold.PiecesSent);
        hold.Release();
        var events = (await stream.RestAsync(TimeSpan.FromSeconds(30))).Prepend(first!).ToList();

        var deltas = events.Where(e => e.Event == "delta").ToList();
        Assert.True(deltas.Count >= 3, $"expected the reply in pieces, got {deltas.Count} delta events");
        Assert.Equal(model.StreamPieces, hold.PiecesSent);
        var done = Assert.Single(events, e => e.Event == "done").Json;
        var expected = "Stub reply to: Tell me a story about a lighthouse keeper";
        Assert.Equal(expected, string.Concat(deltas.Select(d => d.Json.GetProperty("text").GetString())));
        Assert.Equal(expected, done.GetProperty("reply").GetString());
        var conversation = done.GetProperty("conversationId").GetString();
        Assert.Equal(2, await runtime.CountAsync($"select count(*) from messages where conversation_id = '{conversation}'"));
        Assert.True(model.Requests.Last().Stream);
    }

    [Theory]
    [InlineData("", "application/json", HttpStatusCode.BadRequest)]
    [InlineData("not json", "application/json", HttpStatusCode.BadRequest)]
    [InlineData("{\"message\": 42}", "application/json", HttpStatusCode.BadRequest)]
    [InlineData("{\"message\": \"   \"}", "application/json", HttpStatusCode.BadRequest)]
    [InlineData("{\"message\": \"hi\", \"conversationId\": \"nope\"}", "application/json", HttpStatusCode.BadRequest)]
    [InlineData("{\"message\": \"hi\", \"conversationId\": \"0b9f6c51-4f4e-4d4b-9a55-2f3d7a1d9e10\"}", "application/json", HttpStatusCode.NotFound)]
    [InlineData("message=hi", "application/x-www-form-urlencoded", HttpStatusCode.UnsupportedMediaType)]
    [InlineData("[1, 2]", "application/json", HttpStatusCode.BadRequest)]
    public async Task Chat_BadInput_ProblemAndNothingStoredOrCounted(string body, string contentType, HttpStatusCode expected)
    {
        using var client = runtime.CreateClient();
        var messages = await runtime.CountAsync("select count(*) from messages");
        var used = await runtime.CountAsync("select coalesce(sum(messages), 0) from usage_monthly");
        var calls = model.Requests.Count;

        using var response = await client.PostAsync(new Uri("/api/chat", UriKind.Relative), new StringContent(body, Encoding.UTF8, contentType));

        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.False(string.IsNullOrWhiteSpace((await response.JsonAsync()).GetProperty("detail").GetString()));
        Assert.Equal(messages, await runtime.CountAsync("select count(*) from messages"));
        Assert.Equal(used, await runtime.CountAsync("select coalesce(sum(messages), 0) from usage_monthly"));
        Assert.Equal(calls, model.Requests.Count);
    }

    [Fact]
    public async Task Chat_OversizedMessage_413NamesTheLimit()
    {
        using var client = runtime.CreateClient();
        var messages = await runtime.CountAsync("select count(*) from messages");

        using var response = await client.PostJsonAsync("/api/chat", new { message = new string('a', 16_001) });

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("16,000", (await response.JsonAsync()).GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(messages, await runtime.CountAsync("select count(*) from messages"));
    }

    [Fact]
    public async Task Endpoints_WithoutOrWithWrongKey_401And403_HealthIsOpen()
    {
        using var anonymous = new HttpClient { BaseAddress = runtime.BaseUrl };
        using var wrong = runtime.CreateClient("claw_" + new string('0', 64));
        foreach (var path in new[] { "/status", "/api/memory", "/api/skills", "/api/workspace/files", "/v1/models" })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(new Uri(path, UriKind.Relative))).StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, (await wrong.GetAsync(new Uri(path, UriKind.Relative))).StatusCode);
        }

        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostJsonAsync("/api/chat", new { message = "hi" })).StatusCode);
        var health = await (await anonymous.GetAsync(new Uri("/health", UriKind.Relative))).JsonAsync();
        Assert.Equal("healthy", health.GetProperty("status").GetString());
        Assert.Equal("connected", health.GetProperty("database").GetString());
        Assert.Equal("openai", health.GetProperty("modelProvider").GetString());
    }

    [Fact]
    public async Task Status_ReportsPlanLimitsUsageAndNeverTheProviderKey()
    {
        using var client = runtime.CreateClient();
        (await client.PostJsonAsync("/api/chat", new { message = "count me" })).EnsureSuccessStatusCode();

        using var response = await client.GetAsync(new Uri("/status", UriKind.Relative));
        var text = await response.Content.ReadAsStringAsync();
        var status = await response.JsonAsync();

        Assert.Equal("starter", status.GetProperty("plan").GetProperty("name").GetString());
        Assert.Equal(5000, status.GetProperty("plan").GetProperty("limits").GetProperty("messagesPerMonth").GetInt32());
        var usage = status.GetProperty("usage");
        Assert.True(usage.GetProperty("messagesUsed").GetInt32() >= 1);
        Assert.Equal(5000 - usage.GetProperty("messagesUsed").GetInt32(), usage.GetProperty("messagesRemaining").GetInt32());
        Assert.True(usage.GetProperty("inputTokens").GetInt64() > 0);
        Assert.DoesNotContain(model.ApiKey, text, StringComparison.Ordinal);
        var health = await (await client.GetAsync(new Uri("/health", UriKind.Relative))).Content.ReadAsStringAsync();
        Assert.DoesNotContain(model.ApiKey, health, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Chat_StreamedToAClientThatWantsJson_IsWholeJson()
    {
        using var client = runtime.CreateClient();
        client.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));

        using var response = await client.PostJsonAsync("/api/chat", new { message = "plain please" });

        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("Stub reply to: plain please", (await response.JsonAsync()).GetProperty("reply").GetString());
    }
}

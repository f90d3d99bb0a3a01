using System.Net;
using SetupClaw.Tests.Infrastructure;

namespace SetupClaw.Tests.Runtime;

public sealed class AnthropicRuntimeFixture : IAsyncLifetime
{
    public StubModelServer Model { get; private set; } = null!;

    public RuntimeInstance Runtime { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Model = await StubModelServer.StartAsync("sk-ant-stub-9f8e7d6c5b4a");
        Runtime = await RuntimeInstance.StartAsync(plan: "pro", llm: Llm.Anthropic(Model));
    }

    public async Task DisposeAsync()
    {
        await Runtime.DisposeAsync();
        await Model.DisposeAsync();
    }
}

/// <summary>The same assistant on Anthropic's Messages API, through the official Anthropic SDK.</summary>
public sealed class AnthropicTests(AnthropicRuntimeFixture fixture) : IClassFixture<AnthropicRuntimeFixture>
{
    private readonly RuntimeInstance runtime = fixture.Runtime;
    private readonly StubModelServer model = fixture.Model;

    [Fact]
    public async Task Chat_SendsAMessagesRequestWithTheSystemPromptAndKeyHeader()
    {
        using var client = runtime.CreateClient();
        var before = model.Requests.Count;

        using var response = await client.PostJsonAsync("/api/chat", new { message = "Prepare me for the board meeting" });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Stub reply to: Prepare me for the board meeting", (await response.JsonAsync()).GetProperty("reply").GetString());
        var sent = Assert.Single(model.Requests.Skip(before));
        Assert.Equal("anthropic", sent.Api);
        Assert.True(sent.XApiKey == model.ApiKey || sent.Authorization == $"Bearer {model.ApiKey}", "the key reaches the provider in its auth header");
        Assert.False(string.IsNullOrEmpty(sent.AnthropicVersion));
        Assert.Equal("stub-claude", sent.Body["model"]!.GetValue<string>());
        Assert.True(sent.Body["max_tokens"]!.GetValue<int>() > 0);
        Assert.Contains("<workspace-file name=\"SOUL.md\">", sent.System, StringComparison.Ordinal);
        // Pro includes meeting-prep, enabled by the seed step.
        Assert.Contains("## Skill: meeting-prep", sent.System, StringComparison.Ordinal);
        Assert.Equal([("user", "Prepare me for the board meeting")], sent.Messages);
    }

    [Fact]
    public async Task Chat_Streamed_ArrivesInPiecesFromTheAnthropicEventStream()
    {
        using var client = runtime.CreateClient();

        var (response, events) = await client.StreamAsync("/api/chat", new { message = "Draft an email to Grace" });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var deltas = events.Where(e => e.Event == "delta").ToList();
        Assert.True(deltas.Count >= 3, $"expected several pieces, got {deltas.Count}");
        var done = Assert.Single(events, e => e.Event == "done").Json;
        Assert.Equal("Stub reply to: Draft an email to Grace", done.GetProperty("reply").GetString());
        Assert.True(done.GetProperty("usage").GetProperty("outputTokens").GetInt32() > 0);
    }
}

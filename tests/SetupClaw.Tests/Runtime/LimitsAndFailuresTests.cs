using System.Net;
using SetupClaw.Tests.Infrastructure;

namespace SetupClaw.Tests.Runtime;

/// <summary>The plan's monthly allowance, a missing model, a failing model: clear answers, nothing stored, keys never shown.</summary>
public sealed class LimitsAndFailuresTests
{
    [Fact]
    public async Task Chat_ConcurrentOverTheMonthlyLimit_ExactlyTheLimitSucceedsTheRestGet429()
    {
        await using var model = await StubModelServer.StartAsync();
        await using var runtime = await RuntimeInstance.StartAsync(llm: Llm.OpenAi(model), messageLimit: 5);
        using var client = runtime.CreateClient();

        var responses = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => client.PostJsonAsync("/api/chat", new { message = $"message {i}" })));

        Assert.Equal(5, responses.Count(r => r.StatusCode == HttpStatusCode.OK));
        var refused = responses.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        Assert.Equal(7, refused.Count);
        var problem = await refused[0].JsonAsync();
        Assert.Equal("application/problem+json", refused[0].Content.Headers.ContentType?.MediaType);
        Assert.Equal(5, problem.GetProperty("limit").GetInt32());
        Assert.Equal(5, problem.GetProperty("used").GetInt32());
        Assert.Contains("5", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(10, await runtime.CountAsync("select count(*) from messages"));
        Assert.Equal(5, await runtime.CountAsync("select messages from usage_daily"));
        Assert.Equal(5, model.Requests.Count);
        var status = await (await client.GetAsync(new Uri("/status", UriKind.Relative))).JsonAsync();
        Assert.Equal(0, status.GetProperty("usage").GetProperty("messagesRemaining").GetInt32());
    }

    [Fact]
    public async Task Chat_ModelRefusesTheKey_502NamesTheSettingAndTheKeyAppearsNowhere()
    {
        await using var model = await StubModelServer.StartAsync("sk-secret-provider-key-777");
        await using var runtime = await RuntimeInstance.StartAsync(llm: Llm.OpenAi(model));
        using var client = runtime.CreateClient();
        model.FailWith = HttpStatusCode.Unauthorized;

        using var whole = await client.PostJsonAsync("/api/chat", new { message = "hello" });
        var (streamed, _) = await client.StreamAsync("/api/chat", new { message = "hello" });
        using var compatible = await client.PostJsonAsync("/v1/chat/completions", new { model = "claw", messages = new[] { new { role = "user", content = "hi" } } });

        foreach (var response in new[] { whole, streamed, compatible })
        {
            Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
            var text = await response.Content.ReadAsStringAsync();
            Assert.Contains("Llm:ApiKey", text, StringComparison.Ordinal);
            Assert.DoesNotContain("sk-secret-provider-key-777", text, StringComparison.Ordinal);
        }

        Assert.True(model.Requests.Count >= 3);
        Assert.DoesNotContain("sk-secret-provider-key-777", runtime.Output, StringComparison.Ordinal);
        Assert.Contains("Model call to openai failed (HTTP 401)", runtime.Output, StringComparison.Ordinal);
        Assert.Equal(0, await runtime.CountAsync("select count(*) from messages"));
        Assert.Equal(0, await runtime.CountAsync("select coalesce(sum(messages), 0) from usage_monthly"));
        Assert.Equal(0, await runtime.CountAsync("select count(*) from workspace_files where content like '%sk-secret%'"));
    }

    [Fact]
    public async Task Chat_NoModelConfigured_503SaysWhichSettingToAdd_HealthStays200()
    {
        await using var runtime = await RuntimeInstance.StartAsync();
        using var client = runtime.CreateClient();

        using var chat = await client.PostJsonAsync("/api/chat", new { message = "hello" });
        using var health = await client.GetAsync(new Uri("/health", UriKind.Relative));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, chat.StatusCode);
        Assert.Contains("Llm:Provider", (await chat.JsonAsync()).GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("none", (await health.JsonAsync()).GetProperty("modelProvider").GetString());
        Assert.Equal(0, await runtime.CountAsync("select count(*) from messages"));
        Assert.Equal(0, await runtime.CountAsync("select coalesce(sum(messages), 0) from usage_monthly"));
    }

    [Fact]
    public async Task Chat_OpenAiWithoutKeyOrAddress_503NamesLlmApiKey()
    {
        await using var runtime = await RuntimeInstance.StartAsync(llm: new Dictionary<string, string> { ["Llm__Provider"] = "openai", ["Llm__Model"] = "gpt-x" });
        using var client = runtime.CreateClient();

        using var chat = await client.PostJsonAsync("/api/chat", new { message = "hello" });

        Assert.Equal(HttpStatusCode.ServiceUnavailable, chat.StatusCode);
        Assert.Contains("Llm:ApiKey", (await chat.JsonAsync()).GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal("misconfigured", (await (await client.GetAsync(new Uri("/health", UriKind.Relative))).JsonAsync()).GetProperty("modelProvider").GetString());
    }

    [Fact]
    public async Task Chat_AnthropicInTheRuntime_503SaysTheRuntimeSpeaksOpenAiAndWhereAnthropicGoes()
    {
        // The runtime speaks only OpenAI-compatible APIs; Anthropic is the control plane gateway's business.
        await using var runtime = await RuntimeInstance.StartAsync(llm: new Dictionary<string, string>
        {
            ["Llm__Provider"] = "anthropic", ["Llm__Model"] = "claude-x", ["Llm__ApiKey"] = "sk-ant-test-placeholder",
        });
        using var client = runtime.CreateClient();

        using var chat = await client.PostJsonAsync("/api/chat", new { message = "hello" });

        Assert.Equal(HttpStatusCode.ServiceUnavailable, chat.StatusCode);
        var detail = (await chat.JsonAsync()).GetProperty("detail").GetString();
        Assert.Contains("OpenAI-compatible", detail, StringComparison.Ordinal);
        Assert.Contains("https://api.anthropic.com/v1/", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("sk-ant-test-placeholder", detail, StringComparison.Ordinal);
        Assert.Equal("misconfigured", (await (await client.GetAsync(new Uri("/health", UriKind.Relative))).JsonAsync()).GetProperty("modelProvider").GetString());
    }

    [Fact]
    public async Task Health_DatabaseGone_503_AndARestartOnTheSameDatabaseKeepsTheData()
    {
        await using var model = await StubModelServer.StartAsync();
        var first = await RuntimeInstance.StartAsync(llm: Llm.OpenAi(model));
        using (var client = first.CreateClient())
        {
            (await client.PostJsonAsync("/api/memory", new { content = "Keeps bees on the roof" })).EnsureSuccessStatusCode();
        }

        await first.StopAsync();

        // Same database, a second start: the schema is applied again (idempotent) and the memory is still there.
        await using var second = await RuntimeInstance.StartAsync(llm: Llm.OpenAi(model), database: first.Database, seed: false);
        using var again = second.CreateClient();
        var search = await (await again.GetAsync(new Uri("/api/memory/search?query=bees", UriKind.Relative))).JsonAsync();
        Assert.Single(search.GetProperty("memories").EnumerateArray());

        await second.DropDatabaseAsync();
        using var health = await again.GetAsync(new Uri("/health", UriKind.Relative));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
        Assert.Equal("unreachable", (await health.JsonAsync()).GetProperty("database").GetString());

        // An unexpected failure is still problem+json, even for a client that asked for an event stream.
        var (chat, _) = await again.StreamAsync("/api/chat", new { message = "still there?" });
        Assert.Equal(HttpStatusCode.InternalServerError, chat.StatusCode);
        Assert.Equal("application/problem+json", chat.Content.Headers.ContentType?.MediaType);
        Assert.Contains("stored nothing", await chat.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}

using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using SetupClaw.Tests.Infrastructure;

namespace SetupClaw.Tests.Runtime;

/// <summary>A stub model and one Starter runtime that uses it through the OpenAI wire format.</summary>
public sealed class OpenAiRuntimeFixture : IAsyncLifetime
{
    public StubModelServer Model { get; private set; } = null!;

    public RuntimeInstance Runtime { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Model = await StubModelServer.StartAsync();
        Runtime = await RuntimeInstance.StartAsync(llm: Llm.OpenAi(Model));
    }

    public async Task DisposeAsync()
    {
        await Runtime.DisposeAsync();
        await Model.DisposeAsync();
    }
}

public static class Llm
{
    public static Dictionary<string, string> OpenAi(StubModelServer model) => new()
    {
        ["Llm__Provider"] = "openai",
        ["Llm__BaseUrl"] = model.OpenAiBaseUrl,
        ["Llm__ApiKey"] = model.ApiKey,
        ["Llm__Model"] = "stub-gpt",
    };

    public static Dictionary<string, string> Anthropic(StubModelServer model) => new()
    {
        ["Llm__Provider"] = "anthropic",
        ["Llm__BaseUrl"] = model.BaseUrl.ToString().TrimEnd('/'),
        ["Llm__ApiKey"] = model.ApiKey,
        ["Llm__Model"] = "stub-claude",
    };
}

/// <summary>One server-sent event and when it arrived, counted from the moment the response headers came.</summary>
public sealed record ServerSentEvent(string? Event, string Data, TimeSpan At)
{
    public JsonElement Json => JsonDocument.Parse(Data).RootElement;
}

public static class Http
{
    public static Task<HttpResponseMessage> PostJsonAsync(this HttpClient client, string path, object body) =>
        client.PostAsJsonAsync(new Uri(path, UriKind.Relative), body);

    public static async Task<JsonElement> JsonAsync(this HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        return JsonDocument.Parse(text).RootElement;
    }

    /// <summary>Posts and reads the reply as server-sent events, stamping each as it is read off the wire.</summary>
    public static async Task<(HttpResponseMessage Response, List<ServerSentEvent> Events)> StreamAsync(this HttpClient client, string path, object body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(path, UriKind.Relative)) { Content = JsonContent.Create(body) };
        request.Headers.Accept.ParseAdd("text/event-stream");
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var events = new List<ServerSentEvent>();
        if (response.Content.Headers.ContentType?.MediaType != "text/event-stream")
        {
            return (response, events);
        }

        var clock = Stopwatch.StartNew();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        string? name = null;
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                name = line[7..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                events.Add(new ServerSentEvent(name, line[6..], clock.Elapsed));
                name = null;
            }
        }

        return (response, events);
    }
}

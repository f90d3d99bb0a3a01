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
}

/// <summary>One server-sent event: its name (null for OpenAI-style unnamed events) and its data line.</summary>
public sealed record ServerSentEvent(string? Event, string Data)
{
    public JsonElement Json => JsonDocument.Parse(Data).RootElement;
}

/// <summary>A server-sent event stream read one event at a time, so a test can act between two events.</summary>
public sealed class EventStream(HttpResponseMessage response) : IDisposable
{
    private StreamReader? reader;

    public HttpResponseMessage Response { get; } = response;

    public bool IsEventStream => Response.Content.Headers.ContentType?.MediaType == "text/event-stream";

    /// <summary>The next event, or null at the end of the stream; throws when none arrives within <paramref name="timeout"/>.</summary>
    public async Task<ServerSentEvent?> NextAsync(TimeSpan timeout)
    {
        if (!IsEventStream)
        {
            return null;
        }

        reader ??= new StreamReader(await Response.Content.ReadAsStreamAsync());
        using var deadline = new CancellationTokenSource(timeout);
        string? name = null;
        try
        {
            while (await reader.ReadLineAsync(deadline.Token) is { } line)
            {
                if (line.StartsWith("event: ", StringComparison.Ordinal))
                {
                    name = line[7..];
                }
                else if (line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    return new ServerSentEvent(name, line[6..]);
                }
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            throw new TimeoutException($"No server-sent event arrived within {timeout.TotalSeconds:0} s.");
        }

        return null;
    }

    public async Task<List<ServerSentEvent>> RestAsync(TimeSpan timeout)
    {
        var events = new List<ServerSentEvent>();
        while (await NextAsync(timeout) is { } next)
        {
            events.Add(next);
        }

        return events;
    }

    public void Dispose()
    {
        reader?.Dispose();
        Response.Dispose();
    }
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

    /// <summary>Posts asking for server-sent events and returns as soon as the response headers are in.</summary>
    public static async Task<EventStream> OpenStreamAsync(this HttpClient client, string path, object body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(path, UriKind.Relative)) { Content = JsonContent.Create(body) };
        request.Headers.Accept.ParseAdd("text/event-stream");
        return new EventStream(await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead));
    }

    /// <summary>Posts and reads the whole reply as server-sent events (none when the answer is not an event stream).</summary>
    public static async Task<(HttpResponseMessage Response, List<ServerSentEvent> Events)> StreamAsync(this HttpClient client, string path, object body)
    {
        var stream = await client.OpenStreamAsync(path, body);
        return (stream.Response, await stream.RestAsync(TimeSpan.FromSeconds(60)));
    }
}

using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace SetupClaw.Tests.Infrastructure;

/// <summary>One request the stub model received: which API, its headers of note and its JSON body.</summary>
public sealed record ModelRequest(string Api, string Path, string? Authorization, string? XApiKey, string? AnthropicVersion, JsonNode Body)
{
    public bool Stream => Body["stream"]?.GetValue<bool>() == true;

    /// <summary>The system prompt, whichever wire format carried it.</summary>
    public string System => Api == "anthropic"
        ? Body["system"] switch
        {
            JsonValue text => text.GetValue<string>(),
            JsonArray blocks => string.Join("\n", blocks.Select(b => b?["text"]?.GetValue<string>())),
            _ => "",
        }
        : string.Join("\n", Messages.Where(m => m.Role is "system" or "developer").Select(m => m.Text));

    public IReadOnlyList<(string Role, string Text)> Messages => [.. (Body["messages"]?.AsArray() ?? []).Select(m => (
        m!["role"]!.GetValue<string>(),
        m["content"] switch
        {
            JsonValue text => text.GetValue<string>(),
            JsonArray parts => string.Join("\n", parts.Select(p => p?["text"]?.GetValue<string>())),
            _ => "",
        }))];
}

/// <summary>
/// A local model server speaking the providers' real wire formats: OpenAI's <c>POST /v1/chat/completions</c> (JSON or
/// SSE chunks ending in <c>[DONE]</c>) and Anthropic's <c>POST /v1/messages</c> (JSON or the message_start …
/// message_stop event sequence). It checks what the real APIs require (key headers, anthropic-version, max_tokens,
/// model, messages), records every request, and streams its reply in pieces with a pause between them.
/// </summary>
public sealed class StubModelServer : IAsyncDisposable
{
    private readonly WebApplication app;

    private StubModelServer(WebApplication app, string apiKey, int streamPieces, TimeSpan streamPause)
    {
        this.app = app;
        ApiKey = apiKey;
        StreamPieces = streamPieces;
        StreamPause = streamPause;
    }

    public string ApiKey { get; }

    public Uri BaseUrl => new(app.Urls.First());

    /// <summary>For OpenAI-compatible clients: the URL including <c>/v1</c>.</summary>
    public string OpenAiBaseUrl => BaseUrl.ToString().TrimEnd('/') + "/v1";

    public ConcurrentQueue<ModelRequest> Requests { get; } = new();

    /// <summary>The reply for a request; by default it quotes the last user message.</summary>
    public Func<ModelRequest, string> Reply { get; set; } = request => $"Stub reply to: {request.Messages[^1].Text}";

    /// <summary>How many pieces a streamed reply is cut into, and the pause after each (fixed at start: tests share servers).</summary>
    public int StreamPieces { get; }

    public TimeSpan StreamPause { get; }

    private StreamHold? nextHold;

    /// <summary>
    /// The next streamed reply sends its first piece and then waits until the test calls <see cref="StreamHold.Release"/>:
    /// a client that sees that piece before the release has proof it is streamed, with no clock involved. The hold is
    /// used once and gone, so no later test inherits it.
    /// </summary>
    public StreamHold HoldNextStream() => nextHold = new StreamHold();

    /// <summary>When set, every request fails with this status (the body echoes the key it was sent, as real APIs partly do).</summary>
    public HttpStatusCode? FailWith { get; set; }

    public static async Task<StubModelServer> StartAsync(string apiKey = "sk-stub-0123456789abcdef", int streamPieces = 4, TimeSpan streamPause = default)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new StubModelServer(app, apiKey, streamPieces, streamPause);
        app.MapPost("/v1/chat/completions", server.OpenAiAsync);
        app.MapPost("/v1/messages", server.AnthropicAsync);
        await app.StartAsync();
        return server;
    }

    public IReadOnlyList<ModelRequest> Received(string api) => [.. Requests.Where(r => r.Api == api)];

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }

    private async Task OpenAiAsync(HttpContext context)
    {
        var body = await JsonNode.ParseAsync(context.Request.Body);
        var authorization = context.Request.Headers.Authorization.ToString();
        var request = new ModelRequest("openai", context.Request.Path, authorization, null, null, body!);
        Requests.Enqueue(request);
        if (FailWith is not null || authorization != $"Bearer {ApiKey}")
        {
            await ErrorAsync(context, FailWith ?? HttpStatusCode.Unauthorized,
                new { error = new { message = $"Incorrect API key provided: {authorization.Replace("Bearer ", "", StringComparison.Ordinal)}.", type = "invalid_request_error", code = "invalid_api_key" } });
            return;
        }

        if (body?["model"]?.GetValue<string>() is not { Length: > 0 } model || body["messages"] is not JsonArray { Count: > 0 })
        {
            await ErrorAsync(context, HttpStatusCode.BadRequest, new { error = new { message = "model and messages are required", type = "invalid_request_error" } });
            return;
        }

        var reply = Reply(request);
        var (input, output) = Tokens(request, reply);
        var id = "chatcmpl-stub" + Guid.NewGuid().ToString("N")[..8];
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        if (!request.Stream)
        {
            await context.Response.WriteAsJsonAsync(new
            {
                id,
                @object = "chat.completion",
                created,
                model,
                choices = new[] { new { index = 0, message = new { role = "assistant", content = reply }, finish_reason = "stop" } },
                usage = new { prompt_tokens = input, completion_tokens = output, total_tokens = input + output },
            });
            return;
        }

        StartStream(context);
        var hold = Interlocked.Exchange(ref nextHold, null);
        var first = true;
        foreach (var piece in Pieces(reply))
        {
            object delta = first ? new { role = "assistant", content = piece } : new { content = piece };
            await SendAsync(context, null, new { id, @object = "chat.completion.chunk", created, model, choices = new[] { new { index = 0, delta, finish_reason = (string?)null } } });
            await HeldAsync(hold, first);
            first = false;
        }

        await SendAsync(context, null, new { id, @object = "chat.completion.chunk", created, model, choices = new[] { new { index = 0, delta = new { }, finish_reason = "stop" } } });
        if (body["stream_options"]?["include_usage"]?.GetValue<bool>() == true)
        {
            await SendAsync(context, null, new { id, @object = "chat.completion.chunk", created, model, choices = Array.Empty<object>(), usage = new { prompt_tokens = input, completion_tokens = output, total_tokens = input + output } });
        }

        await context.Response.WriteAsync("data: [DONE]\n\n");
    }

    private async Task AnthropicAsync(HttpContext context)
    {
        var body = await JsonNode.ParseAsync(context.Request.Body);
        // API keys arrive as x-api-key, or (as the official SDK since v13 sends them) as Authorization: Bearer.
        var bearer = context.Request.Headers.Authorization.ToString();
        var key = context.Request.Headers.TryGetValue("x-api-key", out var header) ? header.ToString()
            : bearer.StartsWith("Bearer ", StringComparison.Ordinal) ? bearer[7..] : "";
        var version = context.Request.Headers["anthropic-version"].ToString();
        var request = new ModelRequest("anthropic", context.Request.Path, bearer, header.Count > 0 ? header.ToString() : null, version, body!);
        Requests.Enqueue(request);
        if (FailWith is not null || key != ApiKey)
        {
            await ErrorAsync(context, FailWith ?? HttpStatusCode.Unauthorized,
                new { type = "error", error = new { type = "authentication_error", message = $"invalid x-api-key {key}" } });
            return;
        }

        if (string.IsNullOrEmpty(version) || body?["model"]?.GetValue<string>() is not { Length: > 0 } model
            || body["max_tokens"] is null || body["messages"] is not JsonArray { Count: > 0 } messages
            || messages.Any(m => m?["role"]?.GetValue<string>() is not ("user" or "assistant")))
        {
            await ErrorAsync(context, HttpStatusCode.BadRequest,
                new { type = "error", error = new { type = "invalid_request_error", message = "anthropic-version, model, max_tokens and user/assistant messages are required" } });
            return;
        }

        var reply = Reply(request);
        var (input, output) = Tokens(request, reply);
        var id = "msg_stub" + Guid.NewGuid().ToString("N")[..8];
        if (!request.Stream)
        {
            await context.Response.WriteAsJsonAsync(new
            {
                id,
                type = "message",
                role = "assistant",
                model,
                content = new[] { new { type = "text", text = reply } },
                stop_reason = "end_turn",
                stop_sequence = (string?)null,
                usage = new { input_tokens = input, output_tokens = output },
            });
            return;
        }

        StartStream(context);
        await SendAsync(context, "message_start", new
        {
            type = "message_start",
            message = new { id, type = "message", role = "assistant", model, content = Array.Empty<object>(), stop_reason = (string?)null, stop_sequence = (string?)null, usage = new { input_tokens = input, output_tokens = 1 } },
        });
        await SendAsync(context, "content_block_start", new { type = "content_block_start", index = 0, content_block = new { type = "text", text = "" } });
        await SendAsync(context, "ping", new { type = "ping" });
        var hold = Interlocked.Exchange(ref nextHold, null);
        var first = true;
        foreach (var piece in Pieces(reply))
        {
            await SendAsync(context, "content_block_delta", new { type = "content_block_delta", index = 0, delta = new { type = "text_delta", text = piece } });
            await HeldAsync(hold, first);
            first = false;
        }

        await SendAsync(context, "content_block_stop", new { type = "content_block_stop", index = 0 });
        await SendAsync(context, "message_delta", new { type = "message_delta", delta = new { stop_reason = "end_turn", stop_sequence = (string?)null }, usage = new { output_tokens = output } });
        await SendAsync(context, "message_stop", new { type = "message_stop" });
    }

    private async Task HeldAsync(StreamHold? hold, bool afterFirstPiece)
    {
        if (StreamPause > TimeSpan.Zero)
        {
            await Task.Delay(StreamPause);
        }

        if (hold is null)
        {
            return;
        }

        if (afterFirstPiece)
        {
            await hold.WaitAfterFirstPieceAsync();
        }
        else
        {
            hold.PieceSent();
        }
    }

    private IEnumerable<string> Pieces(string reply)
    {
        var size = Math.Max(1, (int)Math.Ceiling(reply.Length / (double)StreamPieces));
        for (var start = 0; start < reply.Length; start += size)
        {
            yield return reply.Substring(start, Math.Min(size, reply.Length - start));
        }
    }

    private static (int Input, int Output) Tokens(ModelRequest request, string reply) =>
        ((request.System.Length + request.Messages.Sum(m => m.Text.Length)) / 4 + 1, reply.Length / 4 + 1);

    private static void StartStream(HttpContext context)
    {
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
    }

    private static async Task SendAsync(HttpContext context, string? eventName, object data)
    {
        var json = JsonSerializer.Serialize(data);
        await context.Response.WriteAsync(eventName is null ? $"data: {json}\n\n" : $"event: {eventName}\ndata: {json}\n\n");
        await context.Response.Body.FlushAsync();
    }

    private static async Task ErrorAsync(HttpContext context, HttpStatusCode status, object body)
    {
        context.Response.StatusCode = (int)status;
        await context.Response.WriteAsJsonAsync(body);
    }

    public static string Describe(ModelRequest request) =>
        string.Create(CultureInfo.InvariantCulture, $"{request.Api} {request.Path} stream={request.Stream} messages={request.Messages.Count}");
}

/// <summary>A streamed reply held after its first piece until <see cref="Release"/>; see <see cref="StubModelServer.HoldNextStream"/>.</summary>
public sealed class StreamHold
{
    private readonly TaskCompletionSource released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int piecesSent;

    /// <summary>How many pieces of the held reply the model has sent so far.</summary>
    public int PiecesSent => Volatile.Read(ref piecesSent);

    public void Release() => released.TrySetResult();

    internal async Task WaitAfterFirstPieceAsync()
    {
        Interlocked.Increment(ref piecesSent);
        // A test that never releases (it failed first) must not keep the stub's request open for ever.
        await released.Task.WaitAsync(TimeSpan.FromSeconds(60)).ContinueWith(_ => { }, TaskScheduler.Default);
    }

    internal void PieceSent() => Interlocked.Increment(ref piecesSent);
}

using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.AI;
using SetupClaw.Runtime.Http;

namespace SetupClaw.Runtime.Chat;

/// <summary>
/// OpenAI-compatible <c>POST /v1/chat/completions</c> (with <c>stream: true</c>) and <c>GET /v1/models</c>, so any
/// OpenAI client library can talk to an assistant. The client keeps the history; the runtime still adds its
/// system prompt (workspace files, memories, skills), counts the message against the plan and stores the turn,
/// in a conversation keyed by the request's <c>user</c> field when there is one. Errors are problem+json that also
/// carry OpenAI's <c>error</c> object.
/// </summary>
public static class OpenAiEndpoints
{
    public const string ModelId = "claw";
    private const string Example = """{"model": "claw", "messages": [{"role": "user", "content": "Good morning"}]}""";
    private static readonly long Started = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    public static void MapOpenAiEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/models", () => Results.Json(
            new OpenAiModels("list", [new OpenAiModel(ModelId, "model", Started, "setupclaw")]), OpenAiJson.Default.OpenAiModels));

        app.MapPost("/v1/chat/completions", async Task<IResult> (HttpContext context, ChatService chat, ChatRunner runner, CancellationToken cancellationToken) =>
        {
            var (body, problem) = await JsonBody.ReadAsync(context.Request, OpenAiJson.Default.CompletionRequest, Example, cancellationToken);
            if (problem is not null)
            {
                return WithError(problem);
            }

            if (ToChat(body!) is not { } input)
            {
                return WithError(Problems.BadRequest(
                    $"'messages' must be a non-empty array of {{role, content}} ending with a user message; roles are system, developer, user and assistant, and content is text. For example {Example}."));
            }

            var (prepared, refused) = await chat.PrepareAsync(input, cancellationToken);
            if (refused is not null)
            {
                return WithError(refused);
            }

            var id = "chatcmpl-" + Guid.NewGuid().ToString("N");
            var model = body!.Model ?? ModelId;
            var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            var includeUsage = body.StreamOptions is { ValueKind: JsonValueKind.Object } options
                && options.TryGetProperty("include_usage", out var flag) && flag.ValueKind == JsonValueKind.True;
            var result = body.Stream == true
                ? await runner.StreamAsync(context, prepared!, new ChunkStream(id, model, created, includeUsage), cancellationToken)
                : await runner.CompleteAsync(prepared!, done => Results.Json(
                    new OpenAiCompletion(id, "chat.completion", created, model, [new OpenAiChoice(0, new OpenAiMessage("assistant", done.Reply), "stop")], Usage(done), done.ConversationId),
                    OpenAiJson.Default.OpenAiCompletion), cancellationToken);
            return result is ProblemHttpResult failed ? WithError(failed) : result;
        });
    }

    /// <summary>Adds OpenAI's <c>{"error": {message, type, code}}</c> to a problem, which OpenAI client libraries read.</summary>
    public static ProblemHttpResult WithError(ProblemHttpResult problem)
    {
        var type = problem.StatusCode switch
        {
            401 => "authentication_error",
            403 => "permission_error",
            404 => "not_found_error",
            429 => "rate_limit_error",
            >= 500 => "api_error",
            _ => "invalid_request_error",
        };
        problem.ProblemDetails.Extensions["error"] = new OpenAiError(problem.ProblemDetails.Detail, type, problem.StatusCode);
        return problem;
    }

    private static ChatInput? ToChat(CompletionRequest request)
    {
        if (request.Messages is not { Count: > 0 } messages)
        {
            return null;
        }

        var history = new List<ChatMessage>(messages.Count);
        foreach (var message in messages)
        {
            var role = message.Role switch
            {
                "system" or "developer" => ChatRole.System,
                "user" => ChatRole.User,
                "assistant" => ChatRole.Assistant,
                _ => (ChatRole?)null,
            };
            if (role is null || Text(message.Content) is not { } text)
            {
                return null;
            }

            history.Add(new ChatMessage(role.Value, text));
        }

        if (history[^1].Role != ChatRole.User)
        {
            return null;
        }

        var last = history[^1].Text;
        history.RemoveAt(history.Count - 1);
        var key = string.IsNullOrWhiteSpace(request.User) ? null : request.User.Length > 200 ? request.User[..200] : request.User;
        return new ChatInput(last, ExternalKey: key, ClientHistory: history);
    }

    /// <summary>Content as a string, or as an array of <c>{type: "text", text}</c> parts; anything else is refused.</summary>
    private static string? Text(JsonElement content)
    {
        if (content.ValueKind == JsonValueKind.String)
        {
            return content.GetString();
        }

        if (content.ValueKind != JsonValueKind.Array)
        {
            return null;
        }

        var parts = new List<string>();
        foreach (var part in content.EnumerateArray())
        {
            if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("type", out var type) || type.GetString() != "text"
                || !part.TryGetProperty("text", out var text) || text.ValueKind != JsonValueKind.String)
            {
                return null;
            }

            parts.Add(text.GetString()!);
        }

        return string.Join("\n", parts);
    }

    private static OpenAiUsage Usage(CompletedChat chat)
    {
        var (input, output) = (chat.Tokens?.InputTokenCount ?? 0, chat.Tokens?.OutputTokenCount ?? 0);
        return new OpenAiUsage(input, output, input + output);
    }

    internal sealed record CompletionRequest(
        string? Model,
        List<CompletionMessage>? Messages,
        bool? Stream,
        string? User,
        [property: JsonPropertyName("stream_options")] JsonElement? StreamOptions);

    internal sealed record CompletionMessage(string? Role, JsonElement Content);

    /// <summary><c>chat.completion.chunk</c> events, a final chunk with <c>finish_reason</c>, then <c>[DONE]</c>.</summary>
    private sealed class ChunkStream(string id, string model, long created, bool includeUsage) : IStreamFormat
    {
        private bool first = true;

        public Task DeltaAsync(HttpResponse response, string text, CancellationToken cancellationToken)
        {
            var delta = new OpenAiDelta(first ? "assistant" : null, text);
            first = false;
            return ChatRunner.WriteEventAsync(response, null, Chunk([new OpenAiChunkChoice(0, delta, null)], null), cancellationToken);
        }

        public async Task DoneAsync(HttpResponse response, CompletedChat chat, CancellationToken cancellationToken)
        {
            await ChatRunner.WriteEventAsync(response, null, Chunk([new OpenAiChunkChoice(0, new OpenAiDelta(null, null), "stop")], null), cancellationToken);
            if (includeUsage)
            {
                await ChatRunner.WriteEventAsync(response, null, Chunk([], Usage(chat)), cancellationToken);
            }

            await ChatRunner.WriteEventAsync(response, null, "[DONE]", cancellationToken);
        }

        public Task FailedAsync(HttpResponse response, ProblemDetails problem, CancellationToken cancellationToken) =>
            ChatRunner.WriteEventAsync(response, null, ChatRunner.Json(new OpenAiErrorBody(new OpenAiError(problem.Detail, "api_error", problem.Status)), OpenAiJson.Default.OpenAiErrorBody), cancellationToken);

        private string Chunk(IReadOnlyList<OpenAiChunkChoice> choices, OpenAiUsage? usage) =>
            ChatRunner.Json(new OpenAiChunk(id, "chat.completion.chunk", created, model, choices, usage), OpenAiJson.Default.OpenAiChunk);
    }
}

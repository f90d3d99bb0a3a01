using Microsoft.AspNetCore.Mvc;
using SetupClaw.Runtime.Http;

namespace SetupClaw.Runtime.Chat;

/// <summary>
/// <c>POST /api/chat</c> <c>{message, conversationId?}</c> → <c>{reply, conversationId, usage}</c>; with
/// <c>Accept: text/event-stream</c> the reply arrives as <c>delta</c> events and a final <c>done</c> event.
/// </summary>
public static class ChatEndpoints
{
    private const string Example = """{"message": "Good morning", "conversationId": null}""";

    public static void MapChatEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/chat", async Task<IResult> (HttpContext context, ChatService chat, ChatRunner runner, CancellationToken cancellationToken) =>
        {
            var (body, problem) = await JsonBody.ReadAsync(context.Request, RuntimeJson.Default.ChatRequest, Example, cancellationToken);
            if (problem is not null)
            {
                return problem;
            }

            var (prepared, refused) = await chat.PrepareAsync(new ChatInput(body!.Message, body.ConversationId), cancellationToken);
            if (refused is not null)
            {
                return refused;
            }

            return ChatRunner.WantsEventStream(context.Request)
                ? await runner.StreamAsync(context, prepared!, new EventStream(), cancellationToken)
                : await runner.CompleteAsync(prepared!, View, cancellationToken);
        });
    }

    private static IResult View(CompletedChat chat) => Results.Ok(Reply(chat));

    private static ChatReply Reply(CompletedChat chat) => new(
        chat.Reply,
        chat.ConversationId,
        new ChatReplyUsage(chat.Usage.MessagesUsed, chat.Usage.MessagesRemaining, chat.Tokens?.InputTokenCount ?? 0, chat.Tokens?.OutputTokenCount ?? 0));

    internal sealed record ChatRequest(string? Message, string? ConversationId);

    /// <summary><c>event: delta</c> with <c>{text}</c> per piece, then <c>event: done</c> with the whole reply, or <c>event: error</c>.</summary>
    private sealed class EventStream : IStreamFormat
    {
        public Task DeltaAsync(HttpResponse response, string text, CancellationToken cancellationToken) =>
            ChatRunner.WriteEventAsync(response, "delta", ChatRunner.Json(new ChatDelta(text), RuntimeJson.Default.ChatDelta), cancellationToken);

        public Task DoneAsync(HttpResponse response, CompletedChat chat, CancellationToken cancellationToken) =>
            ChatRunner.WriteEventAsync(response, "done", ChatRunner.Json(Reply(chat), RuntimeJson.Default.ChatReply), cancellationToken);

        public Task FailedAsync(HttpResponse response, ProblemDetails problem, CancellationToken cancellationToken) =>
            ChatRunner.WriteEventAsync(response, "error", ChatRunner.Json(problem, RuntimeJson.Default.ProblemDetails), cancellationToken);
    }
}

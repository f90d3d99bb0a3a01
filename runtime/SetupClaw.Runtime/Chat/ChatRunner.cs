using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.AI;

namespace SetupClaw.Runtime.Chat;

/// <summary>A chat that completed and was stored.</summary>
public sealed record CompletedChat(string Reply, UsageDetails? Tokens, Guid ConversationId, ChatUsage Usage);

/// <summary>How one endpoint writes a streamed reply (server-sent events in its own wire format).</summary>
public interface IStreamFormat
{
    Task DeltaAsync(HttpResponse response, string text, CancellationToken cancellationToken);

    Task DoneAsync(HttpResponse response, CompletedChat chat, CancellationToken cancellationToken);

    Task FailedAsync(HttpResponse response, ProblemDetails problem, CancellationToken cancellationToken);
}

/// <summary>
/// Runs a prepared chat against the model, whole or streamed. A failure before the first piece of the reply is an
/// ordinary problem response; after it, the stream's own error event. Either way the reserved message is given back
/// and nothing is stored.
/// </summary>
public sealed class ChatRunner(ChatService chat, RuntimeIdentity identity)
{
    public async Task<IResult> CompleteAsync(PreparedChat prepared, Func<CompletedChat, IResult> view, CancellationToken cancellationToken)
    {
        var call = ModelGateway.BeginCall(identity.GatewayToken);
        ChatResponse response;
        try
        {
            response = await chat.Client.GetResponseAsync(prepared.Prompt, chat.Options, cancellationToken);
        }
        catch (Exception e)
        {
            await chat.AbandonAsync(prepared);
            if (cancellationToken.IsCancellationRequested)
            {
                throw;
            }

            return chat.ModelFailed(e, call);
        }

        return view(await StoreAsync(prepared, response.Text, response.Usage));
    }

    public async Task<IResult> StreamAsync(HttpContext context, PreparedChat prepared, IStreamFormat format, CancellationToken cancellationToken)
    {
        var call = ModelGateway.BeginCall(identity.GatewayToken);
        var reply = new StringBuilder();
        UsageDetails? tokens = null;
        var started = false;
        await using (var updates = chat.Client.GetStreamingResponseAsync(prepared.Prompt, chat.Options, cancellationToken).GetAsyncEnumerator(cancellationToken))
        {
            while (true)
            {
                try
                {
                    if (!await updates.MoveNextAsync())
                    {
                        break;
                    }

                    foreach (var content in updates.Current.Contents.OfType<UsageContent>())
                    {
                        (tokens ??= new UsageDetails()).Add(content.Details);
                    }

                    var text = updates.Current.Text;
                    if (text.Length == 0)
                    {
                        continue;
                    }

                    if (!started)
                    {
                        Start(context);
                        started = true;
                    }

                    reply.Append(text);
                    await format.DeltaAsync(context.Response, text, cancellationToken);
                }
                catch (Exception e)
                {
                    await chat.AbandonAsync(prepared);
                    if (cancellationToken.IsCancellationRequested)
                    {
                        // The client went away: nothing to answer, nothing stored.
                        return Results.Empty;
                    }

                    var problem = chat.ModelFailed(e, call);
                    if (!started)
                    {
                        return problem;
                    }

                    await format.FailedAsync(context.Response, problem.ProblemDetails, CancellationToken.None);
                    return Results.Empty;
                }
            }
        }

        if (!started)
        {
            Start(context);
        }

        await format.DoneAsync(context.Response, await StoreAsync(prepared, reply.ToString(), tokens), CancellationToken.None);
        return Results.Empty;
    }

    /// <summary>Stores the turn; if that fails, the reserved message goes back before the error surfaces.</summary>
    private async Task<CompletedChat> StoreAsync(PreparedChat prepared, string reply, UsageDetails? tokens)
    {
        try
        {
            var (conversationId, usage) = await chat.CompleteAsync(prepared, reply, tokens, CancellationToken.None);
            return new CompletedChat(reply, tokens, conversationId, usage);
        }
        catch
        {
            await chat.AbandonAsync(prepared);
            throw;
        }
    }

    public static bool WantsEventStream(HttpRequest request) =>
        request.Headers.Accept.ToString().Contains("text/event-stream", StringComparison.OrdinalIgnoreCase);

    /// <summary>Writes one server-sent event and flushes it, so each piece reaches the client as it arrives.</summary>
    public static async Task WriteEventAsync(HttpResponse response, string? eventName, string data, CancellationToken cancellationToken)
    {
        var frame = eventName is null ? $"data: {data}\n\n" : $"event: {eventName}\ndata: {data}\n\n";
        await response.WriteAsync(frame, cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
    }

    public static string Json<T>(T value, JsonTypeInfo<T> type) => JsonSerializer.Serialize(value, type);

    private static void Start(HttpContext context)
    {
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        context.Response.StatusCode = 200;
        context.Response.ContentType = "text/event-stream; charset=utf-8";
        context.Response.Headers.CacheControl = "no-cache";
        context.Response.Headers["X-Accel-Buffering"] = "no";
    }
}

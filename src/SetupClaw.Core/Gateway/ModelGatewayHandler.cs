using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SetupClaw.Credentials;
using SetupClaw.Customers;
using SetupClaw.Http;
using SetupClaw.Lifecycle;
using SetupClaw.Plans;
using SetupClaw.Provisioning;

namespace SetupClaw.Gateway;

/// <summary>
/// <c>POST /api/llm/v1/chat/completions</c>: the model gateway every runtime calls, OpenAI-compatible (JSON or
/// streamed, <c>stream_options.include_usage</c> honoured), with a token of its own (<c>gw_…</c>, hashed at rest,
/// revoked when the customer fails or is deprovisioned, refused while suspended). It holds the provider key, forwards
/// to the configured model (<see cref="ModelClients"/>), counts input and output tokens per customer from the
/// provider's usage, and enforces the plan's monthly token budget and per-request caps (messages, prompt size).
/// Over budget: 429 problem+json naming the budget and when it resets (header <c>X-Budget-Resets-At</c> too; no
/// Retry-After, so a client never sleeps until next month). One request may overshoot the budget by its own size.
/// </summary>
public sealed partial class ModelGatewayHandler(
    ICustomerStore customers, ModelUsageStore usage, ModelClients models, PlanCatalog plans, IOptions<LlmOptions> llm, TimeProvider clock,
    ILogger<ModelGatewayHandler> logger)
{
    public const int MaxBodyBytes = 1024 * 1024;

    /// <summary>How long one provider call may take, whatever the caller does.</summary>
    public static readonly TimeSpan UpstreamTimeout = TimeSpan.FromMinutes(3);
    public const string ResetsAtHeader = "X-Budget-Resets-At";

    public async Task<IResult> ChatCompletionsAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var token = RequestBodies.BearerToken(request);
        if (token is null)
        {
            return Problems.Unauthorized("Send the assistant's gateway token as 'Authorization: Bearer gw_…'.");
        }

        var customer = token.StartsWith("gw_", StringComparison.Ordinal) && token.Length == 67
            ? await customers.FindByGatewayTokenAsync(Secrets.Hash(token), cancellationToken)
            : null;
        if (customer is null)
        {
            return Results.Problem("This gateway token is not valid: it was revoked, replaced, or never issued.", statusCode: 401, title: "Invalid gateway token");
        }

        if (customer.Status == CustomerStatus.Suspended || customer.BillingState == BillingStates.Suspended)
        {
            return Results.Problem("The subscription is suspended: the assistant's model calls resume once the payment goes through.", statusCode: 402, title: "Assistant suspended");
        }

        if (customer.Status != CustomerStatus.Active || customer.BillingState != BillingStates.Active)
        {
            return Problems.Forbidden("This assistant is not active (it is being set up, cancelled or removed): it cannot call the model.");
        }

        if (models.Client is not { } client)
        {
            return Results.Problem("No model is configured on the SetupClaw control plane: set Llm__Provider, Llm__Model and Llm__ApiKey (and Llm__BaseUrl for OpenAI-compatible servers).",
                statusCode: 503, title: "No model configured");
        }

        if (!RequestBodies.IsJson(request))
        {
            return Problems.UnsupportedMediaType("application/json");
        }

        var body = await RequestBodies.ReadLimitedAsync(request, MaxBodyBytes, cancellationToken);
        if (body is null)
        {
            return Problems.TooLarge(MaxBodyBytes);
        }

        if (Parse(body) is not { } chat)
        {
            return Problems.BadRequest("Malformed request", "Send an OpenAI chat completion: {\"model\": \"…\", \"messages\": [{\"role\": \"user\", \"content\": \"…\"}]}.");
        }

        if (chat.Problem is { } problem)
        {
            return problem;
        }

        var plan = PlanCatalog.Get(customer.Plan);
        var now = clock.GetUtcNow();
        var period = ModelUsageStore.PeriodOf(now);
        var budget = plans.TokenBudgetOf(plan);
        var used = await usage.GetAsync(customer.Id, period, cancellationToken);
        if (used.Total >= budget)
        {
            var resets = period.AddMonths(1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            // The reset date in a header too: the runtime passes it on to the customer.
            return Answers.WithHeaders(Results.Problem(
                $"This assistant has used its {plan.DisplayName} plan's {budget.ToString("N0", CultureInfo.InvariantCulture)} model tokens for this month ({used.Total.ToString("N0", CultureInfo.InvariantCulture)} used); the budget resets on {resets} (UTC).",
                statusCode: 429, title: "Monthly token budget reached",
                extensions: new Dictionary<string, object?> { ["limit"] = "monthly_tokens", ["budget"] = budget, ["used"] = used.Total, ["resetsOn"] = resets }), (ResetsAtHeader, resets));
        }

        var options = new ChatOptions
        {
            ModelId = models.Model,
            MaxOutputTokens = Math.Min(chat.MaxTokens ?? llm.Value.MaxOutputTokens ?? 1024, llm.Value.MaxOutputTokens ?? 4096),
        };
        return chat.Stream
            ? new StreamedCompletion(this, client, customer.Id, period, chat, options)
            : await CompleteAsync(client, customer.Id, period, chat, options, cancellationToken);
    }

    private async Task<IResult> CompleteAsync(IChatClient client, string customerId, DateOnly period, ChatRequest chat, ChatOptions options, CancellationToken cancellationToken)
    {
        var call = ModelClients.Begin();
        ChatResponse response;
        using var upstream = new CancellationTokenSource(UpstreamTimeout);
        try
        {
            // Not the caller's token: a caller that hangs up does not make the provider's work free.
            response = await client.GetResponseAsync(chat.Messages, options, upstream.Token);
        }
        catch (Exception e)
        {
            return UpstreamFailed(customerId, call, e);
        }

        var (input, output) = (response.Usage?.InputTokenCount ?? 0, response.Usage?.OutputTokenCount ?? 0);
        if (input + output == 0)
        {
            (input, output) = (Estimate(chat), Math.Max(1, response.Text.Length / 4));
        }

        await usage.AddAsync(customerId, period, input, output, CancellationToken.None);
        var id = CompletionId();
        return Results.Json(new JsonObject
        {
            ["id"] = id,
            ["object"] = "chat.completion",
            ["created"] = clock.GetUtcNow().ToUnixTimeSeconds(),
            ["model"] = models.Model,
            ["choices"] = new JsonArray(new JsonObject
            {
                ["index"] = 0,
                ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = response.Text },
                ["finish_reason"] = FinishReason(response.FinishReason),
            }),
            ["usage"] = Usage(input, output),
        });
    }

    private IResult UpstreamFailed(string customerId, ModelClients.UpstreamCall call, Exception e)
    {
        LogUpstreamFailed(logger, customerId, models.Provider ?? "none", call.LastStatus, e.GetType().Name);
        return call.LastStatus switch
        {
            429 => Results.Problem("The model provider is rate-limiting SetupClaw right now: try again shortly.", statusCode: 429, title: "Model provider busy"),
            400 or 413 or 422 => Problems.BadRequest("Request refused by the model", "The model provider refused these messages (too long for the model, or a shape it does not take)."),
            _ when e is TaskCanceledException or TimeoutException => Results.Problem("The model provider did not answer in time: try again.", statusCode: 504, title: "Model timed out"),
            { } status => Results.Problem($"The model provider answered HTTP {status}. The operator sees the detail in the control plane's log.", statusCode: 502, title: "Model call failed"),
            null => Results.Problem("The model provider could not be reached. The operator sees the detail in the control plane's log.", statusCode: 502, title: "Model call failed"),
        };
    }

    /// <summary>Reads the OpenAI request: text messages of system, user and assistant, within the caps.</summary>
    private ChatRequest? Parse(string body)
    {
        try
        {
            return ParseShapes(body);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or FormatException)
        {
            return null; // a value of a kind the field never has (JsonNode throws on the access): not an OpenAI request
        }
    }

    private ChatRequest? ParseShapes(string body)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(body);
        }
        catch (JsonException)
        {
            return null;
        }

        if (root is not JsonObject request || request["messages"] is not JsonArray list)
        {
            return null;
        }

        var caps = llm.Value;
        if (list.Count == 0 || list.Count > caps.MaxMessages)
        {
            return ChatRequest.Refused(Problems.BadRequest("Too many messages", $"A request carries 1 to {caps.MaxMessages} messages; this one has {list.Count}. Send a shorter history."));
        }

        var messages = new List<ChatMessage>(list.Count);
        var characters = 0;
        foreach (var item in list)
        {
            var role = item?["role"]?.GetValueKind() == JsonValueKind.String ? item["role"]!.GetValue<string>() : null;
            if (role is not ("system" or "user" or "assistant"))
            {
                return ChatRequest.Refused(Problems.BadRequest("Unsupported message", "Messages have the role system, user or assistant (tools are not supported)."));
            }

            if (TextOf(item!["content"]) is not { } text)
            {
                return ChatRequest.Refused(Problems.BadRequest("Unsupported message", "A message's content is text, or a list of text parts."));
            }

            characters += text.Length;
            messages.Add(new ChatMessage(new ChatRole(role), text));
        }

        if (!messages.Any(m => m.Role != ChatRole.System && m.Text.Length > 0))
        {
            return ChatRequest.Refused(Problems.BadRequest("Nothing to answer", "Send at least one user or assistant message with text."));
        }

        if (characters > caps.MaxPromptCharacters)
        {
            return ChatRequest.Refused(Problems.BadRequest("Prompt too large",
                $"The messages hold {characters.ToString("N0", CultureInfo.InvariantCulture)} characters; the gateway takes up to {caps.MaxPromptCharacters.ToString("N0", CultureInfo.InvariantCulture)}. Send a shorter history."));
        }

        var stream = request["stream"]?.GetValueKind() == JsonValueKind.True;
        var includeUsage = request["stream_options"]?["include_usage"]?.GetValueKind() == JsonValueKind.True;
        var maxNode = request["max_completion_tokens"] ?? request["max_tokens"];
        int? maxTokens = maxNode is JsonValue max && max.TryGetValue<int>(out var value) && value > 0 ? value : null;
        return new ChatRequest(messages, stream, includeUsage, maxTokens, null);
    }

    private static string? TextOf(JsonNode? content)
    {
        switch (content)
        {
            case JsonValue value when value.GetValueKind() == JsonValueKind.String:
                return value.GetValue<string>();
            case JsonArray parts:
                var text = new StringBuilder();
                foreach (var part in parts)
                {
                    if (part?["type"]?.GetValue<string>() != "text" || part["text"]?.GetValueKind() != JsonValueKind.String)
                    {
                        return null;
                    }

                    text.Append(part["text"]!.GetValue<string>());
                }

                return text.ToString();
            default:
                return null;
        }
    }

    /// <summary>About four characters a token: what is counted when the provider reports no usage.</summary>
    private static long Estimate(ChatRequest chat) => Math.Max(1, chat.Messages.Sum(m => (long)m.Text.Length) / 4);

    private static JsonObject Usage(long input, long output) =>
        new() { ["prompt_tokens"] = input, ["completion_tokens"] = output, ["total_tokens"] = input + output };

    private static string FinishReason(ChatFinishReason? reason) =>
        reason == ChatFinishReason.Length ? "length" : reason == ChatFinishReason.ContentFilter ? "content_filter" : "stop";

    private static string CompletionId() => "chatcmpl-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));

    private sealed record ChatRequest(List<ChatMessage> Messages, bool Stream, bool IncludeUsage, int? MaxTokens, IResult? Problem)
    {
        public static ChatRequest Refused(IResult problem) => new([], false, false, null, problem);
    }

    /// <summary>
    /// The streamed answer as OpenAI sends it: <c>chat.completion.chunk</c> events, a last chunk with the finish
    /// reason, the usage chunk when asked for, then <c>[DONE]</c>. Usage is counted whether or not it was asked for.
    /// A provider failure before the first piece is an ordinary error answer; after it, an error event ends the stream.
    /// </summary>
    private sealed class StreamedCompletion(ModelGatewayHandler gateway, IChatClient client, string customerId, DateOnly period, ChatRequest chat, ChatOptions options) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            ArgumentNullException.ThrowIfNull(httpContext);
            // The provider call ends by itself (or its timeout), not when the client goes: what the model spends is
            // counted even if the caller hangs up before the usage arrives.
            using var upstream = new CancellationTokenSource(UpstreamTimeout);
            var clientGone = httpContext.RequestAborted;
            var response = httpContext.Response;
            var written = new StringBuilder();
            var writing = true;
            var id = CompletionId();
            var created = gateway.Clock.GetUtcNow().ToUnixTimeSeconds();
            var call = ModelClients.Begin();
            long input = 0, output = 0;
            ChatFinishReason? finish = null;
            var started = false;
            try
            {
                await foreach (var update in client.GetStreamingResponseAsync(chat.Messages, options, upstream.Token))
                {
                    foreach (var used in update.Contents.OfType<UsageContent>())
                    {
                        input = Math.Max(input, used.Details.InputTokenCount ?? 0);
                        output = Math.Max(output, used.Details.OutputTokenCount ?? 0);
                    }

                    finish = update.FinishReason ?? finish;
                    if (string.IsNullOrEmpty(update.Text))
                    {
                        continue;
                    }

                    if (!started)
                    {
                        started = true;
                        response.StatusCode = 200;
                        response.ContentType = "text/event-stream";
                        response.Headers.CacheControl = "no-cache";
                    }

                    written.Append(update.Text);
                    if (writing && !clientGone.IsCancellationRequested)
                    {
                        try
                        {
                            await WriteAsync(response, Chunk(id, created, new JsonObject { ["content"] = update.Text }, null), clientGone);
                        }
                        catch (Exception) when (clientGone.IsCancellationRequested)
                        {
                            writing = false; // the caller left: read on to the provider's usage
                        }
                    }
                }
            }
            catch (Exception e)
            {
                if (clientGone.IsCancellationRequested)
                {
                    return;
                }

                if (!started)
                {
                    await gateway.UpstreamFailed(customerId, call, e).ExecuteAsync(httpContext);
                    return;
                }

                gateway.LogStreamBroken(customerId, e.GetType().Name);
                await WriteAsync(response, new JsonObject { ["error"] = new JsonObject { ["message"] = "The model provider stopped answering.", ["type"] = "server_error" } }, CancellationToken.None);
                return;
            }
            finally
            {
                // No usage from the provider (it broke off, or sends none): an estimate, never nothing.
                if (input + output == 0 && written.Length > 0)
                {
                    (input, output) = (Estimate(chat), Math.Max(1, written.Length / 4));
                }

                if (input + output > 0)
                {
                    await gateway.UsageStore.AddAsync(customerId, period, input, output, CancellationToken.None);
                }
            }

            if (clientGone.IsCancellationRequested)
            {
                return;
            }

            var cancellationToken = clientGone;

            if (!started)
            {
                response.StatusCode = 200;
                response.ContentType = "text/event-stream";
            }

            await WriteAsync(response, Chunk(id, created, new JsonObject(), FinishReason(finish)), cancellationToken);
            if (chat.IncludeUsage)
            {
                var last = Chunk(id, created, null, null);
                last["choices"] = new JsonArray();
                last["usage"] = Usage(input, output);
                await WriteAsync(response, last, cancellationToken);
            }

            await response.WriteAsync("data: [DONE]\n\n", cancellationToken);
            await response.Body.FlushAsync(cancellationToken);
        }

        private JsonObject Chunk(string id, long created, JsonObject? delta, string? finishReason) => new()
        {
            ["id"] = id,
            ["object"] = "chat.completion.chunk",
            ["created"] = created,
            ["model"] = gateway.Models.Model,
            ["choices"] = delta is null ? null : new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = delta, ["finish_reason"] = finishReason }),
        };

        private static async Task WriteAsync(HttpResponse response, JsonObject data, CancellationToken cancellationToken)
        {
            await response.WriteAsync("data: " + data.ToJsonString() + "\n\n", cancellationToken);
            await response.Body.FlushAsync(cancellationToken);
        }
    }

    private TimeProvider Clock => clock;

    private ModelUsageStore UsageStore => usage;

    private ModelClients Models => models;

    private void LogStreamBroken(string customerId, string error) => LogStreamFailed(logger, customerId, error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model gateway: the call for {CustomerId} to {Provider} failed (upstream HTTP {Status}, {Error})")]
    private static partial void LogUpstreamFailed(ILogger logger, string customerId, string provider, int? status, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model gateway: the stream for {CustomerId} broke off ({Error})")]
    private static partial void LogStreamFailed(ILogger logger, string customerId, string error);
}

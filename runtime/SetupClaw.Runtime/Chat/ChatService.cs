using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.AI;
using Npgsql;
using SetupClaw.Runtime.Http;
using SetupClaw.Runtime.Usage;

namespace SetupClaw.Runtime.Chat;

/// <summary>What a caller asks: the new message, and either a stored conversation or a history the client keeps.</summary>
public sealed record ChatInput(string? Message, string? ConversationId = null, string? ExternalKey = null, IReadOnlyList<ChatMessage>? ClientHistory = null);

/// <summary>A chat that passed every check and holds one reserved message of the allowance.</summary>
public sealed record PreparedChat(Guid ConversationId, string? ExternalKey, string Message, IReadOnlyList<ChatMessage> Prompt, DateOnly Month, int MessagesUsed);

public sealed record ChatUsage(int MessagesUsed, int MessagesRemaining);

/// <summary>
/// One chat turn: validate, reserve a message of the plan's allowance, compose the prompt, call the model, store
/// both turns and the day's usage. Anything that fails before the reply is stored gives the reservation back and
/// stores nothing.
/// </summary>
public sealed partial class ChatService(
    NpgsqlDataSource db, ModelGateway model, PromptComposer composer, UsageLedger usage, RuntimeIdentity identity, ILogger<ChatService> logger)
{
    public ChatOptions Options => new() { ModelId = model.Model, MaxOutputTokens = model.MaxOutputTokens };

    /// <summary>The control plane's suspension mark (<c>billing.suspended_since</c>), written when Stripe gives up on a payment.</summary>
    private async Task<string?> SuspendedSinceAsync(CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("select value from workspace_settings where key = 'billing.suspended_since'");
        return await command.ExecuteScalarAsync(cancellationToken) as string;
    }

    public IChatClient Client => model.Client ?? throw new InvalidOperationException(model.ConfigurationProblem);

    public async Task<(PreparedChat? Chat, ProblemHttpResult? Problem)> PrepareAsync(ChatInput input, CancellationToken cancellationToken)
    {
        if (model.ConfigurationProblem is { } configuration)
        {
            return (null, Problems.Of(503, "No model configured", configuration));
        }

        if (string.IsNullOrWhiteSpace(input.Message))
        {
            return (null, Problems.BadRequest("'message' is required and must not be blank, for example {\"message\": \"Good morning\"}."));
        }

        if (input.Message.Length > Limits.MessageChars)
        {
            return (null, Problems.TooLarge("message", input.Message.Length, Limits.MessageChars));
        }

        if (input.Message.Contains('\0', StringComparison.Ordinal))
        {
            return (null, Problems.BadRequest("'message' must not contain NUL characters."));
        }

        if (await SuspendedSinceAsync(cancellationToken) is { } since)
        {
            return (null, Problems.Of(402, "Assistant suspended",
                $"This assistant is paused because the subscription's payment did not go through (since {since}). Update the payment method in the billing portal: chat comes back as soon as the invoice is paid. Your memories, conversations and files are kept.",
                new Dictionary<string, object?> { ["suspendedSince"] = since }));
        }

        var conversationId = Guid.CreateVersion7();
        var history = input.ClientHistory ?? [];
        if (input.ConversationId is not null)
        {
            if (!Guid.TryParse(input.ConversationId, out conversationId))
            {
                return (null, Problems.BadRequest($"'{input.ConversationId}' is not a conversation id; use the conversationId an earlier reply returned, or leave it out to start a new conversation."));
            }

            if (await HistoryAsync(conversationId, cancellationToken) is not { } stored)
            {
                return (null, Problems.NotFound($"There is no conversation {conversationId}; leave conversationId out to start a new one."));
            }

            history = stored;
        }
        else if (input.ExternalKey is not null && await ConversationByKeyAsync(input.ExternalKey, cancellationToken) is { } existing)
        {
            conversationId = existing;
        }

        // One month for the whole chat: reserved, recorded and (on failure) given back in the same month.
        var month = usage.CurrentMonth;
        if (await usage.TryReserveAsync(month, cancellationToken) is not { } used)
        {
            return (null, Problems.Of(429, "Monthly message limit reached",
                $"This assistant has used all {usage.Limit:N0} messages of the {identity.PlanName} plan for {month:yyyy-MM}. The allowance renews on {month.AddMonths(1):yyyy-MM-dd}; a larger plan raises it.",
                new Dictionary<string, object?> { ["limit"] = usage.Limit, ["used"] = (await usage.ThisMonthAsync(cancellationToken)).Messages, ["renewsOn"] = month.AddMonths(1) }));
        }

        try
        {
            List<ChatMessage> prompt = [new(ChatRole.System, await composer.ComposeAsync(input.Message, cancellationToken)), .. history, new(ChatRole.User, input.Message)];
            return (new PreparedChat(conversationId, input.ExternalKey, input.Message, prompt, month, used), null);
        }
        catch
        {
            await usage.ReleaseAsync(month);
            throw;
        }
    }

    /// <summary>Stores the user's turn and the reply, and the day's usage, in one transaction.</summary>
    public async Task<(Guid ConversationId, ChatUsage Usage)> CompleteAsync(PreparedChat chat, string reply, UsageDetails? tokens, CancellationToken cancellationToken)
    {
        var input = tokens?.InputTokenCount ?? 0;
        var output = tokens?.OutputTokenCount ?? 0;
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // Keyed conversations (the OpenAI endpoint's `user`) may be started by two requests at once: the upsert on the
        // key makes them share one.
        await using var upsert = new NpgsqlCommand(chat.ExternalKey is null
            ? "insert into conversations (id) values ($1) on conflict (id) do update set updated_at = now() returning id"
            : "insert into conversations (id, external_key) values ($1, $2) on conflict (external_key) do update set updated_at = now() returning id",
            connection, transaction);
        upsert.Parameters.Add(new NpgsqlParameter { Value = chat.ConversationId });
        if (chat.ExternalKey is not null)
        {
            upsert.Parameters.Add(new NpgsqlParameter { Value = chat.ExternalKey });
        }

        var conversationId = (Guid)(await upsert.ExecuteScalarAsync(cancellationToken))!;
        await using var batch = new NpgsqlBatch(connection, transaction);
        batch.BatchCommands.Add(Command(
            "insert into messages (conversation_id, role, content, input_tokens) values ($1, 'user', $2, $3)",
            conversationId, chat.Message, (int)input));
        batch.BatchCommands.Add(Command(
            "insert into messages (conversation_id, role, content, output_tokens) values ($1, 'assistant', $2, $3)",
            conversationId, reply, (int)output));
        batch.BatchCommands.Add(usage.RecordDay(input, output));
        await batch.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return (conversationId, new ChatUsage(chat.MessagesUsed, Math.Max(0, usage.Limit - chat.MessagesUsed)));
    }

    /// <summary>The chat did not complete: its reserved message goes back to the allowance.</summary>
    public Task AbandonAsync(PreparedChat chat) => usage.ReleaseAsync(chat.Month);

    /// <summary>A problem for a failed model call that names the likely fix and never repeats what the provider sent.</summary>
    public ProblemHttpResult ModelFailed(Exception exception, ModelGateway.CallRecord call)
    {
        LogModelFailed(logger, model.Provider, call.LastStatus, model.Redact(exception.Message));
        if (exception is TaskCanceledException or TimeoutException)
        {
            return Problems.Of(504, "Model timed out", $"The {model.Provider} model did not answer in time. Try again in a moment.");
        }

        if (call.LastStatus == 402)
        {
            return Problems.Of(402, "Assistant suspended", "The subscription is suspended: chat resumes once the payment goes through.");
        }

        if (call.LastStatus == 429)
        {
            return call.BudgetResetsOn is { } resets
                ? Problems.Of(429, "Monthly model budget reached", $"This assistant has used its plan's model tokens for this month; they renew on {resets}.")
                : Problems.Of(429, "Model busy", "The model is rate-limiting requests right now: try again shortly.");
        }

        var hint = call.LastStatus switch
        {
            401 or 403 => " The provider refused the key: check Llm:ApiKey on the SetupClaw control plane.",
            404 => " The provider does not know the model: check Llm:Model (and Llm:BaseUrl).",
            >= 500 => " The provider is having trouble: try again shortly.",
            _ => "",
        };
        var status = call.LastStatus is { } code ? $" (HTTP {code})" : "";
        return Problems.Of(502, "Model call failed", $"The {model.Provider} model did not answer successfully{status}.{hint}");
    }

    private async Task<List<ChatMessage>?> HistoryAsync(Guid conversationId, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("""
            select c.id, m.role, m.content
            from conversations c
            left join lateral (select role, content, id from messages where conversation_id = c.id order by id desc limit $2) m on true
            where c.id = $1
            order by m.id
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = conversationId });
        command.Parameters.Add(new NpgsqlParameter { Value = Limits.HistoryTurns });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        List<ChatMessage>? history = null;
        while (await reader.ReadAsync(cancellationToken))
        {
            history ??= [];
            if (!reader.IsDBNull(1))
            {
                history.Add(new ChatMessage(reader.GetString(1) == "user" ? ChatRole.User : ChatRole.Assistant, reader.GetString(2)));
            }
        }

        return history;
    }

    private async Task<Guid?> ConversationByKeyAsync(string key, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("select id from conversations where external_key = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = key });
        return await command.ExecuteScalarAsync(cancellationToken) as Guid?;
    }

    private static NpgsqlBatchCommand Command(string sql, params object[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        return command;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model call to {Provider} failed (HTTP {Status}): {Error}")]
    private static partial void LogModelFailed(ILogger logger, string provider, int? status, string error);
}

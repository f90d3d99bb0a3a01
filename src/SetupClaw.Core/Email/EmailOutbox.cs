using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using SetupClaw.Credentials;
using SetupClaw.Customers;
using SetupClaw.Data;

namespace SetupClaw.Email;

/// <summary>
/// Customer emails, kept in the control database until they are delivered. <see cref="EnqueueAsync"/> never throws
/// (a saga step that sends an email cannot fail because of it) and enqueues each event's email once (its dedupe key).
/// The delivery loop sends due emails one at a time, retrying failures with a doubling delay up to
/// <see cref="EmailOptions.MaxAttempts"/>; a body is sealed at rest (a sign-in link is a credential) and erased once sent.
/// In Azure the <c>EmailDelivery</c> timer also calls <see cref="DeliverDueAsync"/>, so nothing waits for a warm worker.
/// </summary>
public sealed partial class EmailOutbox(
    NpgsqlDataSource db, SecretBox secretBox, IEmailSender sender, IOptions<EmailOptions> options, ILogger<EmailOutbox> logger) : BackgroundService
{
    public const string SealedColumn = "emails.body";

    private readonly SemaphoreSlim wake = new(0, 1);

    private readonly SemaphoreSlim delivering = new(1, 1);

    /// <summary>Queues <paramref name="message"/> for <paramref name="customer"/> (not for smoke-test customers). False when it was queued before, or could not be.</summary>
    public async Task<bool> EnqueueAsync(Customer customer, string dedupeKey, EmailMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(customer);
        ArgumentNullException.ThrowIfNull(message);
        if (customer.IsTest)
        {
            return false;
        }

        try
        {
            var body = secretBox.Seal(JsonSerializer.Serialize(new SealedBody(message.Text, message.Html)), customer.Id, SealedColumn);
            var added = await Sql.ExecuteAsync(db,
                """
                insert into emails (customer_id, kind, dedupe_key, recipient, subject, body_sealed)
                values (@customer, @kind, @key, @to, @subject, @body) on conflict (dedupe_key) do nothing
                """, cancellationToken, ("customer", customer.Id), ("kind", message.Kind), ("key", dedupeKey), ("to", message.To),
                ("subject", message.Subject), ("body", body));
            if (added == 1)
            {
                Wake();
            }

            return added == 1;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogEnqueueFailed(logger, message.Kind, customer.Id, e);
            return false;
        }
    }

    /// <summary>Logs an email that could not even be composed; false (not queued).</summary>
    public bool ComposeFailed(string customerId, string kind, Exception exception)
    {
        LogEnqueueFailed(logger, kind, customerId, exception);
        return false;
    }

    /// <summary>What the operator sees of a customer's emails: kinds, times, attempts, the last error; never a body.</summary>
    public async Task<IReadOnlyList<EmailRecord>> ListAsync(string customerId, CancellationToken cancellationToken)
    {
        await using var command = Sql.Command(db,
            """
            select kind, recipient, subject, created_at, attempts, sent_at, gave_up_at, last_error
            from emails where customer_id = @id order by id
            """, ("id", customerId));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var list = new List<EmailRecord>();
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(new EmailRecord(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetFieldValue<DateTimeOffset>(3), reader.GetInt32(4),
                reader.IsDBNull(5) ? null : reader.GetFieldValue<DateTimeOffset>(5), reader.IsDBNull(6) ? null : reader.GetFieldValue<DateTimeOffset>(6),
                reader.IsDBNull(7) ? null : reader.GetString(7)));
        }

        return list;
    }

    public void Wake()
    {
        try
        {
            wake.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already woken.
        }
    }

    /// <summary>Sends every email that is due; returns how many were sent. One pass at a time per process; rows are claimed with <c>skip locked</c>.</summary>
    public async Task<int> DeliverDueAsync(CancellationToken cancellationToken)
    {
        await delivering.WaitAsync(cancellationToken);
        try
        {
            var sent = 0;
            while (await ClaimAsync(cancellationToken) is { } due)
            {
                sent += await DeliverAsync(due, cancellationToken) ? 1 : 0;
            }

            return sent;
        }
        finally
        {
            delivering.Release();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await DeliverDueAsync(stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                LogPassFailed(logger, e);
            }

            try
            {
                await wake.WaitAsync(TimeSpan.FromSeconds(5), stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public override void Dispose()
    {
        wake.Dispose();
        delivering.Dispose();
        base.Dispose();
    }

    /// <summary>How long a claimed email is someone's: longer than any send (MailKit's timeout is 30 s per step), so no other instance sends it meanwhile.</summary>
    public static readonly TimeSpan ClaimLease = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Takes the oldest due email under a lease (its next attempt pushed <see cref="ClaimLease"/> out), so another
    /// instance does not send it meanwhile and a crash mid-send retries it later rather than never.
    /// </summary>
    private async Task<DueEmail?> ClaimAsync(CancellationToken cancellationToken)
    {
        await using var command = Sql.Command(db,
            """
            update emails set attempts = attempts + 1, next_attempt_at = now() + @lease
            where id = (select id from emails where sent_at is null and gave_up_at is null and next_attempt_at <= now()
                        order by id limit 1 for update skip locked)
            returning id, customer_id, kind, recipient, subject, body_sealed, attempts
            """, ("lease", ClaimLease));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new DueEmail(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
                reader.IsDBNull(5) ? null : reader.GetString(5), reader.GetInt32(6))
            : null;
    }

    private async Task<bool> DeliverAsync(DueEmail due, CancellationToken cancellationToken)
    {
        try
        {
            var body = due.BodySealed is null ? throw new InvalidOperationException("The email's body is gone.")
                : JsonSerializer.Deserialize<SealedBody>(secretBox.Open(due.BodySealed, due.CustomerId, SealedColumn))!;
            await sender.SendAsync(new EmailMessage(due.Recipient, due.Subject, body.Text, body.Html, due.Kind), cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            var giveUp = due.Attempts >= options.Value.MaxAttempts || due.BodySealed is null;
            // Not accepted: the next attempt after a doubling delay (15 s, 30 s, 1 min, … at most an hour).
            await Sql.ExecuteAsync(db,
                """
                update emails set last_error = @error,
                    next_attempt_at = now() + make_interval(secs => least(@base * power(2, attempts - 1), 3600)),
                    gave_up_at = case when @give_up then now() end, body_sealed = case when @give_up then null else body_sealed end
                where id = @id
                """, CancellationToken.None, ("id", due.Id), ("error", $"{e.GetType().Name}: {e.Message}"), ("give_up", giveUp),
                ("base", options.Value.RetryAfter.TotalSeconds));
            if (giveUp)
            {
                LogGaveUp(logger, due.Kind, due.CustomerId, due.Attempts, e);
            }
            else
            {
                LogRetrying(logger, due.Kind, due.CustomerId, due.Attempts, e.Message);
            }

            return false;
        }

        // Accepted by the server: recorded outside the retry above, so a failure here never sends it again (within the lease).
        await Sql.ExecuteAsync(db, "update emails set sent_at = now(), body_sealed = null, last_error = null where id = @id", CancellationToken.None, ("id", due.Id));
        LogSent(logger, due.Kind, due.CustomerId, due.Attempts);
        return true;
    }

    /// <summary>Whether an email of <paramref name="kind"/> to <paramref name="recipient"/> was queued within <paramref name="window"/>.</summary>
    public async Task<bool> SentRecentlyAsync(string recipient, string kind, TimeSpan window, CancellationToken cancellationToken) =>
        await Sql.ScalarAsync<bool>(db,
            "select exists (select 1 from emails where lower(recipient) = lower(@to) and kind = @kind and created_at > now() - @window)",
            cancellationToken, ("to", recipient), ("kind", kind), ("window", window));

    private sealed record SealedBody(string Text, string Html);

    private sealed record DueEmail(long Id, string CustomerId, string Kind, string Recipient, string Subject, string? BodySealed, int Attempts);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not queue the {Kind} email of {CustomerId}; the step it belongs to goes on")]
    private static partial void LogEnqueueFailed(ILogger logger, string kind, string customerId, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sent the {Kind} email of {CustomerId} (attempt {Attempt})")]
    private static partial void LogSent(ILogger logger, string kind, string customerId, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The {Kind} email of {CustomerId} was not sent (attempt {Attempt}); it will be retried: {Reason}")]
    private static partial void LogRetrying(ILogger logger, string kind, string customerId, int attempt, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Gave up on the {Kind} email of {CustomerId} after {Attempts} attempts")]
    private static partial void LogGaveUp(ILogger logger, string kind, string customerId, int attempts, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "An email delivery pass failed; the next one retries")]
    private static partial void LogPassFailed(ILogger logger, Exception exception);
}

public sealed record EmailRecord(
    string Kind, string Recipient, string Subject, DateTimeOffset CreatedAt, int Attempts, DateTimeOffset? SentAt, DateTimeOffset? GaveUpAt, string? LastError);

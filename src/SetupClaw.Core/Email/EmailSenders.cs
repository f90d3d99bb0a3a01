using System.Globalization;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Options;
using MimeKit;

namespace SetupClaw.Email;

/// <summary>One email as it is sent: <see cref="Kind"/> names the template (welcome, sign_in, …) for files and logs.</summary>
public sealed record EmailMessage(string To, string Subject, string Text, string Html, string Kind)
{
    public MimeMessage ToMime(string from)
    {
        var message = new MimeMessage { Subject = Subject };
        message.From.Add(MailboxAddress.Parse(from));
        message.To.Add(MailboxAddress.Parse(To));
        message.Headers.Add("X-SetupClaw-Kind", Kind);
        message.Body = new BodyBuilder { TextBody = Text, HtmlBody = Html }.ToMessageBody();
        return message;
    }
}

/// <summary>Hands one email to whatever delivers it. Throws when it was not accepted (the outbox retries).</summary>
public interface IEmailSender
{
    Task SendAsync(EmailMessage message, CancellationToken cancellationToken);
}

/// <summary>Production: SMTP through MailKit, one connection per email.</summary>
public sealed class SmtpEmailSender(IOptions<EmailOptions> options) : IEmailSender
{
    public async Task SendAsync(EmailMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var settings = options.Value;
        using var client = new SmtpClient { Timeout = 30_000 };
        var security = settings.SmtpSecurity.ToLowerInvariant() switch
        {
            "none" => SecureSocketOptions.None,
            "starttls" => SecureSocketOptions.StartTls,
            "tls" => SecureSocketOptions.SslOnConnect,
            _ => SecureSocketOptions.StartTlsWhenAvailable,
        };
        await client.ConnectAsync(settings.SmtpHost ?? throw new InvalidOperationException("Email:SmtpHost is not set."), settings.SmtpPort, security, cancellationToken);
        if (!string.IsNullOrEmpty(settings.SmtpUsername))
        {
            await client.AuthenticateAsync(settings.SmtpUsername, settings.SmtpPassword ?? "", cancellationToken);
        }

        await client.SendAsync(message.ToMime(settings.From), cancellationToken);
        await client.DisconnectAsync(quit: true, cancellationToken);
    }
}

/// <summary>Local default: each email becomes an <c>.eml</c> file in the outbox folder (open it with any mail client).</summary>
public sealed class OutboxFolderEmailSender(IOptions<EmailOptions> options, TimeProvider clock) : IEmailSender
{
    public string Directory => Path.GetFullPath(options.Value.OutboxDirectory);

    public async Task SendAsync(EmailMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        System.IO.Directory.CreateDirectory(Directory);
        var stamp = clock.GetUtcNow().ToString("yyyyMMdd'T'HHmmss.fff", CultureInfo.InvariantCulture);
        var path = Path.Combine(Directory, $"{stamp}-{message.Kind}-{Guid.NewGuid().ToString("N")[..6]}.eml");
        var partial = path + ".partial";
        await message.ToMime(options.Value.From).WriteToAsync(partial, cancellationToken);
        File.Move(partial, path);
    }
}

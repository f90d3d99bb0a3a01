namespace SetupClaw.Email;

/// <summary>
/// How customer emails leave: SMTP when <see cref="SmtpHost"/> is set (production), otherwise a folder of
/// <c>.eml</c> files (<see cref="OutboxDirectory"/>, <c>.local/outbox</c> by default) that <c>./setupclaw up</c> points at.
/// </summary>
public sealed class EmailOptions
{
    public const string Section = "Email";

    /// <summary>The sender, as <c>Name &lt;address&gt;</c>.</summary>
    public string From { get; set; } = "SetupClaw <hello@setupclaw.local>";

    public string? SmtpHost { get; set; }

    public int SmtpPort { get; set; } = 587;

    public string? SmtpUsername { get; set; }

    public string? SmtpPassword { get; set; }

    /// <summary><c>auto</c> (STARTTLS when offered), <c>starttls</c> (required), <c>tls</c> (implicit, port 465) or <c>none</c>.</summary>
    public string SmtpSecurity { get; set; } = "auto";

    /// <summary>Where emails are written when no SMTP host is set; relative paths are under the working directory.</summary>
    public string OutboxDirectory { get; set; } = Path.Combine(".local", "outbox");

    /// <summary>Attempts before an email is given up (logged as an error for the operator).</summary>
    public int MaxAttempts { get; set; } = 10;

    /// <summary>The first retry's delay; each next one doubles, up to an hour.</summary>
    public TimeSpan RetryAfter { get; set; } = TimeSpan.FromSeconds(15);

    public bool UsesSmtp => !string.IsNullOrWhiteSpace(SmtpHost);
}

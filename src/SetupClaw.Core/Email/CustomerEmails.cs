using System.Net;
using Microsoft.Extensions.Options;
using SetupClaw.Billing;
using SetupClaw.Customers;
using SetupClaw.Dashboard;
using SetupClaw.Plans;
using SetupClaw.Provisioning;

namespace SetupClaw.Email;

/// <summary>
/// The emails a customer gets, each queued once per event through the <see cref="EmailOutbox"/>. None carries an
/// API key (the welcome email names only its hint); links go to the dashboard, whose sign-in is by one-time link.
/// </summary>
public sealed class CustomerEmails(EmailOutbox outbox, IOptions<AppOptions> app, IOptions<DashboardOptions> dashboard)
{
    public const string Welcome = "welcome";
    public const string SignIn = "sign_in";
    public const string PaymentFailed = "payment_failed";
    public const string Suspended = "suspended";
    public const string Cancelled = "cancelled";
    public const string Migrated = "migrated";
    public const string MockCancelled = "mock_cancelled";

    /// <summary>Whether an email of <paramref name="kind"/> went to <paramref name="email"/> within <paramref name="window"/> (a sign-in link a minute, at most).</summary>
    public Task<bool> SentRecentlyAsync(string email, string kind, TimeSpan window, CancellationToken cancellationToken) =>
        outbox.SentRecentlyAsync(email, kind, window, cancellationToken);

    private Uri DashboardUrl => new(app.Value.PublicBaseUrl, "/dashboard");

    public Task<bool> WelcomeAsync(Customer customer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(customer);
        var plan = PlanCatalog.GetOrStarter(customer.Plan);
        if (customer.ImportedAt is not null)
        {
            // A mock-era customer never saw a setup page: the dashboard (signed in by an emailed link) gives the key.
            return SendAsync(customer, $"{Migrated}:{customer.Id}", Migrated, $"{AssistantOf(customer)} now runs on its own server",
                [
                    $"Your assistant {AssistantOf(customer)} has moved to a dedicated server and database of its own, on the {plan.DisplayName} plan. Your subscription is unchanged: nothing more to pay.",
                    $"Its address: {customer.AccessUrl}",
                    "The old API key (claw_mock_…) and workspace no longer work. Open the dashboard, sign in with this email address, and press Rotate API key to get your new key.",
                ],
                ("Open your dashboard", DashboardUrl), cancellationToken);
        }

        var hint = customer.ApiKeyHint is { Length: >= 4 } h ? $"Your API key ends in {h[^4..]}. " : "";
        return SendAsync(customer, $"{Welcome}:{customer.Id}", Welcome, $"{AssistantOf(customer)} is ready",
            [
                $"Your assistant {AssistantOf(customer)} is running on the {plan.DisplayName} plan.",
                $"Its address: {customer.AccessUrl}",
                $"{hint}It was shown once on the setup page; if you did not keep it, rotate it from the dashboard.",
            ],
            ("Open your dashboard", DashboardUrl), cancellationToken);
    }

    /// <summary>One email to <paramref name="email"/> with a sign-in link per assistant it owns.</summary>
    public Task<bool> SignInAsync(Customer first, IReadOnlyList<(Customer Customer, string Token)> links, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(links);
        var minutes = (int)dashboard.Value.SignInLinkLifetime.TotalMinutes;
        var lines = new List<string>
        {
            $"Someone (we hope you) asked to sign in to the SetupClaw dashboard. Each link works once, for {minutes} minutes.",
            "If it was not you, ignore this email: nothing changes.",
        };
        var buttons = links.Select(l => ($"Sign in to {AssistantOf(l.Customer)} ({PlanCatalog.GetOrStarter(l.Customer.Plan).DisplayName})",
            new Uri(app.Value.PublicBaseUrl, "/dashboard/sign-in#token=" + l.Token))).ToList();
        return SendAsync(first, $"{SignIn}:{Credentials.Secrets.Hash(links[0].Token)}", SignIn, "Your SetupClaw sign-in link", lines, buttons, cancellationToken);
    }

    public Task<bool> PaymentFailedAsync(Customer customer, string eventId, DateTimeOffset? nextAttempt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(customer);
        var when = nextAttempt is { } at ? $"Stripe will try again on {CustomerFacing.Day(at)}." : "";
        return SendAsync(customer, $"{PaymentFailed}:{eventId}", PaymentFailed, "Your payment did not go through",
            [
                $"We could not take this month's payment for {AssistantOf(customer)}. {when}".TrimEnd(),
                "Your assistant keeps running meanwhile. Update your card under Manage billing on the dashboard.",
            ],
            ("Manage billing", DashboardUrl), cancellationToken);
    }

    public Task<bool> SuspendedAsync(Customer customer, string occasion, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(customer);
        return SendAsync(customer, $"{Suspended}:{customer.Id}:{occasion}", Suspended, $"{AssistantOf(customer)} is paused",
            [
                $"Stripe could not collect the payment for {AssistantOf(customer)} after several tries, so it is paused: it keeps all its data but does not answer chats.",
                "Pay the open invoice under Manage billing and it resumes at once.",
            ],
            ("Manage billing", DashboardUrl), cancellationToken);
    }

    /// <param name="keptUntil">Until when its archive is kept; null when there was nothing to archive.</param>
    public Task<bool> CancelledAsync(Customer customer, DateTimeOffset? keptUntil, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(customer);
        var kept = keptUntil is { } until
            ? $"We keep an archive of its data (workspace files, memories, conversations) until {CustomerFacing.Day(until)}; download it from the dashboard before then. After that it is deleted."
            : "It held no data to keep.";
        return SendAsync(customer, $"{Cancelled}:{customer.Id}", Cancelled, $"{AssistantOf(customer)} has been stopped",
            [
                $"Your subscription is cancelled and {AssistantOf(customer)} has been stopped.",
                kept,
            ],
            ("Download my data", DashboardUrl), cancellationToken);
    }

    /// <summary>A mock-era customer whose subscription the clean slate cancelled (<c>migrate-mock --clean-slate --execute</c>).</summary>
    public Task<bool> MockCancelledAsync(Customer customer, bool refunded, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(customer);
        return SendAsync(customer, $"{MockCancelled}:{customer.Id}", MockCancelled, "Your Clawdbot subscription has ended",
            [
                "The Clawdbot preview you subscribed to has closed, so we have cancelled your subscription: you will not be charged again.",
                refunded ? "We have refunded your last payment in full; it reaches your card in 5 to 10 days." : "Your last payment covered the time you had it.",
                "If you would like a dedicated assistant on SetupClaw's new platform, you are welcome to sign up again.",
            ],
            ("See SetupClaw", new Uri(app.Value.PublicBaseUrl, "/")), cancellationToken);
    }

    internal static string AssistantOf(Customer customer) => string.IsNullOrWhiteSpace(customer.AssistantName) ? "Claw" : customer.AssistantName;

    private Task<bool> SendAsync(
        Customer customer, string dedupeKey, string kind, string subject, IReadOnlyList<string> lines, (string Label, Uri Url) button, CancellationToken cancellationToken) =>
        SendAsync(customer, dedupeKey, kind, subject, lines, [button], cancellationToken);

    private Task<bool> SendAsync(
        Customer customer, string dedupeKey, string kind, string subject, IReadOnlyList<string> lines, IReadOnlyList<(string Label, Uri Url)> buttons,
        CancellationToken cancellationToken)
    {
        try
        {
            return outbox.EnqueueAsync(customer, dedupeKey, Compose(customer, kind, subject, lines, buttons), cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Composing failed (a template's bug): logged, and never thrown into the step that sends it.
            return Task.FromResult(outbox.ComposeFailed(customer.Id, kind, e));
        }
    }

    private static EmailMessage Compose(
        Customer customer, string kind, string subject, IReadOnlyList<string> lines, IReadOnlyList<(string Label, Uri Url)> buttons)
    {
        var greeting = string.IsNullOrWhiteSpace(customer.Name) ? "Hello," : $"Hello {customer.Name},";
        var text = string.Join("\n\n", [greeting, .. lines, .. buttons.Select(b => $"{b.Label}: {b.Url}"), "The SetupClaw team"]) + "\n";
        var html =
            $"""
            <!doctype html><html lang="en"><body style="font-family:system-ui,sans-serif;max-width:34rem;margin:auto;padding:1rem;color:#1d2330">
            <p>{WebUtility.HtmlEncode(greeting)}</p>
            {string.Concat(lines.Select(l => $"<p>{WebUtility.HtmlEncode(l)}</p>"))}
            {string.Concat(buttons.Select(b => $"<p><a href=\"{WebUtility.HtmlEncode(b.Url.ToString())}\" style=\"display:inline-block;background:#2f5bea;color:#fff;padding:.6rem 1rem;border-radius:.4rem;text-decoration:none\">{WebUtility.HtmlEncode(b.Label)}</a></p>"))}
            <p style="color:#5b6475">The SetupClaw team</p></body></html>
            """;
        return new EmailMessage(customer.Email, subject, text, html, kind);
    }
}

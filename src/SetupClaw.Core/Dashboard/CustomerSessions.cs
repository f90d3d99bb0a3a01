using System.Security.Cryptography;
using System.Text;
using Npgsql;
using SetupClaw.Credentials;
using SetupClaw.Data;

namespace SetupClaw.Dashboard;

public sealed class DashboardOptions
{
    public const string Section = "Dashboard";

    /// <summary>How long a dashboard session lasts (then the customer signs in again with an emailed link).</summary>
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How long an emailed sign-in link works (once).</summary>
    public TimeSpan SignInLinkLifetime { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>How long after sign-up the success page's status token may open the dashboard (later: an emailed link).</summary>
    public TimeSpan StatusTokenSignInWindow { get; set; } = TimeSpan.FromDays(1);

    /// <summary>How long a cancelled customer's data archive is kept; the sweep deletes older ones.</summary>
    public TimeSpan ArchiveRetention { get; set; } = TimeSpan.FromDays(30);
}

/// <summary>
/// Dashboard sessions and one-time sign-in links, stored as SHA-256 hashes of random tokens. A session's CSRF token is
/// derived from the session token (<see cref="CsrfTokenOf"/>), so it needs no storage and cannot be guessed without
/// the HttpOnly cookie.
/// </summary>
public sealed class CustomerSessions(NpgsqlDataSource db)
{
    public static string NewToken(string prefix) => prefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    public static string CsrfTokenOf(string sessionToken) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("csrf:" + sessionToken)));

    public Task<string> StartAsync(string customerId, TimeSpan lifetime, CancellationToken cancellationToken) =>
        IssueAsync("customer_sessions", "ses_", customerId, lifetime, cancellationToken);

    /// <summary>The customer a live session belongs to, or null (unknown, expired or signed out).</summary>
    public Task<string?> CustomerOfAsync(string sessionToken, CancellationToken cancellationToken) =>
        Sql.ScalarAsync<string>(db, "select customer_id from customer_sessions where token_hash = @hash and expires_at > now() and revoked_at is null",
            cancellationToken, ("hash", Secrets.Hash(sessionToken)));

    public Task EndAsync(string sessionToken, CancellationToken cancellationToken) =>
        Sql.ExecuteAsync(db, "update customer_sessions set revoked_at = now() where token_hash = @hash and revoked_at is null",
            cancellationToken, ("hash", Secrets.Hash(sessionToken)));

    public Task<string> IssueSignInLinkAsync(string customerId, TimeSpan lifetime, CancellationToken cancellationToken) =>
        IssueAsync("sign_in_links", "sil_", customerId, lifetime, cancellationToken);

    /// <summary>Uses a sign-in link: its customer the first time within its lifetime; null when unknown, used or expired.</summary>
    public Task<string?> RedeemSignInLinkAsync(string token, CancellationToken cancellationToken) =>
        Sql.ScalarAsync<string>(db,
            "update sign_in_links set used_at = now() where token_hash = @hash and used_at is null and expires_at > now() returning customer_id",
            cancellationToken, ("hash", Secrets.Hash(token)));

    /// <summary>A new random token for <paramref name="customerId"/>, stored in <paramref name="table"/> (one of the two above) as its hash only.</summary>
    private async Task<string> IssueAsync(string table, string prefix, string customerId, TimeSpan lifetime, CancellationToken cancellationToken)
    {
        var token = NewToken(prefix);
        await Sql.ExecuteAsync(db, $"insert into {table} (token_hash, customer_id, expires_at) values (@hash, @customer, now() + @lifetime)",
            cancellationToken, ("hash", Secrets.Hash(token)), ("customer", customerId), ("lifetime", lifetime));
        return token;
    }

    /// <summary>Removes what can no longer open anything (expired a day ago); returns how many rows went.</summary>
    public async Task<int> PurgeExpiredAsync(CancellationToken cancellationToken) =>
        await Sql.ExecuteAsync(db, "delete from customer_sessions where expires_at < now() - interval '1 day' or revoked_at < now() - interval '1 day'", cancellationToken)
        + await Sql.ExecuteAsync(db, "delete from sign_in_links where expires_at < now() - interval '1 day'", cancellationToken);
}

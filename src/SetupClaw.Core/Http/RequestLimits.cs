using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using SetupClaw.Credentials;

namespace SetupClaw.Http;

public sealed class RateLimitOptions
{
    public const string Section = "RateLimits";

    /// <summary>Sign-ups per client address per minute (each creates a Stripe Checkout Session); 0 = no limit.</summary>
    public int SignupsPerMinute { get; set; } = 10;

    /// <summary>Wrong admin keys from one address before it is locked out (even the right key is refused meanwhile).</summary>
    public int AdminFailuresBeforeLockout { get; set; } = 5;

    /// <summary>The first lockout; each further failure doubles it, up to <see cref="MaxAdminLockout"/>.</summary>
    public TimeSpan AdminLockout { get; set; } = TimeSpan.FromSeconds(30);

    public TimeSpan MaxAdminLockout { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// Behind a front end that appends the client's address to <c>X-Forwarded-For</c> (Azure's): the address is its
    /// last entry that is not loopback. Off for the local host, which sees clients directly.
    /// </summary>
    public bool TrustForwardedFor { get; set; }
}

/// <summary>
/// Rate limits kept in the core handlers (the Functions host runs no ASP.NET Core middleware of ours): sign-ups per
/// client address, and a lockout with backoff for admin-key guesses. Per instance: a scaled-out Functions app has one
/// set per instance. The Stripe webhook is never limited (its retries must always get through).
/// </summary>
public sealed class RequestLimits : IDisposable
{
    private const int MaxTrackedAddresses = 10_000;
    private readonly RateLimitOptions options;
    private readonly IOptions<SecurityOptions> security;
    private readonly TimeProvider clock;
    private readonly PartitionedRateLimiter<string> signups;
    private readonly ConcurrentDictionary<string, AdminFailures> adminFailures = new(StringComparer.Ordinal);

    public RequestLimits(IOptions<RateLimitOptions> options, IOptions<SecurityOptions> security, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(options);
        this.options = options.Value;
        this.security = security;
        this.clock = clock;
        var perMinute = Math.Max(1, this.options.SignupsPerMinute);
        signups = PartitionedRateLimiter.Create<string, string>(address => RateLimitPartition.GetTokenBucketLimiter(address, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = perMinute,
            TokensPerPeriod = perMinute,
            ReplenishmentPeriod = TimeSpan.FromMinutes(1),
            QueueLimit = 0,
            AutoReplenishment = true,
        }));
    }

    /// <summary>429 when this address has signed up too often this minute; null when the sign-up may go ahead.</summary>
    public IResult? RefuseSignup(HttpRequest request)
    {
        if (options.SignupsPerMinute <= 0)
        {
            return null;
        }

        using var lease = signups.AttemptAcquire(ClientAddress(request));
        if (lease.IsAcquired)
        {
            return null;
        }

        var retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromMinutes(1);
        return Problems.TooManyRequests($"Too many sign-ups from your address; please try again in {Seconds(retryAfter)} seconds.", retryAfter);
    }

    /// <summary>429 when this address has asked for sign-in links too often this minute (its own bucket, at the sign-up rate).</summary>
    public IResult? RefuseSignInLink(HttpRequest request)
    {
        if (options.SignupsPerMinute <= 0)
        {
            return null;
        }

        using var lease = signups.AttemptAcquire("sign-in:" + ClientAddress(request));
        if (lease.IsAcquired)
        {
            return null;
        }

        var retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromMinutes(1);
        return Problems.TooManyRequests($"Too many sign-in links asked for from your address; please try again in {Seconds(retryAfter)} seconds.", retryAfter);
    }

    /// <summary>
    /// The operator routes' check of <c>X-Admin-Key</c>: 401 without it, 403 for a wrong one, 429 while the address is
    /// locked out after repeated wrong keys (the right key included, so guessing gains nothing); null when allowed.
    /// </summary>
    public IResult? RefuseAdmin(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var presented = request.Headers[AdminKeyHeader].ToString();
        if (string.IsNullOrEmpty(presented))
        {
            return Problems.Unauthorized($"Send the operator's admin key (Security:AdminKey) in the {AdminKeyHeader} header.");
        }

        var address = ClientAddress(request);
        var now = clock.GetUtcNow();
        if (adminFailures.TryGetValue(address, out var failures) && failures.LockedUntil > now)
        {
            return Problems.TooManyRequests("Too many wrong admin keys from this address; wait before trying again.", failures.LockedUntil - now);
        }

        var key = security.Value.AdminKey;
        if (!string.IsNullOrEmpty(key) && Secrets.FixedTimeEquals(presented, key))
        {
            adminFailures.TryRemove(address, out _);
            return null;
        }

        var next = adminFailures.AddOrUpdate(address, _ => Lock(1, now), (_, f) => Lock(f.Count + 1, now));
        Forget(now);
        return next.LockedUntil > now
            ? Problems.TooManyRequests("Too many wrong admin keys from this address; wait before trying again.", next.LockedUntil - now)
            : Problems.Forbidden("That admin key is not valid.");
    }

    public const string AdminKeyHeader = "X-Admin-Key";

    /// <summary>The client's address: the connection's, or behind a trusted front end the last non-loopback <c>X-Forwarded-For</c> entry.</summary>
    public string ClientAddress(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (options.TrustForwardedFor)
        {
            var entries = request.Headers["X-Forwarded-For"].ToString().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            foreach (var entry in entries.Reverse())
            {
                // Azure writes address:port; IPv6 may come in brackets.
                var close = entry.IndexOf(']', StringComparison.Ordinal);
                if (entry.StartsWith('[') && close < 2)
                {
                    continue; // malformed: never from the front end
                }

                var host = entry.StartsWith('[') ? entry[1..close] : entry.Count(c => c == ':') == 1 ? entry[..entry.IndexOf(':', StringComparison.Ordinal)] : entry;
                if (IPAddress.TryParse(host, out var parsed) && !IPAddress.IsLoopback(parsed))
                {
                    return parsed.ToString();
                }
            }
        }

        return request.HttpContext.Connection.RemoteIpAddress?.ToString() ?? "unknown";
    }

    public void Dispose() => signups.Dispose();

    private AdminFailures Lock(int count, DateTimeOffset now)
    {
        var over = count - options.AdminFailuresBeforeLockout;
        if (over < 0)
        {
            return new AdminFailures(count, DateTimeOffset.MinValue, now);
        }

        var lockout = TimeSpan.FromTicks(Math.Min(options.MaxAdminLockout.Ticks, options.AdminLockout.Ticks * (1L << Math.Min(over, 20))));
        return new AdminFailures(count, now + lockout, now);
    }

    /// <summary>Keeps the table bounded: addresses whose last failure is older than the longest lockout are forgotten.</summary>
    private void Forget(DateTimeOffset now)
    {
        if (adminFailures.Count <= MaxTrackedAddresses)
        {
            return;
        }

        foreach (var (address, failures) in adminFailures)
        {
            if (now - failures.LastFailure > options.MaxAdminLockout)
            {
                adminFailures.TryRemove(address, out _);
            }
        }
    }

    private static string Seconds(TimeSpan wait) => Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);

    private sealed record AdminFailures(int Count, DateTimeOffset LockedUntil, DateTimeOffset LastFailure);
}

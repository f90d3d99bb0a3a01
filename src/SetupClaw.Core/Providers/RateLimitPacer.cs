using System.Globalization;
using System.Net;

namespace SetupClaw.Providers;

/// <summary>
/// Paces a provider's API calls by its published limits and by what its answers say, so a burst of provisionings is
/// slowed rather than refused: at most <see cref="PerSecond"/> calls in any second; when <c>X-RateLimit-Remaining</c>
/// runs low, the rest of the hour's calls are spread until <c>X-RateLimit-Reset</c>; after a 429, every call waits out
/// its <c>Retry-After</c> (the resilience pipeline retries the refused one). One pacer per provider per process.
/// It keeps a quarter of the per-second limit in reserve: the provider counts arrivals, and calls sent evenly
/// here arrive bunched when the machine is busy (found with a 200-signup burst on two cores: 390 of 1,603 calls
/// refused at the full limit).
/// </summary>
public sealed class RateLimitPacer(int perSecond, TimeProvider clock)
{
    private readonly Queue<DateTimeOffset> sent = new();
    private readonly SemaphoreSlim turn = new(1, 1);
    private DateTimeOffset notBefore = DateTimeOffset.MinValue;
    private DateTimeOffset lastSent = DateTimeOffset.MinValue;
    private TimeSpan spacing = TimeSpan.Zero;

    public int PerSecond { get; } = Math.Max(1, perSecond * 3 / 4);

    /// <summary>How many calls had to wait, for the benchmark.</summary>
    public int Delayed { get; private set; }

    public async Task WaitTurnAsync(CancellationToken cancellationToken)
    {
        await turn.WaitAsync(cancellationToken);
        try
        {
            var now = clock.GetUtcNow();
            while (sent.Count > 0 && now - sent.Peek() >= TimeSpan.FromSeconds(1))
            {
                sent.Dequeue();
            }

            // Until nothing holds this call: a 429 seen meanwhile moves notBefore again.
            for (var at = Due(now); at > now; at = Due(now))
            {
                Delayed++;
                await Task.Delay(at - now, clock, cancellationToken);
                now = clock.GetUtcNow();
                while (sent.Count > 0 && now - sent.Peek() >= TimeSpan.FromSeconds(1))
                {
                    sent.Dequeue();
                }
            }

            sent.Enqueue(now);
            lastSent = now;
        }
        finally
        {
            turn.Release();
        }
    }

    private DateTimeOffset Due(DateTimeOffset now)
    {
        lock (sent)
        {
            return new[] { notBefore, lastSent + spacing, sent.Count >= PerSecond ? sent.Peek() + TimeSpan.FromSeconds(1) : DateTimeOffset.MinValue, now }.Max();
        }
    }

    /// <summary>Reads the limit headers of an answer: a 429's Retry-After holds everyone; a low remaining spreads the rest.</summary>
    public void Observe(HttpResponseMessage response)
    {
        ArgumentNullException.ThrowIfNull(response);
        var now = clock.GetUtcNow();
        lock (sent)
        {
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                var wait = response.Headers.RetryAfter?.Delta ?? (response.Headers.RetryAfter?.Date - now) ?? TimeSpan.FromSeconds(1);
                notBefore = Max(notBefore, now + Clamp(wait));
            }

            if (Header(response, "X-RateLimit-Remaining") is { } remaining && Header(response, "X-RateLimit-Reset") is { } reset)
            {
                var untilReset = UntilReset(reset, now);
                // Below a small reserve the remaining calls are spread evenly over what is left of the window.
                spacing = remaining < 50 && untilReset > TimeSpan.Zero ? Clamp(untilReset / Math.Max(1, remaining)) : TimeSpan.Zero;
            }
        }
    }

    /// <summary>Railway does not document the reset's form: Unix seconds, Unix milliseconds, or seconds from now are all read.</summary>
    private static TimeSpan UntilReset(long reset, DateTimeOffset now) => reset switch
    {
        > 100_000_000_000 and < 100_000_000_000_000 => DateTimeOffset.FromUnixTimeMilliseconds(reset) - now,
        > 1_000_000_000 and < 100_000_000_000 => DateTimeOffset.FromUnixTimeSeconds(reset) - now,
        >= 0 and <= 7_200 => TimeSpan.FromSeconds(reset),
        _ => TimeSpan.Zero,
    };

    /// <summary>No single answer holds calls for more than a minute: the durable retries outlast longer outages.</summary>
    private static TimeSpan Clamp(TimeSpan wait) => wait < TimeSpan.Zero ? TimeSpan.Zero : wait > TimeSpan.FromMinutes(1) ? TimeSpan.FromMinutes(1) : wait;

    private static long? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) && long.TryParse(values.FirstOrDefault(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : null;

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;
}

/// <summary>Sends each request in its turn (<see cref="RateLimitPacer"/>) and shows the pacer every answer.</summary>
public sealed class RateLimitPacingHandler(RateLimitPacer pacer) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        await pacer.WaitTurnAsync(cancellationToken);
        var response = await base.SendAsync(request, cancellationToken);
        pacer.Observe(response);
        return response;
    }
}

using Microsoft.Extensions.Configuration;

namespace SetupClaw.Tests.Simulators;

/// <summary>
/// A latency: log-normal around its median, with its 95th percentile where the sources put it, clipped to a range.
/// Sampled with the simulator's own seeded random, so a run is repeatable.
/// </summary>
public sealed record Delay(double MedianMs, double P95Ms, double MinMs, double MaxMs)
{
    public static readonly Delay None = new(0, 0, 0, 0);

    public TimeSpan Sample(Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        if (MedianMs <= 0)
        {
            return TimeSpan.Zero;
        }

        var sigma = P95Ms > MedianMs ? Math.Log(P95Ms / MedianMs) / 1.645 : 0;
        double normal;
        lock (random)
        {
            // Box-Muller: one standard normal from two uniforms.
            normal = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        }

        return TimeSpan.FromMilliseconds(Math.Clamp(MedianMs * Math.Exp(sigma * normal), MinMs, MaxMs));
    }
}

/// <summary>
/// How long the simulated providers take (../shared/reference/latencies.md): Neon's API calls and operations, Railway's
/// API calls, deployment phases and domain readiness. <see cref="None"/> (the tests' default) is instant;
/// <see cref="Real"/> is the published and observed figures; any figure can come from settings
/// (<c>Simulators:Latency:{Name}:{MedianMs|P95Ms|MinMs|MaxMs}</c>).
/// </summary>
public sealed class SimulatedLatency
{
    public static SimulatedLatency None => new();

    /// <summary>The figures of the latency reference: medians with their tails, never a fixed sleep.</summary>
    public static SimulatedLatency Real => new()
    {
        // Any Neon API call: 150-350 ms (median 250, from the derived ~0.27 s DELETE).
        NeonApi = new(250, 350, 150, 600),
        // create_branch ~0.5 s; start_compute 1.2 s median, p95 2 s: queryable ~1.4 s after the call.
        NeonCreateBranch = new(500, 800, 300, 1500),
        NeonStartCompute = new(1200, 2000, 800, 5000),
        NeonOther = new(300, 600, 100, 1500),
        // Railway mutations 200-600 ms, reads a little less (no published figure).
        RailwayMutation = new(350, 600, 200, 1000),
        RailwayQuery = new(250, 450, 150, 800),
        // Image deploy: INITIALIZING ~2 s, then DEPLOYING ~30 s (20-60 s).
        RailwayInitializing = new(2000, 3000, 1000, 5000),
        RailwayDeploying = new(30_000, 55_000, 20_000, 120_000),
        // A new *.up.railway.app domain answers 404 for ~30 s (10-120 s).
        RailwayDomain = new(30_000, 90_000, 10_000, 120_000),
    };

    public Delay NeonApi { get; init; } = Delay.None;

    public Delay NeonCreateBranch { get; init; } = Delay.None;

    public Delay NeonStartCompute { get; init; } = Delay.None;

    public Delay NeonOther { get; init; } = Delay.None;

    public Delay RailwayMutation { get; init; } = Delay.None;

    public Delay RailwayQuery { get; init; } = Delay.None;

    public Delay RailwayInitializing { get; init; } = Delay.None;

    public Delay RailwayDeploying { get; init; } = Delay.None;

    public Delay RailwayDomain { get; init; } = Delay.None;

    /// <summary><paramref name="profile"/> (<c>real</c> or <c>none</c>) with any figure overridden by the section's settings.</summary>
    public static SimulatedLatency From(string profile, IConfiguration? section = null)
    {
        var latency = string.Equals(profile, "real", StringComparison.OrdinalIgnoreCase) ? Real
            : string.Equals(profile, "none", StringComparison.OrdinalIgnoreCase) ? None
            : throw new ArgumentException($"Unknown latency profile '{profile}': use 'real' or 'none'.", nameof(profile));
        if (section is null)
        {
            return latency;
        }

        Delay Read(string name, Delay current)
        {
            var s = section.GetSection(name);
            double Value(string key, double fallback) => double.TryParse(s[key], System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : fallback;
            return new Delay(Value("MedianMs", current.MedianMs), Value("P95Ms", current.P95Ms), Value("MinMs", current.MinMs), Value("MaxMs", current.MaxMs));
        }

        return new SimulatedLatency
        {
            NeonApi = Read(nameof(NeonApi), latency.NeonApi),
            NeonCreateBranch = Read(nameof(NeonCreateBranch), latency.NeonCreateBranch),
            NeonStartCompute = Read(nameof(NeonStartCompute), latency.NeonStartCompute),
            NeonOther = Read(nameof(NeonOther), latency.NeonOther),
            RailwayMutation = Read(nameof(RailwayMutation), latency.RailwayMutation),
            RailwayQuery = Read(nameof(RailwayQuery), latency.RailwayQuery),
            RailwayInitializing = Read(nameof(RailwayInitializing), latency.RailwayInitializing),
            RailwayDeploying = Read(nameof(RailwayDeploying), latency.RailwayDeploying),
            RailwayDomain = Read(nameof(RailwayDomain), latency.RailwayDomain),
        };
    }
}

/// <summary>
/// A provider's published API rate limits, enforced as the provider would: a fixed hourly window and a one-second
/// sliding window, answering 429 with <c>Retry-After</c> and the <c>X-RateLimit-*</c> headers (also on every success).
/// Railway's tiers (unverified figures, ../shared/reference/latencies.md): Hobby 1,000/h and 10/s, Pro 10,000/h and 50/s.
/// </summary>
public sealed class RateLimits(int perHour, int perSecond)
{
    public static RateLimits RailwayHobby => new(1_000, 10);

    public static RateLimits RailwayPro => new(10_000, 50);

    private readonly Queue<DateTimeOffset> lastSecond = new();
    private DateTimeOffset windowStart = DateTimeOffset.UtcNow;
    private int inWindow;

    public int PerHour { get; } = perHour;

    public int PerSecond { get; } = perSecond;

    /// <summary>Requests refused for the limits.</summary>
    public int Refused { get; private set; }

    /// <summary>Counts a request; null when it may go on, else the seconds to wait. <paramref name="headers"/> get the window's state.</summary>
    public int? Admit(IDictionary<string, Microsoft.Extensions.Primitives.StringValues> headers)
    {
        ArgumentNullException.ThrowIfNull(headers);
        lock (lastSecond)
        {
            var now = DateTimeOffset.UtcNow;
            if (now - windowStart >= TimeSpan.FromHours(1))
            {
                (windowStart, inWindow) = (now, 0);
            }

            while (lastSecond.Count > 0 && now - lastSecond.Peek() >= TimeSpan.FromSeconds(1))
            {
                lastSecond.Dequeue();
            }

            var reset = windowStart.AddHours(1);
            int? wait = inWindow >= PerHour ? (int)Math.Ceiling((reset - now).TotalSeconds)
                : lastSecond.Count >= PerSecond ? 1
                : null;
            if (wait is null)
            {
                inWindow++;
                lastSecond.Enqueue(now);
            }
            else
            {
                Refused++;
            }

            headers["X-RateLimit-Limit"] = PerHour.ToString(System.Globalization.CultureInfo.InvariantCulture);
            headers["X-RateLimit-Remaining"] = Math.Max(0, PerHour - inWindow).ToString(System.Globalization.CultureInfo.InvariantCulture);
            headers["X-RateLimit-Reset"] = reset.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
            return wait;
        }
    }
}

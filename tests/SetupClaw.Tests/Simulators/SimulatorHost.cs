using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace SetupClaw.Tests.Simulators;

/// <summary>A fault a simulator injects into one request.</summary>
public enum Fault
{
    ServerError,
    TooManyRequests,
    Locked,
    Slow,
    LostConnection,

    /// <summary>The request takes effect, then the connection drops before the answer: the crash between create and record.</summary>
    LostAfterCommit,

    /// <summary>A refusal retrying cannot change (HTTP 400 with the API's error body).</summary>
    Rejected,
}

/// <summary>
/// What both provider simulators share: a loopback Kestrel server, the faults they inject (at a rate, or chosen per
/// request), and the contract violations they saw. A request the real API would reject is answered as the real API
/// would and recorded, so a test can assert there were none.
/// </summary>
public abstract class SimulatorHost : IAsyncDisposable
{
    private WebApplication app = null!;

    public Uri BaseUrl => new(app.Urls.First());

    public ConcurrentQueue<string> Violations { get; } = new();

    /// <summary>The share of requests (0-1) that get a random transient fault.</summary>
    public double FaultRate { get; set; }

    /// <summary>Which transient faults the rate draws from.</summary>
    public Fault[] RandomFaults { get; set; } = [Fault.ServerError, Fault.TooManyRequests, Fault.Slow];

    /// <summary>A fault chosen for a request by its method and path (and body), or null.</summary>
    public Func<string, string, string, Fault?>? FaultFor { get; set; }

    /// <summary>The Retry-After a 429 carries, in seconds.</summary>
    public int RetryAfterSeconds { get; set; } = 1;

    /// <summary>How long this API takes to answer a request (by method, path and body); null: at once.</summary>
    public Func<string, string, string, TimeSpan>? ResponseTime { get; set; }

    /// <summary>The published rate limits, enforced (null: none).</summary>
    public RateLimits? Limits { get; set; }

    /// <summary>Requests by operation (<see cref="OperationOf"/>), for the API calls a provisioning costs.</summary>
    public System.Collections.Concurrent.ConcurrentDictionary<string, int> RequestsByOperation { get; } = new(StringComparer.Ordinal);

    /// <summary>What a request is, for <see cref="RequestsByOperation"/>: Railway's operation name, Neon's method and route.</summary>
    protected virtual string OperationOf(string method, string path, string body) => method + " " + path;

    public int FaultsInjected => faults;

    public int Requests => requests;

    private int faults;
    private int requests;
    private readonly Random random = new(42);

    protected async Task StartServerAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        app = builder.Build();
        app.Run(async context =>
        {
            Interlocked.Increment(ref requests);
            context.Request.EnableBuffering();
            using var reader = new StreamReader(context.Request.Body, leaveOpen: true);
            var body = await reader.ReadToEndAsync();
            context.Request.Body.Position = 0;
            if (Limits?.Admit(context.Response.Headers) is { } retryAfter)
            {
                context.Response.StatusCode = 429;
                context.Response.Headers.RetryAfter = retryAfter.ToString(System.Globalization.CultureInfo.InvariantCulture);
                await context.Response.WriteAsync("{\"errors\":[{\"message\":\"Rate limit exceeded\"}]}");
                return;
            }

            RequestsByOperation.AddOrUpdate(OperationOf(context.Request.Method, context.Request.Path, body), 1, (_, n) => n + 1);
            if (ResponseTime?.Invoke(context.Request.Method, context.Request.Path, body) is { } responseTime && responseTime > TimeSpan.Zero)
            {
                await Task.Delay(responseTime);
            }

            var fault = FaultFor?.Invoke(context.Request.Method, context.Request.Path, body) ?? RandomFault();
            if (fault is not null)
            {
                Interlocked.Increment(ref faults);
            }

            switch (fault)
            {
                case Fault.ServerError:
                    context.Response.StatusCode = 503;
                    await context.Response.WriteAsync("upstream unavailable");
                    return;
                case Fault.TooManyRequests:
                    context.Response.StatusCode = 429;
                    context.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    context.Response.Headers["X-RateLimit-Limit"] = "1000";
                    context.Response.Headers["X-RateLimit-Remaining"] = "0";
                    context.Response.Headers["X-RateLimit-Reset"] = DateTimeOffset.UtcNow.AddSeconds(RetryAfterSeconds).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
                    await context.Response.WriteAsync("{\"data\":null}");
                    return;
                case Fault.Locked:
                    await LockedAsync(context);
                    return;
                case Fault.Rejected:
                    context.Response.StatusCode = 400;
                    context.Response.ContentType = "application/json";
                    await context.Response.WriteAsync("{\"code\":\"\",\"message\":\"rejected by the test\",\"errors\":[{\"message\":\"rejected by the test\"}]}");
                    return;
                case Fault.LostConnection:
                    context.Abort();
                    return;
                case Fault.Slow:
                    await Task.Delay(300);
                    break;
            }

            if (fault == Fault.LostAfterCommit)
            {
                // The request takes effect; its answer goes nowhere and the connection drops.
                var original = context.Response.Body;
                context.Response.Body = Stream.Null;
                await HandleAsync(context, body);
                context.Response.Body = original;
                context.Abort();
                return;
            }

            await HandleAsync(context, body);
        });
        await app.StartAsync();
    }

    protected abstract Task HandleAsync(HttpContext context, string body);

    /// <summary>How this API answers 423 (only Neon has it; others answer 503).</summary>
    protected virtual async Task LockedAsync(HttpContext context)
    {
        context.Response.StatusCode = 503;
        await context.Response.WriteAsync("busy");
    }

    private Fault? RandomFault()
    {
        lock (random)
        {
            return FaultRate > 0 && random.NextDouble() < FaultRate ? RandomFaults[random.Next(RandomFaults.Length)] : null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
        GC.SuppressFinalize(this);
    }
}

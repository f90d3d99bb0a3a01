using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http.Resilience;
using Polly;

namespace SetupClaw.Providers;

/// <summary><c>Providers:Http</c>: the short, HTTP-level retries for provider calls.</summary>
public sealed class ProviderHttpOptions
{
    public const string Section = "Providers:Http";

    public int MaxRetries { get; set; } = 4;

    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>A Retry-After longer than this is not waited out here: the durable retry around the activity takes over.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(15);

    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>Retries counted per provider, for the operator and the benchmarks.</summary>
public sealed class ProviderRetries
{
    private readonly ConcurrentDictionary<string, int> counts = new(StringComparer.Ordinal);

    public int this[string provider] => counts.GetValueOrDefault(provider);

    public void Count(string provider) => counts.AddOrUpdate(provider, 1, (_, n) => n + 1);
}

/// <summary>
/// The resilience pipeline of every provider client (Microsoft.Extensions.Http.Resilience over Polly): a few quick
/// retries with jittered exponential backoff, only for what is transient (connection failures, timeouts, 408, 423
/// Locked, 429 honouring Retry-After, 5xx and Cloudflare's 524), and a timeout per attempt. Longer outages are the
/// durable retry policy's job around each activity; permanent failures are never retried.
/// </summary>
public static class ProviderHttp
{
    public static IHttpClientBuilder AddProviderResilience(this IHttpClientBuilder builder, string provider, ProviderHttpOptions options)
    {
        builder.AddResilienceHandler(provider, (pipeline, context) =>
        {
            var retries = context.ServiceProvider.GetRequiredService<ProviderRetries>();
            if (options.MaxRetries < 1)
            {
                // 0 turns HTTP-level retries off (Polly accepts at least one attempt); the durable retries remain.
                pipeline.AddTimeout(options.AttemptTimeout);
                return;
            }

            pipeline.AddRetry(new HttpRetryStrategyOptions
            {
                MaxRetryAttempts = options.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryBaseDelay,
                MaxDelay = options.MaxRetryDelay,
                ShouldRetryAfterHeader = true,
                ShouldHandle = arguments => ValueTask.FromResult(
                    arguments.Context.GetRequestMessage()?.Options.TryGetValue(NotIdempotent, out var creates) == true && creates
                        ? IsRefusedBeforeWork(arguments.Outcome)
                        : IsTransient(arguments.Outcome)),
                OnRetry = _ =>
                {
                    retries.Count(provider);
                    return default;
                },
            });
            pipeline.AddTimeout(options.AttemptTimeout);
        });
        return builder;
    }

    /// <summary>
    /// Marks a request that creates something without a name to find it by (a GraphQL mutation): when its answer is
    /// lost, re-sending could create it twice, so only answers that say the work was not done (429) are retried here;
    /// the durable retry re-runs the step, which looks up before it creates.
    /// </summary>
    public static readonly HttpRequestOptionsKey<bool> NotIdempotent = new("setupclaw.not-idempotent");

    public static bool IsRefusedBeforeWork(Outcome<HttpResponseMessage> outcome) =>
        outcome.Result?.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.Locked;

    public static bool IsTransient(Outcome<HttpResponseMessage> outcome) => outcome switch
    {
        { Exception: HttpRequestException or TimeoutException or Polly.Timeout.TimeoutRejectedException } => true,
        { Result: { } response } => response.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.Locked or HttpStatusCode.TooManyRequests
            || (int)response.StatusCode >= 500,
        _ => false,
    };
}

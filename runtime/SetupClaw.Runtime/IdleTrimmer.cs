namespace SetupClaw.Runtime;

/// <summary>
/// Gives memory back when the assistant goes quiet. After a burst of chats the GC keeps the heap it grew, so an
/// idle runtime would stay at its peak; once no request has arrived for <see cref="IdleAfter"/> (and something was
/// allocated since the last trim), one aggressive, compacting collection returns the free memory to the system.
/// Small is a feature: this decides how cheaply a customer can be hosted.
/// On a platform with no sleeping of its own (the local provider), <c>Runtime:ExitAfterIdleSeconds</c> makes the
/// runtime exit after that long without a request, with <see cref="SleepExitCode"/>: the platform then answers its
/// port and starts it again on the next request, as Railway's application sleeping does.
/// </summary>
public sealed class IdleTrimmer(IConfiguration configuration, IHostApplicationLifetime lifetime, ILogger<IdleTrimmer> logger) : BackgroundService
{
    /// <summary>The exit code of a runtime that went to sleep (EX_TEMPFAIL): not a crash.</summary>
    public const int SleepExitCode = 75;

    private static long lastRequest = Environment.TickCount64;
    private static int inFlight;

    public TimeSpan IdleAfter { get; } = TimeSpan.FromSeconds(configuration.GetValue("Runtime:TrimAfterIdleSeconds", 10));

    public TimeSpan ExitAfter { get; } = TimeSpan.FromSeconds(configuration.GetValue("Runtime:ExitAfterIdleSeconds", 0.0));

    /// <summary>Set when the runtime stops because it was idle: Program exits with <see cref="SleepExitCode"/>.</summary>
    public static bool Slept { get; private set; }

    public static IApplicationBuilder UseIdleTracking(IApplicationBuilder app) =>
        app.Use(async (context, next) =>
        {
            // Idle is counted from the end of the last request, and never while one is in flight (a streamed chat).
            Interlocked.Increment(ref inFlight);
            Interlocked.Exchange(ref lastRequest, Environment.TickCount64);
            try
            {
                await next(context);
            }
            finally
            {
                Interlocked.Exchange(ref lastRequest, Environment.TickCount64);
                Interlocked.Decrement(ref inFlight);
            }
        });

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Never trimmed yet: a runtime started and left idle trims once too, whatever start-up allocated (its steady state).
        long? trimmedAt = null;
        var tick = TimeSpan.FromSeconds(Math.Max(0.25, Math.Min(IdleAfter.TotalSeconds / 2, ExitAfter > TimeSpan.Zero ? ExitAfter.TotalSeconds / 4 : double.MaxValue)));
        using var timer = new PeriodicTimer(tick);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            var idle = TimeSpan.FromMilliseconds(Environment.TickCount64 - Interlocked.Read(ref lastRequest));
            if (ExitAfter > TimeSpan.Zero && idle >= ExitAfter && Volatile.Read(ref inFlight) == 0)
            {
                logger.LogInformation("No request for {Seconds:0} s: going to sleep (the next request wakes the assistant)", idle.TotalSeconds);
                Slept = true;
                lifetime.StopApplication();
                return;
            }

            var allocated = GC.GetTotalAllocatedBytes();
            if (idle >= IdleAfter && (trimmedAt is not { } last || allocated - last > 4 * 1024 * 1024))
            {
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                trimmedAt = GC.GetTotalAllocatedBytes();
            }
        }
    }
}

namespace SetupClaw.Runtime;

/// <summary>
/// Gives memory back when the assistant goes quiet. After a burst of chats the GC keeps the heap it grew, so an
/// idle runtime would stay at its peak; once no request has arrived for <see cref="IdleAfter"/> (and something was
/// allocated since the last trim), one aggressive, compacting collection returns the free memory to the system.
/// Small is a feature: this decides how cheaply a customer can be hosted.
/// </summary>
public sealed class IdleTrimmer(IConfiguration configuration) : BackgroundService
{
    private static long lastRequest = Environment.TickCount64;

    public TimeSpan IdleAfter { get; } = TimeSpan.FromSeconds(configuration.GetValue("Runtime:TrimAfterIdleSeconds", 10));

    public static IApplicationBuilder UseIdleTracking(IApplicationBuilder app) =>
        app.Use((context, next) =>
        {
            Interlocked.Exchange(ref lastRequest, Environment.TickCount64);
            return next(context);
        });

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var trimmedAt = GC.GetTotalAllocatedBytes();
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(Math.Max(1, IdleAfter.TotalSeconds / 2)));
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            var idle = TimeSpan.FromMilliseconds(Environment.TickCount64 - Interlocked.Read(ref lastRequest));
            var allocated = GC.GetTotalAllocatedBytes();
            if (idle >= IdleAfter && allocated - trimmedAt > 4 * 1024 * 1024)
            {
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                trimmedAt = GC.GetTotalAllocatedBytes();
            }
        }
    }
}

using System.Globalization;

namespace SetupClaw.Pool;

/// <summary>
/// What an idle pool member costs a month on Neon and Railway, from their published usage rates (checked 2026-12;
/// verify against neon.com/pricing and railway.com/pricing before relying on them) and the runtime's measured idle
/// footprint. A member's Neon compute (0.25 CU) is awake while something queries it: each health check wakes it,
/// and Neon suspends it 5 minutes after the last query, so checks more often than every 5 minutes keep it awake all
/// month. Railway bills the service's memory and CPU per second, awake or not.
/// </summary>
public static class PoolCost
{
    /// <summary>Neon Launch: $0.106 per CU-hour (Scale: $0.222).</summary>
    public const double NeonCuHour = 0.106;

    /// <summary>Railway: $10 per GB of memory a month, $20 per vCPU a month (billed per second of use).</summary>
    public const double RailwayGbMonth = 10;

    public const double RailwayVcpuMonth = 20;

    /// <summary>
    /// The native runtime (the image's) idle: 37 MiB resident once idle after a burst of chats (./setupclaw bench
    /// runtime; 33 MiB idle from a start, 110 MiB for the managed build), about 1% of a vCPU.
    /// </summary>
    public const double IdleMemoryGb = 37 / 1024.0;

    public const double IdleVcpu = 0.01;

    private const double HoursPerMonth = 730;

    private const double NeonSuspendAfterMinutes = 5;

    /// <summary>The share of the month a member's database compute is awake, checked every <paramref name="healthCheckSeconds"/>.</summary>
    public static double NeonAwakeShare(double healthCheckSeconds) =>
        healthCheckSeconds <= 0 ? 1 : Math.Min(1, NeonSuspendAfterMinutes * 60 / healthCheckSeconds);

    public static (double Neon, double Railway) PerMemberMonth(double healthCheckSeconds) =>
        (0.25 * HoursPerMonth * NeonAwakeShare(healthCheckSeconds) * NeonCuHour, IdleMemoryGb * RailwayGbMonth + IdleVcpu * RailwayVcpuMonth);

    /// <summary>One line for the doctor and the docs.</summary>
    public static string Describe(int size, double healthCheckSeconds)
    {
        var (neon, railway) = PerMemberMonth(healthCheckSeconds);
        var each = neon + railway;
        return string.Create(CultureInfo.InvariantCulture,
            $"an idle member costs about ${each:0.00}/month (Neon 0.25 CU awake {NeonAwakeShare(healthCheckSeconds):P0} of the time at ${NeonCuHour}/CU-h: ${neon:0.00}; Railway {IdleMemoryGb * 1024:0} MiB and {IdleVcpu:0.00} vCPU: ${railway:0.00}); {size} member(s): ${each * size:0.00}/month");
    }
}

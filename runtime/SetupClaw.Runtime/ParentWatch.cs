using System.Diagnostics;
using System.Globalization;

namespace SetupClaw.Runtime;

/// <summary>
/// When started by the local host (SETUPCLAW_PARENT_PID), the runtime exits once that host is gone, so a killed
/// host never leaves customer runtimes running unowned.
/// </summary>
public sealed class ParentWatch(IConfiguration configuration, IHostApplicationLifetime lifetime) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!int.TryParse(configuration["SETUPCLAW_PARENT_PID"], NumberStyles.Integer, CultureInfo.InvariantCulture, out var pid))
        {
            return;
        }

        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            if (!IsAlive(pid))
            {
                lifetime.StopApplication();
                return;
            }
        }
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}

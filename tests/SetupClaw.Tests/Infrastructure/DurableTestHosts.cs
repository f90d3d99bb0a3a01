using Microsoft.DurableTask.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace SetupClaw.Tests.Infrastructure;

public static class DurableTestHosts
{
    /// <summary>
    /// The in-process durable host with SetupClaw's orchestrations and activities. It binds a random port, which
    /// another process of the suite (a runtime, a stub) can hold at that moment: then it tries another.
    /// </summary>
    public static async Task<DurableTaskTestHost> StartAsync(Action<IServiceCollection> services)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await DurableTaskTestHost.StartAsync(registry => registry.AddSetupClawTasks(), new DurableTaskTestHostOptions { ConfigureServices = services });
            }
            catch (IOException e) when (attempt < 5 && e.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
            {
            }
        }
    }
}

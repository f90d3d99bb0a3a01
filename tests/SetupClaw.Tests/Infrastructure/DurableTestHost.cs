using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SetupClaw.LocalHost;

namespace SetupClaw.Tests.Infrastructure;

/// <summary>
/// SetupClaw's orchestrations and activities on the local host's own durable sidecar (in-memory backend), with the
/// services a test gives. Unlike the package's DurableTaskTestHost, which dispatches one work item per core (two
/// here, so a batch of sagas queued behind two activities), it has the local host's dispatch slots.
/// </summary>
public sealed class DurableTestHost : IAsyncDisposable
{
    private readonly WebApplication app;

    private DurableTestHost(WebApplication app) => this.app = app;

    public DurableTaskClient Client => app.Services.GetRequiredService<DurableTaskClient>();

    public IServiceProvider Services => app.Services;

    /// <summary>
    /// Starts on a free loopback port; another process of the suite (a runtime, a stub) can take that port between
    /// the choice and the bind, and then it tries another.
    /// </summary>
    public static async Task<DurableTestHost> StartAsync(Action<IServiceCollection> services)
    {
        for (var attempt = 1; ; attempt++)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Durable:MaxConcurrentActivities"] = "32",
                ["Durable:MaxConcurrentOrchestrations"] = "16",
            });
            builder.Logging.ClearProviders();
            // The worker's gRPC stream to the sidecar stays open until cancelled: stopping must not wait the default 30 s on it.
            builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2));
            builder.AddDurableSidecar();
            services(builder.Services);
            var app = builder.Build();
            app.MapDurableSidecar();
            try
            {
                await app.StartAsync();
                await DurableSidecar.WaitUntilReachableAsync(app.Services.GetRequiredService<DurableTaskClient>(), TimeSpan.FromSeconds(30));
                return new DurableTestHost(app);
            }
            catch (IOException e) when (attempt < 5 && e.InnerException is AddressInUseException)
            {
                await app.DisposeAsync();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}

using System.Net;
using DurableTask.AzureStorage;
using DurableTask.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Testing.Sidecar;
using Microsoft.DurableTask.Testing.Sidecar.Grpc;
using Microsoft.DurableTask.Worker;
using SetupClaw.Operations;
using SetupClaw.Providers.Local;

namespace SetupClaw.LocalHost;

/// <summary>
/// Runs the orchestrations outside the Functions host: an embedded Durable Task sidecar (gRPC, HTTP/2 on its own
/// loopback port) over the in-memory backend, or over the Azure Storage backend (Azurite or a real account) when
/// <c>Durable:Backend</c> is <c>AzureStorage</c>; the worker and client talk to it as they would to any sidecar.
/// </summary>
internal static class DurableSidecar
{
    public static void AddDurableSidecar(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        var port = int.TryParse(configuration["Durable:SidecarPort"], out var configured) && configured > 0 ? configured : LoopbackPorts.Free();
        builder.WebHost.ConfigureKestrel(kestrel =>
            kestrel.Listen(IPAddress.Loopback, port, listen => listen.Protocols = HttpProtocols.Http2));

        var services = builder.Services;
        services.AddGrpc();
        TimeSpan Seconds(string key, int fallback) =>
            TimeSpan.FromSeconds(int.TryParse(configuration[key], out var seconds) && seconds > 0 ? seconds : fallback);

        var activities = int.TryParse(configuration["Durable:MaxConcurrentActivities"], out var a) && a > 0 ? a : 32;
        var orchestrations = int.TryParse(configuration["Durable:MaxConcurrentOrchestrations"], out var o) && o > 0 ? o : 16;
        if (string.Equals(configuration["Durable:Backend"], "AzureStorage", StringComparison.OrdinalIgnoreCase))
        {
            var connection = configuration["Durable:AzureStorage:ConnectionString"] ?? "UseDevelopmentStorage=true";
            services.AddSingleton(sp => new AzureStorageOrchestrationService(new AzureStorageOrchestrationServiceSettings
            {
                StorageAccountClientProvider = new StorageAccountClientProvider(connection),
                TaskHubName = configuration["Durable:TaskHub"] ?? "setupclawlocal",
                MaxQueuePollingInterval = TimeSpan.FromSeconds(1),
                MaxConcurrentTaskActivityWorkItems = activities,
                MaxConcurrentTaskOrchestrationWorkItems = orchestrations,
                // How soon a restarted host takes over what the dead one held (defaults: 30 s leases, 5 min message
                // visibility); the durability test shortens them.
                LeaseInterval = Seconds("Durable:AzureStorage:LeaseIntervalSeconds", 30),
                LeaseRenewInterval = Seconds("Durable:AzureStorage:LeaseRenewIntervalSeconds", 10),
                LeaseAcquireInterval = Seconds("Durable:AzureStorage:LeaseAcquireIntervalSeconds", 10),
                ControlQueueVisibilityTimeout = Seconds("Durable:AzureStorage:VisibilityTimeoutSeconds", 300),
                WorkItemQueueVisibilityTimeout = Seconds("Durable:AzureStorage:VisibilityTimeoutSeconds", 300),
                LoggerFactory = sp.GetRequiredService<ILoggerFactory>(),
            }));
            services.AddSingleton(sp => new WiderOrchestrationService(
                sp.GetRequiredService<AzureStorageOrchestrationService>(), sp.GetRequiredService<AzureStorageOrchestrationService>(), activities, orchestrations));
            services.AddSingleton<IOrchestrationService>(sp => sp.GetRequiredService<WiderOrchestrationService>());
            services.AddSingleton<IOrchestrationServiceClient>(sp => sp.GetRequiredService<WiderOrchestrationService>());
        }
        else
        {
            services.AddSingleton<InMemoryOrchestrationService>();
            services.AddSingleton(sp => new WiderOrchestrationService(
                sp.GetRequiredService<InMemoryOrchestrationService>(), sp.GetRequiredService<InMemoryOrchestrationService>(), activities, orchestrations));
            services.AddSingleton<IOrchestrationService>(sp => sp.GetRequiredService<WiderOrchestrationService>());
            services.AddSingleton<IOrchestrationServiceClient>(sp => sp.GetRequiredService<WiderOrchestrationService>());
        }

        services.AddSingleton<TaskHubGrpcServer>();
        services.AddHostedService<BackendStarter>();

        var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
        services.AddDurableTaskWorker(worker =>
        {
            worker.AddTasks(registry => registry.AddSetupClawTasks());
            worker.UseGrpc(channel);
        });
        services.AddDurableTaskClient(client => client.UseGrpc(channel));
    }

    public static void MapDurableSidecar(this WebApplication app) => app.MapGrpcService<TaskHubGrpcServer>();

    /// <summary>Whether the durable client reaches the sidecar now (<see cref="HealthHandler.IsReachableAsync"/>).</summary>
    public static Task<bool> IsReachableAsync(DurableTaskClient durable, CancellationToken cancellationToken) =>
        HealthHandler.IsReachableAsync(durable, cancellationToken);

    /// <summary>Waits until <see cref="IsReachableAsync"/>, or throws naming the sidecar after <paramref name="timeout"/>.</summary>
    public static async Task WaitUntilReachableAsync(DurableTaskClient durable, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        while (!await IsReachableAsync(durable, deadline.Token))
        {
            await Task.Delay(TimeSpan.FromMilliseconds(100), deadline.Token);
        }
    }

    /// <summary>
    /// The sidecar starts its backend when the application has started (and a second start throws on Azure
    /// Storage), but does not create it: this creates the task hub's queues, tables and containers first.
    /// </summary>
    private sealed class BackendStarter(IOrchestrationService service) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => service.CreateIfNotExistsAsync();

        public Task StopAsync(CancellationToken cancellationToken) => service.StopAsync();
    }
}

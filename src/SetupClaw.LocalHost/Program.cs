using SetupClaw;
using SetupClaw.LocalHost;

var builder = WebApplication.CreateBuilder(args);
builder.Configuration.AddLocalSettings();
builder.Services.AddSetupClawCore(builder.Configuration);
builder.AddDurableSidecar();
builder.Services.AddHostedService<LocalRecovery>();
builder.ConfigureLocalEndpoint();

// The worker's gRPC stream to the sidecar stays open until cancelled: do not let it hold Ctrl-C up for long.
builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));

var app = builder.Build();
app.MapSetupClawEndpoints();
if (args.Contains("--demo"))
{
    app.Lifetime.ApplicationStarted.Register(() => _ = Demo.RunAsync(app));
}

await app.RunAsync();

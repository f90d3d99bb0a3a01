using Npgsql;
using SetupClaw.Runtime;

if (args.Contains("--healthcheck"))
{
    // The container HEALTHCHECK: the aspnet image has no curl, so the runtime checks itself.
    using var probe = new HttpClient { Timeout = TimeSpan.FromSeconds(4) };
    var probePort = Environment.GetEnvironmentVariable("PORT") ?? "8080";
    try
    {
        return (await probe.GetAsync(new Uri($"http://127.0.0.1:{probePort}/health"))).IsSuccessStatusCode ? 0 : 1;
    }
    catch (HttpRequestException)
    {
        return 1;
    }
}

var builder = WebApplication.CreateSlimBuilder(args);
if (builder.Configuration["PORT"] is { Length: > 0 } port && string.IsNullOrEmpty(builder.Configuration["ASPNETCORE_URLS"]))
{
    builder.WebHost.UseUrls($"http://0.0.0.0:{port}");
}

var settings = RuntimeSettings.FromEnvironment(builder.Configuration);
builder.Services.AddSingleton(settings);
builder.Services.AddSingleton(_ => NpgsqlDataSource.Create(settings.DatabaseUrl));
builder.Services.AddProblemDetails();
builder.Services.AddHostedService<ParentWatch>();

var app = builder.Build();
await RuntimeSchema.ApplyAsync(app.Services.GetRequiredService<NpgsqlDataSource>(), app.Lifetime.ApplicationStopping);
app.UseApiKeyAuth(settings);
app.MapRuntimeEndpoints();
await app.RunAsync();
return 0;

using Npgsql;
using SetupClaw.Runtime;
using SetupClaw.Runtime.Chat;
using SetupClaw.Runtime.Http;
using SetupClaw.Runtime.Memory;
using SetupClaw.Runtime.Skills;
using SetupClaw.Runtime.Usage;
using SetupClaw.Runtime.Workspace;

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

// Request-by-request logs would drown what matters (start, failures) and cost a customer's memory and CPU.
builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = Limits.RequestBodyBytes);

var settings = RuntimeSettings.FromEnvironment(builder.Configuration);
builder.Services.AddSingleton(settings);
builder.Services.AddSingleton(TimeProvider.System);
// The slim builder: only the PostgreSQL types the runtime reads (text arrays) and TLS (Neon requires it), nothing
// found by reflection, so the native binary carries no more of Npgsql than it uses.
await using var database = new NpgsqlSlimDataSourceBuilder(RuntimeSettings.ConnectionString(settings.DatabaseUrl))
    .EnableArrays()
    .EnableTransportSecurity()
    // Only PostgreSQL's built-in types are read, so the catalogue query a first connection makes is skipped.
    .ConfigureTypeLoading(types => types.EnableTypeLoading(false))
    .Build();
builder.Services.AddSingleton(database);
// The schema is applied while the rest of the host is built: connecting (TLS, SCRAM) is most of a start.
var schema = RuntimeSchema.ApplyAsync(database, CancellationToken.None);
builder.Services.AddSingleton(_ => new ModelGateway(settings.Llm));
builder.Services.AddSingleton(_ => SkillCatalog.LoadEmbedded());
builder.Services.AddSingleton<WorkspaceFiles>();
builder.Services.AddSingleton<MemoryStore>();
// What depends on who the assistant belongs to lives per request, with the identity the API key check read.
builder.Services.AddHttpContextAccessor();
builder.Services.AddScoped(services => RuntimeIdentity.Of(services.GetRequiredService<IHttpContextAccessor>().HttpContext!));
builder.Services.AddScoped<SkillStore>();
builder.Services.AddScoped<UsageLedger>();
builder.Services.AddScoped<PromptComposer>();
builder.Services.AddScoped<ChatService>();
builder.Services.AddScoped<ChatRunner>();
builder.Services.AddProblemDetails();
// Every answer's JSON is source-generated (Http/RuntimeJson.cs): the native binary has no reflection-based serializer.
builder.Services.ConfigureHttpJsonOptions(json =>
{
    json.SerializerOptions.TypeInfoResolverChain.Insert(0, RuntimeJson.Default);
    json.SerializerOptions.TypeInfoResolverChain.Insert(1, OpenAiJson.Default);
});
builder.Services.AddHostedService<ParentWatch>();
builder.Services.AddHostedService<IdleTrimmer>();

var app = builder.Build();
_ = app.Services.GetRequiredService<SkillCatalog>();
await schema;

IdleTrimmer.UseIdleTracking(app);
// Unexpected errors answer problem+json whatever the client accepts (a streaming client asks for text/event-stream).
app.UseExceptionHandler(handler => handler.Run(context => Problems.Of(500, "Unexpected error",
    "The assistant hit an unexpected error and stored nothing for this request. Try again; if it keeps happening, the runtime log has the details.")
    .ExecuteAsync(context)));
app.UseStatusCodePages();
app.UseApiKeyAuth();
app.MapStatusEndpoints();
app.MapChatEndpoints();
app.MapOpenAiEndpoints();
app.MapMemoryEndpoints();
app.MapSkillEndpoints();
app.MapWorkspaceEndpoints();
await app.RunAsync();
return IdleTrimmer.Slept ? IdleTrimmer.SleepExitCode : 0;

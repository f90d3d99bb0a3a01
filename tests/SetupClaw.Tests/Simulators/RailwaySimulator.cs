using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using GraphQLParser;
using GraphQLParser.AST;
using Microsoft.AspNetCore.Http;

namespace SetupClaw.Tests.Simulators;

/// <summary>
/// Railway's public GraphQL API as SetupClaw uses it, with state: one project with a <c>production</c> environment,
/// services (variables, instance settings, source, limits), Railway domains, and deployments that move through
/// INITIALIZING → BUILDING → DEPLOYING → SUCCESS (or FAILED / CRASHED on demand) with logs. Every document is parsed
/// and validated against tests/contracts/railway/schema.json with its variables; answers follow the request's
/// selection set, errors arrive as HTTP 200 with <c>errors[]</c>, a wrong token gets "Not Authorized".
/// </summary>
public sealed class RailwaySimulator : SimulatorHost
{
    public const string ProjectId = "8f3c1a2b-0000-4000-8000-00000000a11c";
    public const string EnvironmentId = "e0e0e0e0-0000-4000-8000-0000000000e1";
    private readonly object gate = new();
    private readonly Dictionary<string, SimService> services = [];
    private readonly Dictionary<string, SimDeployment> deployments = [];

    private RailwaySimulator(string token) => Token = token;

    public string Token { get; }

    public Uri Endpoint => new(BaseUrl, "/graphql/v2");

    /// <summary>How long a deployment takes from INITIALIZING to its end.</summary>
    public TimeSpan DeploymentDuration { get; set; } = TimeSpan.FromMilliseconds(80);

    /// <summary>How long a deployment of this service takes instead (null: <see cref="DeploymentDuration"/>), by service name.</summary>
    public Func<string, TimeSpan?>? DeploymentDurationOf { get; set; }

    /// <summary>How long a new domain answers 404 ("the train has not arrived") before it routes (null: at once).</summary>
    public Func<TimeSpan>? DomainDelay { get; set; }

    /// <summary>Railway's latencies: API calls (mutations and reads), deployment phases, domain readiness.</summary>
    public void UseLatency(SimulatedLatency latency, int seed = 13)
    {
        ArgumentNullException.ThrowIfNull(latency);
        var random = new Random(seed);
        ResponseTime = (_, _, body) => (body.Contains("\"query\":\"mutation", StringComparison.Ordinal) || body.Contains("mutation ", StringComparison.Ordinal)
            ? latency.RailwayMutation : latency.RailwayQuery).Sample(random);
        DeploymentDurationOf = _ => latency.RailwayInitializing.Sample(random) + latency.RailwayDeploying.Sample(random);
        DomainDelay = () => latency.RailwayDomain.Sample(random);
    }

    /// <summary>Whether the service's domain routes to a deployment: one succeeded, and the domain is ready.</summary>
    public bool IsServing(string name)
    {
        lock (gate)
        {
            var service = services.Values.FirstOrDefault(s => s.Name == name);
            return service is { Domain: not null } && DateTimeOffset.UtcNow >= service.DomainReadyAt &&
                deployments.Values.Any(d => d.ServiceId == service.Id && Status(d) == "SUCCESS");
        }
    }

    /// <summary>The operation's name: what a provisioning's Railway calls are counted by.</summary>
    protected override string OperationOf(string method, string path, string body)
    {
        try
        {
            return JsonNode.Parse(body)?["operationName"]?.GetValue<string>() ?? "(unnamed)";
        }
        catch (JsonException)
        {
            return "(not JSON)";
        }
    }

    /// <summary>Which services' deployments end FAILED (or CRASHED), by service name.</summary>
    public Func<string, string?>? DeploymentOutcome { get; set; }

    public IReadOnlyList<string> ServiceNames
    {
        get
        {
            lock (gate)
            {
                return [.. services.Values.Select(s => s.Name)];
            }
        }
    }

    public int Domains
    {
        get
        {
            lock (gate)
            {
                return services.Values.Count(s => s.Domain is not null);
            }
        }
    }

    public JsonObject? Service(string name)
    {
        lock (gate)
        {
            return services.Values.FirstOrDefault(s => s.Name == name)?.View();
        }
    }

    /// <summary>A service that is simply there, as one left by a crashed run elsewhere would be.</summary>
    public void AddService(string name, IReadOnlyDictionary<string, string>? variables = null)
    {
        lock (gate)
        {
            var service = new SimService(Guid.NewGuid().ToString(), name);
            foreach (var (key, value) in variables ?? new Dictionary<string, string>())
            {
                service.Variables[key] = value;
            }

            services[service.Id] = service;
        }
    }

    public static async Task<RailwaySimulator> StartAsync(string token = "railway-workspace-token")
    {
        var simulator = new RailwaySimulator(token);
        await simulator.StartServerAsync();
        return simulator;
    }

    protected override async Task HandleAsync(HttpContext context, string body)
    {
        if (context.Request.Path != "/graphql/v2" || context.Request.Method != "POST")
        {
            await ReplyAsync(context, 404, new JsonObject { ["errors"] = new JsonArray(Message("Not found")) });
            return;
        }

        JsonObject request;
        try
        {
            request = JsonNode.Parse(body)!.AsObject();
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NullReferenceException)
        {
            Violations.Enqueue("body is not a GraphQL JSON request");
            await ReplyAsync(context, 400, new JsonObject { ["errors"] = new JsonArray(Message("Invalid JSON body")) });
            return;
        }

        var query = request["query"]?.GetValue<string>() ?? "";
        var variables = request["variables"] as JsonObject ?? [];
        var violations = GraphQLContract.Railway.Validate(query, request["operationName"]?.GetValue<string>(), variables);
        if (violations.Count > 0)
        {
            foreach (var violation in violations)
            {
                Violations.Enqueue(violation);
            }

            await ReplyAsync(context, 400, new JsonObject { ["errors"] = new JsonArray([.. violations.Select(Message)]) });
            return;
        }

        var authorized = context.Request.Headers.Authorization.ToString() == $"Bearer {Token}" || context.Request.Headers["Project-Access-Token"].ToString() == Token;
        if (!authorized)
        {
            await ReplyAsync(context, 200, new JsonObject { ["data"] = null, ["errors"] = new JsonArray(Message("Not Authorized")) });
            return;
        }

        var operation = Parser.Parse(query).Definitions.OfType<GraphQLOperationDefinition>().Single();
        var data = new JsonObject();
        foreach (var field in operation.SelectionSet.Selections.OfType<GraphQLField>())
        {
            var arguments = Arguments(field, variables);
            JsonNode? result;
            string? error;
            lock (gate)
            {
                result = Resolve(field.Name.StringValue, arguments, out error);
            }

            if (error is not null)
            {
                await ReplyAsync(context, 200, new JsonObject { ["data"] = null, ["errors"] = new JsonArray(Message(error)) });
                return;
            }

            data[(field.Alias?.Name ?? field.Name).StringValue] = field.SelectionSet is null ? result : Project(result, field.SelectionSet);
        }

        await ReplyAsync(context, 200, new JsonObject { ["data"] = data });
    }

    private JsonNode? Resolve(string field, JsonObject arguments, out string? error)
    {
        error = null;
        string Arg(string name) => arguments[name]!.GetValue<string>();
        switch (field)
        {
            case "project" when Arg("id") == ProjectId:
                return new JsonObject
                {
                    ["id"] = ProjectId,
                    ["name"] = "setupclaw-customers",
                    ["environments"] = Edges([new JsonObject { ["id"] = EnvironmentId, ["name"] = "production" }]),
                    ["services"] = Edges([.. services.Values.Select(s => s.View())]),
                };
            case "me":
                return new JsonObject { ["id"] = "user-1", ["email"] = "founder@setupclaw.example" };
            case "serviceCreate":
                {
                    var input = arguments["input"]!.AsObject();
                    if (input["projectId"]!.GetValue<string>() != ProjectId)
                    {
                        error = "Not Authorized";
                        return null;
                    }

                    var service = new SimService(Guid.NewGuid().ToString(), input["name"]?.GetValue<string>() ?? "service")
                    {
                        Repo = input["source"]?["repo"]?.GetValue<string>(),
                        Image = input["source"]?["image"]?.GetValue<string>(),
                    };
                    foreach (var (key, value) in input["variables"]?.AsObject() ?? [])
                    {
                        service.Variables[key] = value!.GetValue<string>();
                    }

                    services[service.Id] = service;
                    return service.View();
                }

            case "variableCollectionUpsert":
                {
                    var input = arguments["input"]!.AsObject();
                    if (!TryService(input["serviceId"]?.GetValue<string>(), out var service, out error) || !Environment(input["environmentId"], out error))
                    {
                        return null;
                    }

                    if (input["replace"]?.GetValue<bool>() == true)
                    {
                        service!.Variables.Clear();
                    }

                    foreach (var (key, value) in input["variables"]!.AsObject())
                    {
                        service!.Variables[key] = value!.GetValue<string>();
                    }

                    service!.SkippedDeploys |= input["skipDeploys"]?.GetValue<bool>() == true;
                    return true;
                }

            case "serviceInstanceUpdate":
                {
                    if (!TryService(Arg("serviceId"), out var service, out error) || !Environment(arguments["environmentId"], out error))
                    {
                        return null;
                    }

                    var input = arguments["input"]!.AsObject();
                    service!.HealthcheckPath = input["healthcheckPath"]?.GetValue<string>() ?? service.HealthcheckPath;
                    service.Image = input["source"]?["image"]?.GetValue<string>() ?? service.Image;
                    service.SleepApplication = input["sleepApplication"]?.GetValue<bool>() ?? service.SleepApplication;
                    return true;
                }

            case "serviceInstanceLimitsUpdate":
                {
                    var input = arguments["input"]!.AsObject();
                    if (!TryService(input["serviceId"]!.GetValue<string>(), out var service, out error))
                    {
                        return null;
                    }

                    service!.VCpus = input["vCPUs"]?.GetValue<double>();
                    return true;
                }

            case "variables":
                {
                    if (!TryService(Arg("serviceId"), out var service, out error) || !Environment(arguments["environmentId"], out error))
                    {
                        return null;
                    }

                    return new JsonObject([.. service!.Variables.Select(v => KeyValuePair.Create(v.Key, (JsonNode?)v.Value))]);
                }

            case "domains":
                {
                    if (!TryService(Arg("serviceId"), out var service, out error))
                    {
                        return null;
                    }

                    return new JsonObject
                    {
                        ["serviceDomains"] = new JsonArray([.. service!.Domain is { } d ? [Domain(service, d)] : Array.Empty<JsonNode>()]),
                        ["customDomains"] = new JsonArray(),
                    };
                }

            case "serviceDomainCreate":
                {
                    var input = arguments["input"]!.AsObject();
                    if (!TryService(input["serviceId"]!.GetValue<string>(), out var service, out error))
                    {
                        return null;
                    }

                    service!.Domain = $"{service.Name}-production-{Guid.NewGuid().ToString("N")[..4]}.up.railway.app";
                    service.DomainReadyAt = DateTimeOffset.UtcNow + (DomainDelay?.Invoke() ?? TimeSpan.Zero);
                    return Domain(service, service.Domain);
                }

            case "serviceInstanceDeployV2":
                {
                    if (!TryService(Arg("serviceId"), out var service, out error) || !Environment(arguments["environmentId"], out error))
                    {
                        return null;
                    }

                    if (service!.Image is null && service.Repo is null)
                    {
                        error = "Service has no source to deploy";
                        return null;
                    }

                    var deployment = new SimDeployment(Guid.NewGuid().ToString(), service.Id, DateTimeOffset.UtcNow, DeploymentOutcome?.Invoke(service.Name) ?? "SUCCESS",
                        DeploymentDurationOf?.Invoke(service.Name) ?? DeploymentDuration);
                    deployments[deployment.Id] = deployment;
                    return deployment.Id;
                }

            case "serviceInstance":
                {
                    if (!TryService(Arg("serviceId"), out var service, out error) || !Environment(arguments["environmentId"], out error))
                    {
                        return null;
                    }

                    var latest = deployments.Values.Where(d => d.ServiceId == service!.Id).MaxBy(d => d.CreatedAt);
                    return new JsonObject
                    {
                        ["sleepApplication"] = service!.SleepApplication,
                        ["latestDeployment"] = latest is null ? null : new JsonObject { ["id"] = latest.Id, ["status"] = StatusOf(service, latest) },
                    };
                }

            case "deployment":
                return deployments.TryGetValue(Arg("id"), out var found)
                    ? new JsonObject { ["id"] = found.Id, ["status"] = services.TryGetValue(found.ServiceId, out var owner) ? StatusOf(owner, found) : Status(found), ["serviceId"] = found.ServiceId }
                    : Fail("Deployment not found", out error);
            case "deploymentLogs" or "buildLogs":
                return deployments.TryGetValue(Arg("deploymentId"), out var logged)
                    ? new JsonArray([.. Logs(field, logged).Select(m => new JsonObject { ["timestamp"] = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture), ["message"] = m })])
                    : Fail("Deployment not found", out error);
            case "serviceDelete":
                if (!services.Remove(Arg("id")))
                {
                    return Fail("Service not found", out error);
                }

                return true;
            default:
                return Fail(field == "project" ? "Project not found" : $"{field} is not simulated", out error);
        }
    }

    private static JsonNode? Fail(string message, out string error)
    {
        error = message;
        return null;
    }

    private bool TryService(string? id, out SimService? service, out string? error)
    {
        service = id is null ? null : services.GetValueOrDefault(id);
        error = service is null ? "Service not found" : null;
        return service is not null;
    }

    private static bool Environment(JsonNode? id, out string? error)
    {
        error = id is null || id.GetValue<string>() == EnvironmentId ? null : "Environment not found";
        return error is null;
    }

    /// <summary>A succeeded deployment of a service put to sleep (<see cref="Sleep"/>) reads SLEEPING, as on Railway.</summary>
    private string StatusOf(SimService service, SimDeployment deployment) =>
        Status(deployment) is "SUCCESS" && service.Asleep ? "SLEEPING" : Status(deployment);

    /// <summary>
    /// What Railway does to an idle service with application sleeping on: its deployment reads SLEEPING until its next
    /// request (<see cref="Wake"/>). Refused, as Railway would never do it, for a service without sleepApplication.
    /// </summary>
    public void Sleep(string name)
    {
        lock (gate)
        {
            var service = services.Values.Single(s => s.Name == name);
            service.Asleep = service.SleepApplication == true
                ? true
                : throw new InvalidOperationException($"{name} has sleepApplication {service.SleepApplication?.ToString() ?? "unset"}: Railway does not put it to sleep.");
        }
    }

    /// <summary>The next request to a sleeping service wakes it.</summary>
    public void Wake(string name)
    {
        lock (gate)
        {
            services.Values.Single(s => s.Name == name).Asleep = false;
        }
    }

    private string Status(SimDeployment deployment)
    {
        var age = DateTimeOffset.UtcNow - deployment.CreatedAt;
        var duration = deployment.Duration;
        return age < duration / 4 ? "INITIALIZING" : age < duration / 2 ? "BUILDING" : age < duration ? "DEPLOYING" : deployment.Outcome;
    }

    private static IEnumerable<string> Logs(string kind, SimDeployment deployment) => kind == "buildLogs"
        ? ["Pulling image", "Image pulled"]
        : deployment.Outcome == "SUCCESS" ? ["Now listening on: http://0.0.0.0:8080"] : ["Unhandled exception: DATABASE_URL is not set: the runtime is configured by the SetupClaw control plane.", "Process exited with code 134"];

    private static JsonObject Domain(SimService service, string domain) => new()
    {
        ["id"] = "dom-" + service.Id[..8], ["domain"] = domain, ["suffix"] = "up.railway.app", ["serviceId"] = service.Id,
        ["environmentId"] = EnvironmentId, ["syncStatus"] = "CREATING",
    };

    private static JsonObject Edges(IEnumerable<JsonNode> nodes) => new()
    {
        ["edges"] = new JsonArray([.. nodes.Select(n => new JsonObject { ["node"] = n })]),
        ["pageInfo"] = new JsonObject { ["hasNextPage"] = false, ["endCursor"] = null },
    };

    private static JsonObject Message(string message) => new() { ["message"] = message };

    /// <summary>Arguments with variables substituted.</summary>
    private static JsonObject Arguments(GraphQLField field, JsonObject variables)
    {
        var result = new JsonObject();
        foreach (var argument in field.Arguments?.Items ?? [])
        {
            result[argument.Name.StringValue] = Value(argument.Value, variables);
        }

        return result;
    }

    private static JsonNode? Value(GraphQLValue value, JsonObject variables) => value switch
    {
        GraphQLVariable v => variables[v.Name.StringValue]?.DeepClone(),
        GraphQLStringValue s => JsonValue.Create(new string(s.Value.Span)),
        GraphQLIntValue i => JsonValue.Create(long.Parse(i.Value.Span, CultureInfo.InvariantCulture)),
        GraphQLFloatValue f => JsonValue.Create(double.Parse(f.Value.Span, CultureInfo.InvariantCulture)),
        GraphQLBooleanValue b => JsonValue.Create(b.BoolValue),
        GraphQLEnumValue e => JsonValue.Create(e.Name.StringValue),
        GraphQLObjectValue o => new JsonObject((o.Fields ?? []).Select(f => KeyValuePair.Create(f.Name.StringValue, Value(f.Value, variables)))),
        GraphQLListValue l => new JsonArray([.. (l.Values ?? []).Select(x => Value(x, variables))]),
        _ => null,
    };

    /// <summary>Only what the selection set asked for, under its aliases: the answer a GraphQL server gives.</summary>
    private static JsonNode? Project(JsonNode? value, GraphQLSelectionSet selection) => value switch
    {
        JsonArray array => new JsonArray([.. array.Select(item => Project(item, selection))]),
        JsonObject source => new JsonObject(selection.Selections.OfType<GraphQLField>().Select(f => KeyValuePair.Create(
            (f.Alias?.Name ?? f.Name).StringValue,
            f.SelectionSet is null ? source[f.Name.StringValue]?.DeepClone() : Project(source[f.Name.StringValue], f.SelectionSet)))),
        _ => value?.DeepClone(),
    };

    private static async Task ReplyAsync(HttpContext context, int status, JsonObject body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        if (!context.Response.Headers.ContainsKey("X-RateLimit-Limit"))
        {
            context.Response.Headers["X-RateLimit-Limit"] = "10000";
            context.Response.Headers["X-RateLimit-Remaining"] = "9999";
        }
        await context.Response.WriteAsync(body.ToJsonString());
    }

    private sealed record SimDeployment(string Id, string ServiceId, DateTimeOffset CreatedAt, string Outcome, TimeSpan Duration);

    private sealed class SimService(string id, string name)
    {
        public string Id { get; } = id;

        public string Name { get; } = name;

        public Dictionary<string, string> Variables { get; } = [];

        public string? Image { get; set; }

        public string? Repo { get; set; }

        public string? HealthcheckPath { get; set; }

        public string? Domain { get; set; }

        public DateTimeOffset DomainReadyAt { get; set; }

        public double? VCpus { get; set; }

        public bool? SleepApplication { get; set; }

        public bool Asleep { get; set; }

        public bool SkippedDeploys { get; set; }

        public JsonObject View() => new()
        {
            ["id"] = Id, ["name"] = Name, ["projectId"] = ProjectId, ["healthcheckPath"] = HealthcheckPath, ["image"] = Image,
            ["vCPUs"] = VCpus, ["sleepApplication"] = SleepApplication, ["variables"] = new JsonObject([.. Variables.Select(v => KeyValuePair.Create(v.Key, (JsonNode?)v.Value))]),
        };
    }
}

using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace SetupClaw.Tests.Simulators;

/// <summary>
/// Neon API v2 as SetupClaw uses it, with state: branches (copy-on-write children of the default branch, inheriting
/// its role and database), read-write endpoints, roles with passwords, databases, and operations that finish after a
/// while (writes during them get 423). Duplicate names 409, a branch cap 422 BRANCHES_LIMIT_EXCEEDED, unknown
/// deletes 204. Every request is checked against tests/contracts/neon/openapi-v2.yaml first.
/// </summary>
public sealed class NeonSimulator : SimulatorHost
{
    public const string ProjectId = "autumn-disk-484331";

    /// <summary>The empty template branch customer branches are created from (<c>Providers:Neon:ParentBranchId</c>).</summary>
    public const string TemplateBranchId = "br-template-000002";
    private readonly object gate = new();
    private readonly List<SimBranch> branches = [];
    private readonly Dictionary<string, SimOperation> operations = [];
    private int sequence;

    private NeonSimulator(string apiKey)
    {
        ApiKey = apiKey;
        branches.Add(new SimBranch("br-main-000001", "main", null, "ep-main-000001") { Roles = { ["neondb_owner"] = "parentpw" }, Databases = { "neondb" } });
        branches.Add(new SimBranch(TemplateBranchId, "template", "br-main-000001", null));
    }

    public string ApiKey { get; }

    /// <summary>The base URL a client is configured with (the real one is https://console.neon.tech/api/v2).</summary>
    public Uri ApiUrl => new(BaseUrl, "/api/v2/");

    public int MaxBranches { get; set; } = 5_000;

    /// <summary>How long an operation takes; writes to the project meanwhile are refused with 423.</summary>
    public TimeSpan OperationDuration { get; set; } = TimeSpan.FromMilliseconds(40);

    /// <summary>How long an operation of this action takes instead (null: <see cref="OperationDuration"/>).</summary>
    public Func<string, TimeSpan?>? OperationDurationOf { get; set; }

    /// <summary>Neon's latencies: every API call, and each operation by its action.</summary>
    public void UseLatency(SimulatedLatency latency, int seed = 11)
    {
        ArgumentNullException.ThrowIfNull(latency);
        var random = new Random(seed);
        ResponseTime = (_, _, _) => latency.NeonApi.Sample(random);
        OperationDurationOf = action => (action switch
        {
            "create_branch" => latency.NeonCreateBranch,
            "start_compute" => latency.NeonStartCompute,
            _ => latency.NeonOther,
        }).Sample(random);
    }

    /// <summary>A route with its ids taken out: <c>POST /api/v2/projects/{id}/branches/{id}/roles</c>.</summary>
    protected override string OperationOf(string method, string path, string body) =>
        method + " " + System.Text.RegularExpressions.Regex.Replace(path, @"(?<=/(projects|branches|operations|endpoints|roles|databases)/)[^/]+", "{id}");

    /// <summary>When set, operations of this action end <c>failed</c>.</summary>
    public string? FailOperationsOf { get; set; }

    /// <summary>Customer branches (everything but the default branch), by name.</summary>
    public IReadOnlyList<string> BranchNames
    {
        get
        {
            lock (gate)
            {
                return [.. branches.Where(b => !IsPlatform(b)).Select(b => b.Name)];
            }
        }
    }

    /// <summary>The read-write endpoint of the branch named so, as Neon shows it (null: no such branch).</summary>
    public JsonObject? EndpointOf(string branchName)
    {
        lock (gate)
        {
            return branches.FirstOrDefault(b => b.Name == branchName) is { EndpointId: not null } branch ? EndpointView(branch) : null;
        }
    }

    /// <summary>A branch (with its endpoint) that is simply there, as one left by a crashed run elsewhere would be.</summary>
    /// <param name="annotation">The branch's annotation (an installation tag, say).</param>
    public void AddBranch(string name, IReadOnlyDictionary<string, string>? annotation = null)
    {
        lock (gate)
        {
            var branch = new SimBranch($"br-{Next()}", name, TemplateBranchId, $"ep-{Next()}");
            foreach (var (key, value) in annotation ?? new Dictionary<string, string>())
            {
                branch.Annotation[key] = value;
            }

            branches.Add(branch);
        }
    }

    public static async Task<NeonSimulator> StartAsync(string apiKey = "neon-test-key")
    {
        var simulator = new NeonSimulator(apiKey);
        await simulator.StartServerAsync();
        return simulator;
    }

    protected override async Task LockedAsync(HttpContext context) =>
        await ReplyAsync(context, 423, Error("project already has running conflicting operations, scheduling of new ones is prohibited"));

    protected override async Task HandleAsync(HttpContext context, string body)
    {
        context.Response.Headers["x-neon-ret-request-id"] = Guid.NewGuid().ToString();
        var method = context.Request.Method;
        var path = context.Request.Path.Value ?? "";
        if (!path.StartsWith("/api/v2/", StringComparison.Ordinal))
        {
            await ReplyAsync(context, 404, Error("not found"));
            return;
        }

        path = path[7..];
        JsonNode? json = null;
        if (body.Length > 0)
        {
            try
            {
                json = JsonNode.Parse(body);
            }
            catch (JsonException)
            {
                Violations.Enqueue($"{method} {path}: body is not JSON");
                await ReplyAsync(context, 400, Error("invalid request: body is not JSON"));
                return;
            }
        }

        var query = context.Request.Query.ToDictionary(q => q.Key, q => q.Value.ToString());
        var violations = OpenApiContract.Neon.Validate(method, path, query, json);
        if (violations.Count > 0)
        {
            foreach (var violation in violations)
            {
                Violations.Enqueue(violation);
            }

            await ReplyAsync(context, 400, Error("invalid request: " + string.Join("; ", violations)));
            return;
        }

        if (context.Request.Headers.Authorization.ToString() != $"Bearer {ApiKey}")
        {
            await ReplyAsync(context, 401, Error("authentication required"));
            return;
        }

        var (status, reply) = Route(method, path, query, json);
        await ReplyAsync(context, status, reply);
    }

    private (int, JsonNode?) Route(string method, string path, Dictionary<string, string> query, JsonNode? body)
    {
        var segments = path.Trim('/').Split('/');
        if (segments.Length < 2 || segments[0] != "projects" || segments[1] != ProjectId)
        {
            return (404, Error("project not found"));
        }

        lock (gate)
        {
            return (method, segments.Length, segments.ElementAtOrDefault(2), segments.ElementAtOrDefault(4)) switch
            {
                ("GET", 2, _, _) => (200, new JsonObject { ["project"] = new JsonObject { ["id"] = ProjectId, ["name"] = "setupclaw", ["owner"] = new JsonObject { ["branches_limit"] = MaxBranches } } }),
                ("GET", 3, "branches", _) => (200, ListBranches(query.GetValueOrDefault("search") ?? "")),
                ("POST", 3, "branches", _) => CreateBranch(body),
                ("DELETE", 4, "branches", _) => DeleteBranch(segments[3]),
                ("POST", 5, "branches", "roles") => CreateRole(segments[3], body!["role"]!["name"]!.GetValue<string>()),
                ("POST", 7, "branches", "roles") when segments[6] == "reset_password" => ResetPassword(segments[3], segments[5]),
                ("POST", 5, "branches", "databases") => CreateDatabase(segments[3], body!["database"]!["name"]!.GetValue<string>(), body["database"]!["owner_name"]!.GetValue<string>()),
                ("GET", 4, "operations", _) => operations.TryGetValue(segments[3], out var operation)
                    ? (200, new JsonObject { ["operation"] = View(operation) })
                    : (404, Error("operation not found")),
                ("GET", 3, "connection_uri", _) => ConnectionUri(query),
                ("GET", 5, "branches", "endpoints") => ListEndpoints(segments[3]),
                ("GET", 5, "branches", "databases") => Named(segments[3], "databases", b => b.Databases),
                ("GET", 5, "branches", "roles") => Named(segments[3], "roles", b => b.Roles.Keys),
                ("PATCH", 4, "endpoints", _) => UpdateEndpoint(segments[3], body),
                _ => (404, Error($"{method} {path} is not simulated")),
            };
        }
    }

    /// <summary>Puts a database and its owner on the template branch, as an operator who forgot to empty it would.</summary>
    public void FillTemplate()
    {
        lock (gate)
        {
            var template = branches.Single(b => b.Id == TemplateBranchId);
            template.Roles["neondb_owner"] = "templatepw";
            template.Databases.Add("neondb");
        }
    }

    /// <summary>A branch's parent, and the roles and databases it holds (sorted).</summary>
    public (string? Parent, string[] Roles, string[] Databases) Lineage(string name)
    {
        lock (gate)
        {
            var branch = branches.Single(b => b.Name == name);
            return (branch.ParentId, [.. branch.Roles.Keys.Order(StringComparer.Ordinal)], [.. branch.Databases.Order(StringComparer.Ordinal)]);
        }
    }

    private static bool IsPlatform(SimBranch branch) => branch.Name is "main" or "template";

    private (int, JsonNode?) Named(string branchId, string kind, Func<SimBranch, IEnumerable<string>> names)
    {
        if (branches.FirstOrDefault(b => b.Id == branchId) is not { } branch)
        {
            return (404, Error("branch not found"));
        }

        var now = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture);
        var items = names(branch).Select(n => (JsonNode)(kind == "databases"
            ? new JsonObject { ["id"] = Math.Abs(n.GetHashCode(StringComparison.Ordinal)), ["branch_id"] = branch.Id, ["name"] = n, ["owner_name"] = branch.Roles.Keys.FirstOrDefault() ?? "neondb_owner", ["created_at"] = now, ["updated_at"] = now }
            : new JsonObject { ["branch_id"] = branch.Id, ["name"] = n, ["protected"] = false, ["created_at"] = now, ["updated_at"] = now }));
        return (200, new JsonObject { [kind] = new JsonArray([.. items]) });
    }

    private JsonObject ListBranches(string search) => new()
    {
        ["branches"] = new JsonArray([.. branches.Where(b => b.Name.Contains(search, StringComparison.Ordinal) || b.Id.Contains(search, StringComparison.Ordinal)).Select(View)]),
        ["annotations"] = new JsonObject([.. branches.Where(b => b.Annotation.Count > 0).Select(b => KeyValuePair.Create(b.Id, (JsonNode?)new JsonObject
        {
            ["object"] = new JsonObject { ["type"] = "console/branch", ["id"] = b.Id },
            ["value"] = new JsonObject([.. b.Annotation.Select(a => KeyValuePair.Create(a.Key, (JsonNode?)a.Value))]),
        }))]),
        ["pagination"] = new JsonObject { ["sort_by"] = "updated_at", ["sort_order"] = "desc" },
    };

    private (int, JsonNode?) CreateBranch(JsonNode? body)
    {
        if (Busy())
        {
            return (423, Error("project already has running conflicting operations, scheduling of new ones is prohibited"));
        }

        var name = body?["branch"]?["name"]?.GetValue<string>() ?? $"br-{Next()}";
        if (branches.Any(b => b.Name == name))
        {
            return (409, Error($"branch with the provided name \"{name}\" already exists"));
        }

        if (branches.Count >= MaxBranches)
        {
            return (422, Error($"branches limit exceeded: {MaxBranches}", "BRANCHES_LIMIT_EXCEEDED"));
        }

        // Neon's default without parent_id is the project's default branch (with its data and roles).
        var parentId = body?["branch"]?["parent_id"]?.GetValue<string>() ?? branches[0].Id;
        if (branches.FirstOrDefault(b => b.Id == parentId) is not { } parent)
        {
            return (404, Error($"branch {parentId} not found"));
        }

        var wantsEndpoint = body?["endpoints"]?.AsArray().Any(e => e!["type"]!.GetValue<string>() == "read_write") == true;
        var branch = new SimBranch($"br-{Next()}", name, parent.Id, wantsEndpoint ? $"ep-{Next()}" : null);
        var endpointSpec = body?["endpoints"]?.AsArray().FirstOrDefault();
        branch.MinCu = endpointSpec?["autoscaling_limit_min_cu"]?.GetValue<double>() ?? 0.25;
        branch.MaxCu = endpointSpec?["autoscaling_limit_max_cu"]?.GetValue<double>() ?? 0.25;
        branch.SuspendTimeoutSeconds = endpointSpec?["suspend_timeout_seconds"]?.GetValue<long>() ?? 0;
        if (branch.SuspendTimeoutSeconds is < -1 or > 604_800)
        {
            return (400, Error("suspend_timeout_seconds must be between -1 and 604800"));
        }
        foreach (var (role, password) in parent.Roles)
        {
            branch.Roles[role] = password;
        }

        branch.Databases.UnionWith(parent.Databases);
        foreach (var (key, value) in body?["annotation_value"]?.AsObject() ?? [])
        {
            branch.Annotation[key] = value!.GetValue<string>();
        }

        branches.Add(branch);
        var ops = new JsonArray(View(NewOperation("create_branch", branch.Id)));
        if (branch.EndpointId is not null)
        {
            ops.Add(View(NewOperation("start_compute", branch.Id)));
        }

        return (201, new JsonObject
        {
            ["branch"] = View(branch),
            ["endpoints"] = branch.EndpointId is null ? new JsonArray() : new JsonArray(new JsonObject
            {
                ["id"] = branch.EndpointId, ["branch_id"] = branch.Id, ["type"] = "read_write", ["host"] = Host(branch, pooled: false),
                ["current_state"] = "init", ["pending_state"] = "active",
            }),
            ["operations"] = ops,
            ["roles"] = new JsonArray([.. branch.Roles.Keys.Select(r => new JsonObject { ["branch_id"] = branch.Id, ["name"] = r })]),
            ["databases"] = new JsonArray([.. branch.Databases.Select(d => new JsonObject { ["branch_id"] = branch.Id, ["name"] = d, ["owner_name"] = "neondb_owner" })]),
        });
    }

    private (int, JsonNode?) DeleteBranch(string id)
    {
        var branch = branches.FirstOrDefault(b => b.Id == id);
        if (branch is null)
        {
            return (204, null);
        }

        if (Busy())
        {
            return (423, Error("project already has running conflicting operations, scheduling of new ones is prohibited"));
        }

        branches.Remove(branch);
        return (200, new JsonObject
        {
            ["branch"] = View(branch),
            ["operations"] = new JsonArray(View(NewOperation("suspend_compute", branch.Id)), View(NewOperation("delete_timeline", branch.Id))),
        });
    }

    private (int, JsonNode?) CreateRole(string branchId, string role)
    {
        if (branches.FirstOrDefault(b => b.Id == branchId) is not { } branch)
        {
            return (404, Error("branch not found"));
        }

        if (Busy())
        {
            return (423, Error("project already has running conflicting operations, scheduling of new ones is prohibited"));
        }

        if (branch.Roles.ContainsKey(role))
        {
            return (409, Error($"role \"{role}\" already exists"));
        }

        branch.Roles[role] = Password();
        return (201, RoleReply(branch, role));
    }

    private (int, JsonNode?) ResetPassword(string branchId, string role)
    {
        if (branches.FirstOrDefault(b => b.Id == branchId) is not { } branch || !branch.Roles.ContainsKey(role))
        {
            return (404, Error("role not found"));
        }

        if (Busy())
        {
            return (423, Error("project already has running conflicting operations, scheduling of new ones is prohibited"));
        }

        branch.Roles[role] = Password();
        return (200, RoleReply(branch, role));
    }

    private (int, JsonNode?) CreateDatabase(string branchId, string name, string owner)
    {
        if (branches.FirstOrDefault(b => b.Id == branchId) is not { } branch)
        {
            return (404, Error("branch not found"));
        }

        if (!branch.Roles.ContainsKey(owner))
        {
            return (404, Error($"role \"{owner}\" not found"));
        }

        if (Busy())
        {
            return (423, Error("project already has running conflicting operations, scheduling of new ones is prohibited"));
        }

        if (!branch.Databases.Add(name))
        {
            return (409, Error($"database \"{name}\" already exists"));
        }

        return (201, new JsonObject
        {
            ["database"] = new JsonObject { ["id"] = Next(), ["branch_id"] = branch.Id, ["name"] = name, ["owner_name"] = owner },
            ["operations"] = new JsonArray(View(NewOperation("apply_config", branch.Id))),
        });
    }

    /// <summary>The autoscaling range of each customer branch's read-write endpoint, by branch name.</summary>
    public IReadOnlyDictionary<string, (double Min, double Max)> ComputeSizes
    {
        get
        {
            lock (gate)
            {
                return branches.Where(b => !IsPlatform(b) && b.EndpointId is not null).ToDictionary(b => b.Name, b => (b.MinCu, b.MaxCu));
            }
        }
    }

    private (int, JsonNode?) ListEndpoints(string branchId)
    {
        if (branches.FirstOrDefault(b => b.Id == branchId) is not { } branch)
        {
            return (404, Error("branch not found"));
        }

        return (200, new JsonObject
        {
            ["endpoints"] = branch.EndpointId is null ? new JsonArray() : new JsonArray(EndpointView(branch)),
        });
    }

    private (int, JsonNode?) UpdateEndpoint(string endpointId, JsonNode? body)
    {
        if (branches.FirstOrDefault(b => b.EndpointId == endpointId) is not { } branch)
        {
            return (404, Error("endpoint not found"));
        }

        if (Busy())
        {
            return (423, Error("project already has running conflicting operations, scheduling of new ones is prohibited"));
        }

        var min = body?["endpoint"]?["autoscaling_limit_min_cu"]?.GetValue<double>() ?? branch.MinCu;
        var max = body?["endpoint"]?["autoscaling_limit_max_cu"]?.GetValue<double>() ?? branch.MaxCu;
        var suspend = body?["endpoint"]?["suspend_timeout_seconds"]?.GetValue<long>() ?? branch.SuspendTimeoutSeconds;
        if (suspend is < -1 or > 604_800)
        {
            return (400, Error("suspend_timeout_seconds must be between -1 and 604800"));
        }
        if (min > max)
        {
            return (400, Error("autoscaling_limit_min_cu must not exceed autoscaling_limit_max_cu"));
        }

        (branch.MinCu, branch.MaxCu, branch.SuspendTimeoutSeconds) = (min, max, suspend);
        return (200, new JsonObject
        {
            ["endpoint"] = EndpointView(branch),
            ["operations"] = new JsonArray(View(NewOperation("apply_config", branch.Id))),
        });
    }

    private static JsonObject EndpointView(SimBranch branch) => new()
    {
        ["id"] = branch.EndpointId, ["project_id"] = ProjectId, ["branch_id"] = branch.Id, ["type"] = "read_write",
        ["host"] = Host(branch, pooled: false), ["autoscaling_limit_min_cu"] = branch.MinCu, ["autoscaling_limit_max_cu"] = branch.MaxCu,
        ["suspend_timeout_seconds"] = branch.SuspendTimeoutSeconds, ["current_state"] = "active",
    };

    private (int, JsonNode?) ConnectionUri(Dictionary<string, string> query)
    {
        var branch = branches.FirstOrDefault(b => b.Id == query.GetValueOrDefault("branch_id"));
        var role = query["role_name"];
        var database = query["database_name"];
        if (branch?.EndpointId is null || !branch.Roles.TryGetValue(role, out var password) || !branch.Databases.Contains(database))
        {
            return (404, Error("branch, endpoint, role or database not found"));
        }

        var pooled = query.GetValueOrDefault("pooled") == "true";
        return (200, new JsonObject { ["uri"] = $"postgresql://{role}:{password}@{Host(branch, pooled)}/{database}?sslmode=require" });
    }

    private JsonObject RoleReply(SimBranch branch, string role) => new()
    {
        ["role"] = new JsonObject { ["branch_id"] = branch.Id, ["name"] = role, ["password"] = branch.Roles[role], ["protected"] = false },
        ["operations"] = new JsonArray(View(NewOperation("apply_config", branch.Id))),
    };

    private SimOperation NewOperation(string action, string branchId)
    {
        var operation = new SimOperation(Guid.NewGuid().ToString(), action, branchId, DateTimeOffset.UtcNow, FailOperationsOf == action,
            OperationDurationOf?.Invoke(action) ?? OperationDuration);
        operations[operation.Id] = operation;
        return operation;
    }

    private bool Busy() => operations.Values.Any(o => Status(o) is "scheduling" or "running");

    private string Status(SimOperation operation)
    {
        var age = DateTimeOffset.UtcNow - operation.CreatedAt;
        return age < operation.Duration / 2 ? "scheduling" : age < operation.Duration ? "running" : operation.Fails ? "failed" : "finished";
    }

    private JsonObject View(SimOperation operation) => new()
    {
        ["id"] = operation.Id, ["project_id"] = ProjectId, ["branch_id"] = operation.BranchId, ["action"] = operation.Action,
        ["status"] = Status(operation), ["failures_count"] = 0, ["total_duration_ms"] = 0,
        ["error"] = operation.Fails && Status(operation) == "failed" ? "simulated failure" : null,
    };

    private static JsonObject View(SimBranch branch) => new()
    {
        ["id"] = branch.Id, ["project_id"] = ProjectId, ["parent_id"] = branch.ParentId, ["name"] = branch.Name,
        ["current_state"] = "ready", ["default"] = branch.ParentId is null, ["protected"] = false,
    };

    private static string Host(SimBranch branch, bool pooled) => $"{branch.EndpointId}{(pooled ? "-pooler" : "")}.eu-central-1.aws.neon.tech";

    private static JsonObject Error(string message, string code = "") => new() { ["code"] = code, ["message"] = message };

    private string Next() => Interlocked.Increment(ref sequence).ToString("000000", CultureInfo.InvariantCulture);

    private static string Password() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));

    private static async Task ReplyAsync(HttpContext context, int status, JsonNode? body)
    {
        context.Response.StatusCode = status;
        if (body is not null)
        {
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(body.ToJsonString());
        }
    }

    private sealed record SimOperation(string Id, string Action, string BranchId, DateTimeOffset CreatedAt, bool Fails, TimeSpan Duration);

    private sealed class SimBranch(string id, string name, string? parentId, string? endpointId)
    {
        public string Id { get; } = id;

        public string Name { get; } = name;

        public string? ParentId { get; } = parentId;

        public string? EndpointId { get; } = endpointId;

        public Dictionary<string, string> Roles { get; } = [];

        public HashSet<string> Databases { get; } = [];

        public double MinCu { get; set; } = 0.25;

        public double MaxCu { get; set; } = 0.25;

        public long SuspendTimeoutSeconds { get; set; }

        public Dictionary<string, string> Annotation { get; } = [];
    }
}

using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace SetupClaw.Providers.Railway;

/// <summary>
/// A customer's runtime as a Railway service <c>claw-cus-{hex}</c> in the configured project and environment:
/// created from the runtime image (or repo + branch), its variables set in one upsert with <c>skipDeploys</c>, its health
/// check path set, a Railway domain created or reused (access URL <c>https://</c> + domain), then deployed once with
/// <c>serviceInstanceDeployV2</c>. Lookups by name before every create make a re-run adopt what a crashed run made.
/// </summary>
internal sealed partial class RailwayComputeProvider(
    RailwayClient railway, RailwayEnvironment environmentCache, IOptions<RailwayOptions> options, Plans.PlanCatalog plans, ILogger<RailwayComputeProvider> logger)
    : IComputeProvider
{
    private readonly RailwayOptions settings = options.Value;

    private string Project => settings.ProjectId!;

    public async Task<ServiceResource> CreateServiceAsync(ServiceRequest request, CancellationToken cancellationToken)
    {
        var environment = await EnvironmentAsync(cancellationToken);
        var name = ResourceNames.Service(request.OwnerId);
        var serviceId = request.ServiceId ?? await FindAsync(name, cancellationToken);
        var variables = new Dictionary<string, string>(request.Variables, StringComparer.Ordinal);
        if (request.InstallationId is { } installation)
        {
            variables[InstallationTag.Variable] = InstallationTag.Checked(installation);
        }

        var created = serviceId is null;
        if (serviceId is null)
        {
            // Created with its variables (one call, not two: Railway counts calls per hour). Without a source it does
            // not deploy yet; a repo service may build at once, so it gets its branch with them.
            var input = new JsonObject { ["projectId"] = Project, ["environmentId"] = environment, ["name"] = name, ["variables"] = Variables(variables) };
            if (settings.Repo is { Length: > 0 } repo)
            {
                input["source"] = new JsonObject { ["repo"] = repo };
                input["branch"] = settings.Branch;
            }

            serviceId = await CreateOrAdoptAsync(
                async () => (await railway.ExecuteAsync("ServiceCreate", new { input }, cancellationToken))["serviceCreate"]!["id"]!.GetValue<string>(),
                () => FindAsync(name, cancellationToken));
            LogCreated(logger, name, serviceId);
        }
        else
        {
            LogAdopted(logger, name, serviceId);
        }

        if (!created)
        {
            await ReplaceVariablesAsync(environment, serviceId, variables, cancellationToken);
        }

        var instance = new JsonObject
        {
            ["healthcheckPath"] = settings.HealthCheckPath,
            ["healthcheckTimeout"] = 120,
            ["numReplicas"] = 1,
            ["restartPolicyType"] = "ON_FAILURE",
            ["restartPolicyMaxRetries"] = 5,
            // An idle service stops and wakes on its next request, where the plan allows it.
            ["sleepApplication"] = plans.IdleOf(request.Plan).Sleep,
        };
        if (settings.Image is { Length: > 0 } image)
        {
            instance["source"] = new JsonObject { ["image"] = image };
        }

        await railway.ExecuteAsync("ServiceInstanceUpdate", new { serviceId, environmentId = environment, input = instance }, cancellationToken);
        await railway.ExecuteAsync("ServiceInstanceLimitsUpdate", new
        {
            input = new { environmentId = environment, serviceId, vCPUs = request.Plan.Vcpus, memoryGB = request.Plan.MemoryMb / 1024.0 },
        }, cancellationToken);

        // A service just created has no domain yet: no need to look.
        var domain = (created ? null : await DomainAsync(environment, serviceId, cancellationToken)) ?? await CreateOrAdoptAsync(
            async () => (await railway.ExecuteAsync("ServiceDomainCreate", new { input = new { environmentId = environment, serviceId } }, cancellationToken))
                ["serviceDomainCreate"]!["domain"]!.GetValue<string>(),
            () => DomainAsync(environment, serviceId, cancellationToken));

        return new ServiceResource(serviceId, "https://" + domain);
    }

    /// <summary>An adopted service's variables, replaced whole (<c>skipDeploys</c>: the saga deploys once, itself).</summary>
    private async Task ReplaceVariablesAsync(string environment, string serviceId, IReadOnlyDictionary<string, string> variables, CancellationToken cancellationToken)
    {
        await railway.ExecuteAsync("VariableCollectionUpsert", new
        {
            input = new JsonObject
            {
                ["projectId"] = Project,
                ["environmentId"] = environment,
                ["serviceId"] = serviceId,
                ["variables"] = Variables(variables),
                ["replace"] = true,
                ["skipDeploys"] = true,
            },
        }, cancellationToken);
    }

    public async Task<string> DeployAsync(string serviceId, CancellationToken cancellationToken)
    {
        var deployed = await railway.ExecuteAsync("ServiceInstanceDeploy", new { serviceId, environmentId = await EnvironmentAsync(cancellationToken) }, cancellationToken);
        return deployed["serviceInstanceDeployV2"]!.GetValue<string>();
    }

    /// <summary>Every status in Railway's schema, mapped; a failure carries the tail of the build and deployment logs.</summary>
    public async Task<DeploymentState> GetDeploymentAsync(string serviceId, string deploymentId, CancellationToken cancellationToken)
    {
        var deployment = await railway.ExecuteAsync("Deployment", new { id = deploymentId }, cancellationToken);
        var status = deployment["deployment"]!["status"]!.GetValue<string>();
        return status switch
        {
            "INITIALIZING" or "QUEUED" or "WAITING" or "BUILDING" or "DEPLOYING" => new DeploymentState(DeploymentPhase.InProgress),
            "SUCCESS" or "SLEEPING" => new DeploymentState(DeploymentPhase.Succeeded),
            "NEEDS_APPROVAL" => new DeploymentState(DeploymentPhase.Failed, $"Railway deployment {deploymentId} waits for approval in the Railway dashboard."),
            "REMOVED" or "REMOVING" or "SKIPPED" => new DeploymentState(DeploymentPhase.Failed, $"Railway deployment {deploymentId} was {status.ToLowerInvariant()} (superseded or cancelled)."),
            "FAILED" or "CRASHED" => new DeploymentState(DeploymentPhase.Failed,
                $"Railway deployment {deploymentId} {status.ToLowerInvariant()}. Last log lines: {await LogTailAsync(deploymentId, cancellationToken)}"),
            _ => new DeploymentState(DeploymentPhase.Failed, $"Railway deployment {deploymentId} has status {status}, which SetupClaw does not know."),
        };
    }

    public TimeSpan DeploymentWatchWindow => TimeSpan.FromSeconds(Math.Max(0, settings.DeploymentWatchSeconds));

    /// <summary>The new limits take effect with the next deployment; Railway keeps the current one serving until it is healthy.</summary>
    public async Task<bool> ResizeAsync(ResourceRef service, Plans.Plan plan, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(plan);
        var serviceId = service.ResourceId ?? await FindAsync(ResourceNames.Service(service.OwnerId), cancellationToken)
            ?? throw new PermanentProvisioningException($"Railway has no service {ResourceNames.Service(service.OwnerId)} to resize.");
        var environment = await EnvironmentAsync(cancellationToken);
        await railway.ExecuteAsync("ServiceInstanceLimitsUpdate", new
        {
            input = new { environmentId = environment, serviceId, vCPUs = plan.Vcpus, memoryGB = plan.MemoryMb / 1024.0 },
        }, cancellationToken);
        await railway.ExecuteAsync("ServiceInstanceUpdate",
            new { serviceId, environmentId = environment, input = new JsonObject { ["sleepApplication"] = plans.IdleOf(plan).Sleep } }, cancellationToken);
        return true;
    }

    /// <summary>The service's latest deployment: <c>SLEEPING</c> is an idle service Railway stopped, which its next request wakes.</summary>
    public async Task<string> StateAsync(ResourceRef service, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(service);
        var serviceId = service.ResourceId ?? await FindAsync(ResourceNames.Service(service.OwnerId), cancellationToken);
        if (serviceId is null)
        {
            return ServiceStates.Missing;
        }

        if (environmentCache.States.TryGetValue(serviceId, out var known) && DateTimeOffset.UtcNow - known.At < TimeSpan.FromSeconds(settings.StateCacheSeconds))
        {
            return known.State;
        }

        var instance = (await railway.ExecuteAsync("LatestDeployment", new { serviceId, environmentId = await EnvironmentAsync(cancellationToken) }, cancellationToken))["serviceInstance"];
        var state = instance?["latestDeployment"]?["status"]?.GetValue<string>() switch
        {
            null => ServiceStates.NotDeployed,
            "SUCCESS" => ServiceStates.Running,
            "SLEEPING" => ServiceStates.Sleeping,
            "INITIALIZING" or "QUEUED" or "WAITING" or "BUILDING" or "DEPLOYING" => ServiceStates.Deploying,
            // The latest failed, but an earlier deployment may still serve: not a verdict on the service.
            _ => ServiceStates.Unknown,
        };
        environmentCache.States[serviceId] = (state, DateTimeOffset.UtcNow);
        return state;
    }

    public async Task DeleteServiceAsync(ResourceRef service, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(service);
        // The project's services say whether it is still there ("already gone" is success, whatever Railway's wording).
        var project = await railway.ExecuteAsync("Project", new { id = Project }, cancellationToken);
        var services = project["project"]!["services"]!["edges"]!.AsArray().Select(e => e!["node"]!).ToList();
        var name = ResourceNames.Service(service.OwnerId);
        var serviceId = service.ResourceId is { } recorded
            ? services.Any(n => n["id"]!.GetValue<string>() == recorded) ? recorded : null
            : services.Where(n => n["name"]!.GetValue<string>() == name).Select(n => n["id"]!.GetValue<string>()).FirstOrDefault();
        if (serviceId is null)
        {
            return;
        }

        await railway.ExecuteAsync("ServiceDelete", new { id = serviceId }, cancellationToken);

        LogDeleted(logger, service.OwnerId, serviceId);
    }

    /// <summary>
    /// Creates something Railway cannot create idempotently (the caller has just looked and found none). When the
    /// answer is lost, the create may or may not have happened: it looks again before creating again, so a retry
    /// never makes a second one.
    /// </summary>
    private static async Task<string> CreateOrAdoptAsync(Func<Task<string>> create, Func<Task<string?>> find)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await create();
            }
            catch (HttpRequestException) when (attempt < 3)
            {
                if (await find() is { } created)
                {
                    return created;
                }
            }
        }
    }

    private async Task<string?> DomainAsync(string environment, string serviceId, CancellationToken cancellationToken)
    {
        var domains = await railway.ExecuteAsync("Domains", new { projectId = Project, environmentId = environment, serviceId }, cancellationToken);
        return domains["domains"]!["serviceDomains"]!.AsArray().Select(d => d!["domain"]!.GetValue<string>()).FirstOrDefault();
    }

    /// <summary>The project's services SetupClaw named, in one call; installation tags are read one service at a time, when asked.</summary>
    public async Task<IReadOnlyList<ProviderResource>> ListAsync(CancellationToken cancellationToken)
    {
        var project = await railway.ExecuteAsync("Project", new { id = Project }, cancellationToken);
        return [.. project["project"]!["services"]!["edges"]!.AsArray().Select(e => e!["node"]!)
            .Select(n => (Id: n["id"]!.GetValue<string>(), Owner: ResourceNames.OwnerOf(n["name"]!.GetValue<string>())))
            .Where(s => s.Owner is not null)
            .Select(s => new ProviderResource(s.Owner!, s.Id, null))];
    }

    public async Task<string?> InstallationOfAsync(string serviceId, CancellationToken cancellationToken)
    {
        var variables = await railway.ExecuteAsync("Variables",
            new { projectId = Project, environmentId = await EnvironmentAsync(cancellationToken), serviceId }, cancellationToken);
        return variables["variables"]?[InstallationTag.Variable]?.GetValue<string>();
    }

    /// <summary>The id of the project's service with this name, if there is one.</summary>
    public async Task<string?> FindAsync(string name, CancellationToken cancellationToken)
    {
        var project = await railway.ExecuteAsync("Project", new { id = Project }, cancellationToken);
        return project["project"]!["services"]!["edges"]!.AsArray()
            .Select(e => e!["node"]!)
            .Where(n => n["name"]!.GetValue<string>() == name)
            .Select(n => n["id"]!.GetValue<string>())
            .FirstOrDefault();
    }

    private async Task<string> EnvironmentAsync(CancellationToken cancellationToken)
    {
        if (environmentCache.Id is { } known)
        {
            return known;
        }

        var project = await railway.ExecuteAsync("Project", new { id = Project }, cancellationToken);
        var environments = project["project"]!["environments"]!["edges"]!.AsArray().Select(e => e!["node"]!).ToList();
        var match = environments.FirstOrDefault(e => settings.EnvironmentId is { Length: > 0 } id
            ? e["id"]!.GetValue<string>() == id
            : string.Equals(e["name"]!.GetValue<string>(), settings.EnvironmentName, StringComparison.OrdinalIgnoreCase));
        return environmentCache.Id = match?["id"]!.GetValue<string>() ?? throw new PermanentProvisioningException(
            $"Railway project {Project} has no environment {settings.EnvironmentId ?? settings.EnvironmentName}; it has: {string.Join(", ", environments.Select(e => e["name"]!.GetValue<string>()))}. Set Providers:Railway:EnvironmentName or :EnvironmentId.");
    }

    private async Task<string> LogTailAsync(string deploymentId, CancellationToken cancellationToken)
    {
        var lines = new List<string>();
        foreach (var operation in new[] { "BuildLogs", "DeploymentLogs" })
        {
            try
            {
                var logs = await railway.ExecuteAsync(operation, new { deploymentId, limit = 20 }, cancellationToken);
                lines.AddRange(logs.AsObject().First().Value!.AsArray().Select(l => l!["message"]!.GetValue<string>()));
            }
            catch (RailwayException)
            {
                // Logs are a courtesy in the failure reason; their absence must not hide the failure itself.
            }
        }

        var tail = string.Join(" | ", lines.TakeLast(10));
        return tail.Length == 0 ? "(no logs)" : tail.Length > 1500 ? tail[^1500..] : tail;
    }

    private static JsonObject Variables(IReadOnlyDictionary<string, string> variables)
    {
        var result = new JsonObject();
        foreach (var (key, value) in variables)
        {
            result[key] = value;
        }

        return result;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Railway service {Name} ({ServiceId}) created")]
    private static partial void LogCreated(ILogger logger, string name, string serviceId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Railway service {Name} ({ServiceId}) already existed: adopted")]
    private static partial void LogAdopted(ILogger logger, string name, string serviceId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Railway service {ServiceId} of {OwnerId} deleted")]
    private static partial void LogDeleted(ILogger logger, string ownerId, string serviceId);
}

/// <summary>The environment id, resolved once per process (it never changes for a configured environment).</summary>
internal sealed class RailwayEnvironment
{
    public string? Id { get; set; }

    /// <summary>Services' states as last read, each reused for <see cref="RailwayOptions.StateCacheSeconds"/>.</summary>
    public System.Collections.Concurrent.ConcurrentDictionary<string, (string State, DateTimeOffset At)> States { get; } = new(StringComparer.Ordinal);
}

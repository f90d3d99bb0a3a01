using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Refit;
using SetupClaw.Plans;

namespace SetupClaw.Providers.Neon;

/// <summary>
/// A customer's database as a Neon branch <c>cus-{hex}</c> with its own read-write compute, its own role
/// <c>claw_cus_{hex}</c> (a child branch inherits its parent's roles and passwords, so the customer gets one of their
/// own) and a database owned by that role; the connection goes through Neon's pooler. Every step looks up before it
/// creates, so a re-run adopts what a crashed run made. 423/429/5xx are retried by the HTTP pipeline
/// (<see cref="ProviderHttp"/>); what retrying cannot fix is a <see cref="PermanentProvisioningException"/>.
/// </summary>
internal sealed partial class NeonDatabaseProvider(
    INeonApi api, IOptions<NeonOptions> options, NeonWriteGate gate, PlanCatalog plans, TimeProvider clock, ILogger<NeonDatabaseProvider> logger)
    : IDatabaseProvider
{
    private readonly NeonOptions settings = options.Value;

    private string Project => settings.ProjectId!;

    public async Task<DatabaseResource> CreateAsync(DatabaseRequest request, CancellationToken cancellationToken)
    {
        var name = ResourceNames.Branch(request.OwnerId);
        var role = ResourceNames.Database(request.OwnerId);
        Branch? branch;
        string password;
        await gate.WaitAsync(cancellationToken);
        try
        {
            branch = await FindAsync(name, cancellationToken);
            if (branch is null)
            {
                branch = await CreateBranchAsync(name, request, cancellationToken);
            }
            else
            {
                LogAdopted(logger, name, branch.Id);
            }

            password = await EnsureRoleAsync(branch.Id, role, cancellationToken);
            await EnsureDatabaseAsync(branch.Id, role, cancellationToken);
        }
        finally
        {
            gate.Release();
        }

        var uri = await CallAsync(() => api.GetConnectionUriAsync(Project, branch.Id, role, role, pooled: "true", cancellationToken), "get the connection URI");
        return new DatabaseResource(branch.Id, ToConnectionString(uri.Uri, role, password));
    }

    public async Task DeleteAsync(ResourceRef resource, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(resource);
        var branchId = resource.ResourceId ?? (await FindAsync(ResourceNames.Branch(resource.OwnerId), cancellationToken))?.Id;
        if (branchId is null)
        {
            return;
        }

        using var response = await DeleteBranchAsync(branchId, cancellationToken);
        if (response.IsSuccessStatusCode || response.StatusCode == HttpStatusCode.NotFound)
        {
            LogDeleted(logger, resource.OwnerId, branchId);
            return;
        }

        throw Translate(response.StatusCode ?? HttpStatusCode.ServiceUnavailable, (response.Error as ApiException)?.Content, "delete the branch");
    }

    private async Task<IApiResponse> DeleteBranchAsync(string branchId, CancellationToken cancellationToken)
    {
        await gate.WaitAsync(cancellationToken);
        try
        {
            return await api.DeleteBranchAsync(Project, branchId, cancellationToken);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// The read-write endpoint follows the plan: autoscaling from 0.25 CU up to the plan's vCPUs, and suspended after
    /// the plan's idle seconds (<see cref="PlanCatalog.IdleOf"/>; -1 never).
    /// </summary>
    public async Task ResizeAsync(ResourceRef resource, string planName, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(resource);
        var plan = PlanCatalog.Get(planName);
        var branchId = resource.ResourceId ?? (await FindAsync(ResourceNames.Branch(resource.OwnerId), cancellationToken))?.Id
            ?? throw new PermanentProvisioningException($"Neon has no branch {ResourceNames.Branch(resource.OwnerId)} to resize.");
        var endpoints = await CallAsync(() => api.ListBranchEndpointsAsync(Project, branchId, cancellationToken), "list the branch's endpoints");
        var endpoint = endpoints.Endpoints.FirstOrDefault(e => e.Type == "read_write")
            ?? throw new PermanentProvisioningException($"Neon branch {branchId} has no read-write endpoint to resize.");
        // Neon reports its default suspend (300 s) as 0.
        var suspend = endpoint.SuspendTimeoutSeconds == 0 ? NeonDefaultSuspend : endpoint.SuspendTimeoutSeconds;
        if (endpoint.AutoscalingLimitMinCu == MinCu && endpoint.AutoscalingLimitMaxCu == MaxCu(plan) && suspend == plans.IdleOf(plan).DatabaseSuspendSeconds)
        {
            return;
        }

        await gate.WaitAsync(cancellationToken);
        try
        {
            var updated = await CallAsync(() => api.UpdateEndpointAsync(Project, endpoint.Id,
                new EndpointUpdateRequest(new EndpointUpdateRequest.EndpointLimits(MinCu, MaxCu(plan), plans.IdleOf(plan).DatabaseSuspendSeconds)), cancellationToken), "resize the endpoint");
            await WaitAsync(updated.Operations, cancellationToken);
        }
        finally
        {
            gate.Release();
        }

        LogResized(logger, branchId, endpoint.Id, MaxCu(plan));
    }

    public async Task<IReadOnlyList<ProviderResource>> ListAsync(CancellationToken cancellationToken)
    {
        var found = await CallAsync(() => api.ListBranchesAsync(Project, null, cancellationToken), "list branches");
        return [.. found.Branches
            .Select(b => (Branch: b, Owner: ResourceNames.OwnerOf(b.Name)))
            .Where(b => b.Owner is not null)
            .Select(b => new ProviderResource(b.Owner!, b.Branch.Id,
                found.Annotations?.GetValueOrDefault(b.Branch.Id)?.Value?.GetValueOrDefault(InstallationTag.Key)))];
    }

    private const double MinCu = 0.25;

    private static double MaxCu(Plan plan) => Math.Max(MinCu, plan.Vcpus);

    private const long NeonDefaultSuspend = 300;

    /// <summary>
    /// The plan's suspend, or null (not sent) when it is Neon's default: every Neon plan accepts that, while a custom
    /// threshold or -1 (never) needs a Neon plan that allows it (the runbook says which).
    /// </summary>
    private long? SuspendOf(Plan plan) => plans.IdleOf(plan).DatabaseSuspendSeconds is var seconds && seconds == NeonDefaultSuspend ? null : seconds;

    /// <summary>Neon's search is a substring match on name or id: the exact name decides.</summary>
    public async Task<Branch?> FindAsync(string name, CancellationToken cancellationToken)
    {
        var found = await CallAsync(() => api.ListBranchesAsync(Project, name, cancellationToken), "list branches");
        return found.Branches.FirstOrDefault(b => string.Equals(b.Name, name, StringComparison.Ordinal));
    }

    private async Task<Branch> CreateBranchAsync(string name, DatabaseRequest request, CancellationToken cancellationToken)
    {
        var plan = PlanCatalog.Get(request.PlanName);
        var body = new BranchCreateRequest(
            new BranchCreateRequest.BranchSpec(name, settings.ParentBranchId),
            [new BranchCreateRequest.EndpointSpec("read_write", MinCu, MaxCu(plan), SuspendOf(plan))],
            Annotations(request));
        try
        {
            var created = await api.CreateBranchAsync(Project, body, cancellationToken);
            await WaitAsync(created.Operations, cancellationToken);
            LogCreated(logger, name, created.Branch.Id);
            return created.Branch;
        }
        catch (ApiException e) when (e.StatusCode == HttpStatusCode.Conflict)
        {
            // A run that crashed after Neon created the branch: adopt it.
            return await FindAsync(name, cancellationToken)
                ?? throw new InvalidOperationException($"Neon reported branch {name} as existing but does not list it yet; retrying.", e);
        }
        catch (ApiException e)
        {
            throw Translate(e.StatusCode, e.Content, "create the branch");
        }
    }

    /// <summary>Who the branch is for, and (when configured) which installation made it: the sweep reads the latter.</summary>
    private static Dictionary<string, string> Annotations(DatabaseRequest request)
    {
        var annotations = new Dictionary<string, string> { [CustomerIds.IsValid(request.OwnerId) ? "setupclaw-customer" : "setupclaw-pool-member"] = request.OwnerId };
        if (request.InstallationId is { } installation)
        {
            annotations[InstallationTag.Key] = InstallationTag.Checked(installation);
        }

        return annotations;
    }

    /// <summary>The customer's own role; an existing one (a re-run) gets a fresh password, as the local provider does.</summary>
    private async Task<string> EnsureRoleAsync(string branchId, string role, CancellationToken cancellationToken)
    {
        RoleResponse response;
        try
        {
            response = await api.CreateRoleAsync(Project, branchId, new RoleCreateRequest(new RoleCreateRequest.RoleSpec(role)), cancellationToken);
        }
        catch (ApiException e) when (e.StatusCode == HttpStatusCode.Conflict)
        {
            response = await CallAsync(() => api.ResetRolePasswordAsync(Project, branchId, role, cancellationToken), "reset the role's password");
        }
        catch (ApiException e)
        {
            throw Translate(e.StatusCode, e.Content, "create the role");
        }

        await WaitAsync(response.Operations, cancellationToken);
        return response.Role.Password ?? throw new InvalidOperationException($"Neon returned no password for role {role}.");
    }

    private async Task EnsureDatabaseAsync(string branchId, string role, CancellationToken cancellationToken)
    {
        try
        {
            var created = await api.CreateDatabaseAsync(Project, branchId, new DatabaseCreateRequest(new DatabaseCreateRequest.DatabaseSpec(role, role)), cancellationToken);
            await WaitAsync(created.Operations, cancellationToken);
        }
        catch (ApiException e) when (e.StatusCode == HttpStatusCode.Conflict)
        {
            // Already there from an earlier run.
        }
        catch (ApiException e)
        {
            throw Translate(e.StatusCode, e.Content, "create the database");
        }
    }

    /// <summary>
    /// Polls each operation until it finishes; <c>failed</c>, <c>cancelled</c> (or <c>error</c> past the timeout) fail the
    /// step. The first look is after 250 ms, then twice as long each time up to <c>OperationPollInterval</c>: most
    /// operations take 0.3-2 s, and the write gate is held meanwhile, so every other customer's database waits too.
    /// </summary>
    private async Task WaitAsync(IReadOnlyList<Operation>? operations, CancellationToken cancellationToken)
    {
        var deadline = clock.GetUtcNow() + settings.OperationTimeout;
        var delay = TimeSpan.FromMilliseconds(Math.Min(250, settings.OperationPollInterval.TotalMilliseconds));
        foreach (var started in operations ?? [])
        {
            var operation = started;
            while (operation.Status is not ("finished" or "skipped"))
            {
                if (operation.Status is "failed" or "cancelled")
                {
                    throw new InvalidOperationException($"Neon operation {operation.Action} ({operation.Id}) {operation.Status}: {operation.Error}");
                }

                if (clock.GetUtcNow() > deadline)
                {
                    throw new TimeoutException($"Neon operation {operation.Action} ({operation.Id}) still {operation.Status} after {settings.OperationTimeout}.");
                }

                await Task.Delay(delay, clock, cancellationToken);
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, settings.OperationPollInterval.TotalMilliseconds));
                operation = (await CallAsync(() => api.GetOperationAsync(Project, operation.Id, cancellationToken), "read an operation")).Operation;
            }
        }
    }

    private async Task<T> CallAsync<T>(Func<Task<T>> call, string what)
    {
        try
        {
            return await call();
        }
        catch (ApiException e)
        {
            throw Translate(e.StatusCode, e.Content, what);
        }
    }

    /// <summary>What a Neon error means for the saga: permanent (fix configuration or capacity) or worth retrying.</summary>
    private Exception Translate(HttpStatusCode status, string? body, string what)
    {
        var (code, message) = ReadError(body);
        return (int)status switch
        {
            401 or 403 => new PermanentProvisioningException(
                $"Neon refused the API key when trying to {what} (HTTP {(int)status}): check Providers:Neon:ApiKey and that the key can access project {Project}."),
            404 when what is "list branches" => new PermanentProvisioningException(
                $"Neon has no project {Project} (HTTP 404): check Providers:Neon:ProjectId."),
            422 when code is "BRANCHES_LIMIT_EXCEEDED" or "ROOT_BRANCHES_LIMIT_EXCEEDED" => new PermanentProvisioningException(
                $"Neon's branch limit for project {Project} is reached ({code}: {message}). Each customer needs one branch: delete unused branches, or move the Neon project to a plan with more branches (Free allows 10, Launch and Scale 5,000)."),
            400 or 412 or 422 => new PermanentProvisioningException($"Neon rejected the request to {what} (HTTP {(int)status} {code}): {message}"),
            _ => new HttpRequestException($"Neon could not {what} (HTTP {(int)status} {code}): {message}", null, status),
        };
    }

    private static (string Code, string Message) ReadError(string? body)
    {
        try
        {
            using var document = JsonDocument.Parse(body ?? "");
            var root = document.RootElement;
            return (root.TryGetProperty("code", out var code) ? code.GetString() ?? "" : "",
                root.TryGetProperty("message", out var message) ? message.GetString() ?? "" : "");
        }
        catch (JsonException)
        {
            return ("", body is { Length: > 200 } ? body[..200] : body ?? "");
        }
    }

    /// <summary>Npgsql takes key=value strings: the URI becomes one, with TLS required as Neon demands.</summary>
    public static string ToConnectionString(string uri, string role, string password)
    {
        var parsed = new Uri(uri);
        return new NpgsqlConnectionStringBuilder
        {
            Host = parsed.Host,
            Port = parsed.IsDefaultPort || parsed.Port <= 0 ? 5432 : parsed.Port,
            Database = Uri.UnescapeDataString(parsed.AbsolutePath.TrimStart('/')),
            Username = role,
            Password = password,
            SslMode = SslMode.Require,
        }.ConnectionString;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Neon branch {Name} ({BranchId}) created")]
    private static partial void LogCreated(ILogger logger, string name, string branchId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Neon branch {Name} ({BranchId}) already existed: adopted")]
    private static partial void LogAdopted(ILogger logger, string name, string branchId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Neon branch {BranchId}: endpoint {EndpointId} now scales up to {MaxCu} CU")]
    private static partial void LogResized(ILogger logger, string branchId, string endpointId, double maxCu);

    [LoggerMessage(Level = LogLevel.Information, Message = "Neon branch {BranchId} of {OwnerId} deleted")]
    private static partial void LogDeleted(ILogger logger, string ownerId, string branchId);
}

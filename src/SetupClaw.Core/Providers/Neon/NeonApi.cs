using System.Text.Json.Serialization;
using Refit;

namespace SetupClaw.Providers.Neon;

/// <summary>
/// The Neon API v2 calls SetupClaw makes (contract: tests/contracts/neon/openapi-v2.yaml; JSON is snake_case).
/// Non-2xx answers surface as <see cref="ApiException"/>; <see cref="NeonDatabaseProvider"/> decides what they mean.
/// </summary>
public interface INeonApi
{
    [Get("/projects/{projectId}")]
    Task<ProjectResponse> GetProjectAsync(string projectId, CancellationToken cancellationToken);

    [Get("/projects/{projectId}/branches")]
    Task<BranchesResponse> ListBranchesAsync(string projectId, [AliasAs("search")] string? search, CancellationToken cancellationToken);

    [Post("/projects/{projectId}/branches")]
    Task<CreatedBranch> CreateBranchAsync(string projectId, [Body] BranchCreateRequest request, CancellationToken cancellationToken);

    [Delete("/projects/{projectId}/branches/{branchId}")]
    Task<IApiResponse> DeleteBranchAsync(string projectId, string branchId, CancellationToken cancellationToken);

    [Post("/projects/{projectId}/branches/{branchId}/roles")]
    Task<RoleResponse> CreateRoleAsync(string projectId, string branchId, [Body] RoleCreateRequest request, CancellationToken cancellationToken);

    [Post("/projects/{projectId}/branches/{branchId}/roles/{roleName}/reset_password")]
    Task<RoleResponse> ResetRolePasswordAsync(string projectId, string branchId, string roleName, CancellationToken cancellationToken);

    [Post("/projects/{projectId}/branches/{branchId}/databases")]
    Task<DatabaseResponse> CreateDatabaseAsync(string projectId, string branchId, [Body] DatabaseCreateRequest request, CancellationToken cancellationToken);

    [Get("/projects/{projectId}/branches/{branchId}/databases")]
    Task<DatabasesResponse> ListDatabasesAsync(string projectId, string branchId, CancellationToken cancellationToken);

    [Get("/projects/{projectId}/branches/{branchId}/roles")]
    Task<RolesResponse> ListRolesAsync(string projectId, string branchId, CancellationToken cancellationToken);

    [Get("/projects/{projectId}/branches/{branchId}/endpoints")]
    Task<EndpointsResponse> ListBranchEndpointsAsync(string projectId, string branchId, CancellationToken cancellationToken);

    [Patch("/projects/{projectId}/endpoints/{endpointId}")]
    Task<EndpointResponse> UpdateEndpointAsync(string projectId, string endpointId, [Body] EndpointUpdateRequest request, CancellationToken cancellationToken);

    [Get("/projects/{projectId}/operations/{operationId}")]
    Task<OperationResponse> GetOperationAsync(string projectId, string operationId, CancellationToken cancellationToken);

    /// <summary><paramref name="pooled"/> is "true" or "false": OpenAPI writes booleans in queries in lower case.</summary>
    [Get("/projects/{projectId}/connection_uri")]
    Task<ConnectionUriResponse> GetConnectionUriAsync(
        string projectId,
        [AliasAs("branch_id")] string branchId,
        [AliasAs("database_name")] string databaseName,
        [AliasAs("role_name")] string roleName,
        [AliasAs("pooled")] string pooled,
        CancellationToken cancellationToken);
}

public sealed record BranchCreateRequest(BranchCreateRequest.BranchSpec Branch, IReadOnlyList<BranchCreateRequest.EndpointSpec> Endpoints, IReadOnlyDictionary<string, string>? AnnotationValue)
{
    public sealed record BranchSpec(string Name, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ParentId);

    /// <param name="SuspendTimeoutSeconds">Idle seconds before the compute suspends: -1 never; null (not sent) for Neon's default, 300.</param>
    public sealed record EndpointSpec(
        string Type, double AutoscalingLimitMinCu, double AutoscalingLimitMaxCu,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? SuspendTimeoutSeconds);
}

public sealed record RoleCreateRequest(RoleCreateRequest.RoleSpec Role)
{
    public sealed record RoleSpec(string Name);
}

public sealed record DatabaseCreateRequest(DatabaseCreateRequest.DatabaseSpec Database)
{
    public sealed record DatabaseSpec(string Name, string OwnerName);
}

public sealed record Branch(string Id, string Name, string? CurrentState, bool? Default = null);

public sealed record NamedItem(string Name);

public sealed record DatabasesResponse(IReadOnlyList<NamedItem> Databases);

public sealed record RolesResponse(IReadOnlyList<NamedItem> Roles);

public sealed record Endpoint(string Id, string Type, double AutoscalingLimitMinCu, double AutoscalingLimitMaxCu, long SuspendTimeoutSeconds = 0);

public sealed record EndpointsResponse(IReadOnlyList<Endpoint> Endpoints);

public sealed record EndpointResponse(Endpoint Endpoint, IReadOnlyList<Operation>? Operations);

public sealed record EndpointUpdateRequest(EndpointUpdateRequest.EndpointLimits Endpoint)
{
    public sealed record EndpointLimits(
        double AutoscalingLimitMinCu, double AutoscalingLimitMaxCu,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? SuspendTimeoutSeconds);
}

public sealed record Operation(string Id, string Action, string Status, string? Error);

public sealed record CreatedBranch(Branch Branch, IReadOnlyList<Operation>? Operations);

public sealed record BranchesResponse(IReadOnlyList<Branch> Branches, IReadOnlyDictionary<string, Annotation>? Annotations = null);

/// <summary>A branch's annotation as the branch list returns it (keyed by branch id): its key-value pairs.</summary>
public sealed record Annotation(IReadOnlyDictionary<string, string>? Value);

public sealed record Role(string Name, string? Password);

public sealed record RoleResponse(Role Role, IReadOnlyList<Operation>? Operations);

public sealed record DatabaseResponse(IReadOnlyList<Operation>? Operations);

public sealed record OperationResponse(Operation Operation);

public sealed record ConnectionUriResponse(string Uri);

public sealed record ProjectResponse(ProjectResponse.ProjectInfo Project)
{
    public sealed record ProjectInfo(string Id, string Name, ProjectOwner? Owner);

    public sealed record ProjectOwner(int? BranchesLimit);
}

/// <summary>Source-generated JSON for the Neon client (Refit's generated clients need one): snake_case, nulls left out.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(BranchCreateRequest))]
[JsonSerializable(typeof(RoleCreateRequest))]
[JsonSerializable(typeof(DatabaseCreateRequest))]
[JsonSerializable(typeof(CreatedBranch))]
[JsonSerializable(typeof(BranchesResponse))]
[JsonSerializable(typeof(RoleResponse))]
[JsonSerializable(typeof(DatabaseResponse))]
[JsonSerializable(typeof(OperationResponse))]
[JsonSerializable(typeof(ConnectionUriResponse))]
[JsonSerializable(typeof(ProjectResponse))]
[JsonSerializable(typeof(EndpointsResponse))]
[JsonSerializable(typeof(EndpointResponse))]
[JsonSerializable(typeof(EndpointUpdateRequest))]
[JsonSerializable(typeof(DatabasesResponse))]
[JsonSerializable(typeof(RolesResponse))]
internal sealed partial class NeonJson : JsonSerializerContext;

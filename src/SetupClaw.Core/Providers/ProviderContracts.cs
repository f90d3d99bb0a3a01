using SetupClaw.Plans;

namespace SetupClaw.Providers;

/// <summary>Creates and deletes a customer's own PostgreSQL database (Local: a database in a local server; Neon: a branch).</summary>
public interface IDatabaseProvider
{
    /// <summary>Idempotent: a database already created for this owner is adopted, with a fresh password.</summary>
    Task<DatabaseResource> CreateAsync(DatabaseRequest request, CancellationToken cancellationToken);

    /// <summary>Deletes the recorded database (by its id), or the one named for the owner when none was recorded; "already gone" is success.</summary>
    Task DeleteAsync(ResourceRef resource, CancellationToken cancellationToken);

    /// <summary>Sizes the database's compute for the plan (Neon: the endpoint's autoscaling limits). Idempotent.</summary>
    Task ResizeAsync(ResourceRef resource, string planName, CancellationToken cancellationToken);

    /// <summary>The databases here named by SetupClaw (for customers or pool members), with their installation tags (for the sweep).</summary>
    Task<IReadOnlyList<ProviderResource>> ListAsync(CancellationToken cancellationToken);
}

/// <param name="OwnerId">A customer id, or a pool member's id (<see cref="PoolMemberIds"/>): the resource's name is derived from it.</param>
/// <param name="InstallationId">Tagged on the resource (<c>App:InstallationId</c>), so a sweep can tell this installation's from another's.</param>
public sealed record DatabaseRequest(string OwnerId, string PlanName, string? InstallationId = null);

/// <summary>The connection string is a secret: it is sealed before it is stored and never travels through orchestration history.</summary>
public sealed record DatabaseResource(string ResourceId, string ConnectionString);

/// <summary>
/// A resource to act on: its recorded id when the control database holds one (deletes and resizes go by it: a claimed
/// pool member's names are not derived from its customer), else the name derived from <paramref name="OwnerId"/>
/// (what a crashed create may have left before its id was recorded).
/// </summary>
public sealed record ResourceRef(string OwnerId, string? ResourceId);

/// <summary>A provider resource SetupClaw named: for whom (<see cref="OwnerId"/>), its id, and the installation tag it carries (null: none read).</summary>
public sealed record ProviderResource(string OwnerId, string ResourceId, string? InstallationId);

public static class ProviderResources
{
    /// <summary>Whether the provider holds the owner's resource: the recorded one, or one named for the owner.</summary>
    public static bool Holds(this IEnumerable<ProviderResource> resources, string ownerId, string? recordedId) =>
        resources.Any(r => r.OwnerId == ownerId || (recordedId is not null && r.ResourceId == recordedId));
}

/// <summary>Runs the assistant runtime for a customer (Local: a child process; Railway: a service).</summary>
public interface IComputeProvider
{
    /// <summary>Idempotent: the recorded service (or one already named for this owner) is adopted and its variables replaced.</summary>
    Task<ServiceResource> CreateServiceAsync(ServiceRequest request, CancellationToken cancellationToken);

    Task<string> DeployAsync(string serviceId, CancellationToken cancellationToken);

    Task<DeploymentState> GetDeploymentAsync(string serviceId, string deploymentId, CancellationToken cancellationToken);

    /// <summary>
    /// How often the provider is asked about a first deployment (Zero: at every look). Railway counts API calls per
    /// hour: its deployments are looked at their public address every second, which costs none, and Railway is asked
    /// once per window to catch a failure.
    /// </summary>
    TimeSpan DeploymentWatchWindow { get; }

    /// <summary>
    /// Sizes the running service for the plan without a gap. True when the provider needs a deployment for the size to
    /// take effect (Railway: the old deployment serves until the new one is healthy); false when it is already done.
    /// </summary>
    Task<bool> ResizeAsync(ResourceRef service, Plans.Plan plan, CancellationToken cancellationToken);

    /// <summary>Stops and deletes the recorded service, or the one named for the owner when none was recorded; "already gone" is success.</summary>
    Task DeleteServiceAsync(ResourceRef service, CancellationToken cancellationToken);

    /// <summary>The services here named by SetupClaw (for customers or pool members); the installation tag where listing gives it.</summary>
    Task<IReadOnlyList<ProviderResource>> ListAsync(CancellationToken cancellationToken);

    /// <summary>The installation tag of one service (the sweep asks only about pool members nobody records).</summary>
    Task<string?> InstallationOfAsync(string serviceId, CancellationToken cancellationToken);

    /// <summary>Where the service stands now (<see cref="ServiceStates"/>): asking never wakes a sleeping one.</summary>
    Task<string> StateAsync(ResourceRef service, CancellationToken cancellationToken);
}

/// <summary>What <see cref="IComputeProvider.StateAsync"/> answers.</summary>
public static class ServiceStates
{
    public const string Running = "running";

    /// <summary>Idle and stopped by the platform (Railway's application sleeping, a local runtime that exited idle); its next request wakes it.</summary>
    public const string Sleeping = "sleeping";

    public const string Deploying = "deploying";
    public const string NotDeployed = "not_deployed";
    public const string Down = "down";
    public const string Missing = "missing";

    /// <summary>Not known: the provider did not answer in time, or its answer says nothing certain.</summary>
    public const string Unknown = "unknown";

    /// <summary>The state, or <see cref="Unknown"/> when the provider fails or takes over 5 s: a view or a pass never fails for it.</summary>
    public static async Task<string> StateOrUnknownAsync(this IComputeProvider compute, ResourceRef service, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(compute);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(5));
        try
        {
            return await compute.StateAsync(service, deadline.Token);
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            return Unknown;
        }
    }
}

/// <param name="ServiceId">The recorded service, when there is one: it is updated, whatever its name.</param>
public sealed record ServiceRequest(string OwnerId, Plan Plan, IReadOnlyDictionary<string, string> Variables, string? ServiceId = null, string? InstallationId = null);

public sealed record ServiceResource(string ServiceId, string AccessUrl);

public static class DeploymentPhase
{
    public const string InProgress = "in_progress";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
}

/// <param name="Answered">The service answered at its address while the provider still reported this deployment in progress (an older one serves there).</param>
public sealed record DeploymentState(string Phase, string? Reason = null, bool Answered = false);

/// <summary>A failure that retrying cannot fix (bad configuration, a plan limit, a rejected request): the saga compensates at once.</summary>
public sealed class PermanentProvisioningException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Names of provider resources, derived from their owner's id (a customer's, or a pool member's) so a re-run finds
/// what a crashed run created. Once a resource's id is recorded, it is found by that id instead.
/// </summary>
public static class ResourceNames
{
    public static string Database(string ownerId) => "claw_" + Checked(ownerId);

    public static string Service(string ownerId) => "claw-" + Checked(ownerId).Replace('_', '-');

    /// <summary>The Neon branch: <c>cus-{hex}</c> or <c>pool-{hex}</c> (names from [a-z0-9-] only, safe in URLs and Neon's search).</summary>
    public static string Branch(string ownerId) => Checked(ownerId).Replace('_', '-');

    /// <summary>The customer a resource name was derived for, or null when SetupClaw did not name it for a customer.</summary>
    public static string? CustomerOf(string name) => OwnerOf(name) is { } owner && CustomerIds.IsValid(owner) ? owner : null;

    /// <summary>The customer or pool member a resource name was derived for, or null when SetupClaw did not name it.</summary>
    public static string? OwnerOf(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        foreach (var kind in new[] { "cus", "pool" })
        {
            var id = name.StartsWith($"claw_{kind}_", StringComparison.Ordinal) ? name[5..]
                : name.StartsWith($"claw-{kind}-", StringComparison.Ordinal) ? kind + "_" + name[(6 + kind.Length)..]
                : name.StartsWith($"{kind}-", StringComparison.Ordinal) ? kind + "_" + name[(kind.Length + 1)..]
                : null;
            if (CustomerIds.IsValid(id) || PoolMemberIds.IsValid(id))
            {
                return id;
            }
        }

        return null;
    }

    private static string Checked(string ownerId) =>
        CustomerIds.IsValid(ownerId) || PoolMemberIds.IsValid(ownerId) ? ownerId : throw new ArgumentException($"'{ownerId}' is not a customer or pool member id.", nameof(ownerId));
}

public static class CustomerIds
{
    private const string Prefix = "cus_";

    public static string New() => Prefix + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(10));

    /// <summary><c>cus_</c> + 20 lowercase hex: safe to splice into identifiers, resource names and routes.</summary>
    public static bool IsValid(string? value) =>
        value is { Length: 24 } && value.StartsWith(Prefix, StringComparison.Ordinal) && value[4..].All(char.IsAsciiHexDigitLower);
}

/// <summary>A warm pool member's id: <c>pool_</c> + 20 lowercase hex, safe in the same places as a customer id.</summary>
public static class PoolMemberIds
{
    private const string Prefix = "pool_";

    public static string New() => Prefix + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(10));

    public static bool IsValid(string? value) =>
        value is { Length: 25 } && value.StartsWith(Prefix, StringComparison.Ordinal) && value[5..].All(char.IsAsciiHexDigitLower);
}

/// <summary>
/// How a resource says which SetupClaw installation made it (<c>App:InstallationId</c>): a Neon branch annotation, a
/// Railway service variable, a comment on a local database, a field of a local service's spec.
/// </summary>
public static class InstallationTag
{
    /// <summary>The Neon annotation key and the Railway variable name.</summary>
    public const string Key = "setupclaw-installation";

    public const string Variable = "SETUPCLAW_INSTALLATION";

    /// <summary>The local database comment: <c>setupclaw-installation=ID</c>.</summary>
    public const string Prefix = Key + "=";

    /// <summary>Ids are [a-z0-9-], 1 to 40 characters: safe in a comment, an annotation and a variable.</summary>
    public static bool IsValid(string? id) => id is { Length: > 0 and <= 40 } && id.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-');

    public static string Checked(string id) =>
        IsValid(id) ? id : throw new PermanentProvisioningException($"App:InstallationId '{id}' is not valid: use 1 to 40 characters from a-z, 0-9 and '-'.");

    public static string? Read(string? comment) =>
        comment is not null && comment.StartsWith(Prefix, StringComparison.Ordinal) ? comment[Prefix.Length..] : null;
}

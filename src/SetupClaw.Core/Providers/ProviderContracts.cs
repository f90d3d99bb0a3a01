using SetupClaw.Plans;

namespace SetupClaw.Providers;

/// <summary>Creates and deletes a customer's own PostgreSQL database (Local: a database in a local server; Neon: a branch).</summary>
public interface IDatabaseProvider
{
    /// <summary>Idempotent: a database already created for this customer is adopted, with a fresh password.</summary>
    Task<DatabaseResource> CreateAsync(DatabaseRequest request, CancellationToken cancellationToken);

    /// <summary>Finds the customer's database by its derived name and deletes it; "already gone" is success.</summary>
    Task DeleteAsync(string customerId, CancellationToken cancellationToken);

    /// <summary>Sizes the database's compute for the plan (Neon: the endpoint's autoscaling limits). Idempotent.</summary>
    Task ResizeAsync(string customerId, string planName, CancellationToken cancellationToken);

    /// <summary>The customers that have a database here, from the names SetupClaw gives them (for the orphan sweep).</summary>
    Task<IReadOnlyList<string>> ListCustomerIdsAsync(CancellationToken cancellationToken);
}

public sealed record DatabaseRequest(string CustomerId, string PlanName);

/// <summary>The connection string is a secret: it is sealed before it is stored and never travels through orchestration history.</summary>
public sealed record DatabaseResource(string ResourceId, string ConnectionString);

/// <summary>Runs the assistant runtime for a customer (Local: a child process; Railway: a service).</summary>
public interface IComputeProvider
{
    /// <summary>Idempotent: a service already created for this customer is adopted and its variables replaced.</summary>
    Task<ServiceResource> CreateServiceAsync(ServiceRequest request, CancellationToken cancellationToken);

    Task<string> DeployAsync(string serviceId, CancellationToken cancellationToken);

    Task<DeploymentState> GetDeploymentAsync(string serviceId, string deploymentId, CancellationToken cancellationToken);

    /// <summary>Stops and deletes the customer's service, found by its derived name; "already gone" is success.</summary>
    Task DeleteServiceAsync(string customerId, CancellationToken cancellationToken);

    /// <summary>The customers that have a service here, from the names SetupClaw gives them (for the orphan sweep).</summary>
    Task<IReadOnlyList<string>> ListCustomerIdsAsync(CancellationToken cancellationToken);
}

public sealed record ServiceRequest(string CustomerId, Plan Plan, IReadOnlyDictionary<string, string> Variables);

public sealed record ServiceResource(string ServiceId, string AccessUrl);

public static class DeploymentPhase
{
    public const string InProgress = "in_progress";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
}

public sealed record DeploymentState(string Phase, string? Reason = null);

/// <summary>A failure that retrying cannot fix (bad configuration, a plan limit, a rejected request): the saga compensates at once.</summary>
public sealed class PermanentProvisioningException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Names of provider resources, derived from the customer id so a re-run finds what a crashed run created.</summary>
public static class ResourceNames
{
    public static string Database(string customerId) => "claw_" + Checked(customerId);

    public static string Service(string customerId) => "claw-" + Checked(customerId).Replace('_', '-');

    /// <summary>The Neon branch: <c>cus-{hex}</c> (names from [a-z0-9-] only, safe in URLs and Neon's search).</summary>
    public static string Branch(string customerId) => Checked(customerId).Replace('_', '-');

    /// <summary>The customer a resource name was derived for, or null when SetupClaw did not name it.</summary>
    public static string? CustomerOf(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var id = name.StartsWith("claw_cus_", StringComparison.Ordinal) ? name[5..]
            : name.StartsWith("claw-cus-", StringComparison.Ordinal) ? "cus_" + name[9..]
            : name.StartsWith("cus-", StringComparison.Ordinal) ? "cus_" + name[4..]
            : null;
        return CustomerIds.IsValid(id) ? id : null;
    }

    private static string Checked(string customerId) =>
        CustomerIds.IsValid(customerId) ? customerId : throw new ArgumentException($"'{customerId}' is not a customer id.", nameof(customerId));
}

public static class CustomerIds
{
    private const string Prefix = "cus_";

    public static string New() => Prefix + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(10));

    /// <summary><c>cus_</c> + 20 lowercase hex: safe to splice into identifiers, resource names and routes.</summary>
    public static bool IsValid(string? value) =>
        value is { Length: 24 } && value.StartsWith(Prefix, StringComparison.Ordinal) && value[4..].All(char.IsAsciiHexDigitLower);
}

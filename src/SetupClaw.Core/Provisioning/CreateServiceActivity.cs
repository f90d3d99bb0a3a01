using Microsoft.Extensions.Options;
using SetupClaw.Credentials;
using SetupClaw.Customers;
using SetupClaw.Plans;
using SetupClaw.Providers;

namespace SetupClaw.Provisioning;

/// <summary>Step 4: the service that will run the customer's runtime, with its variables, and its access URL.</summary>
public sealed class CreateServiceActivity(ICustomerStore store, IComputeProvider compute, SecretBox secretBox, IOptions<LlmOptions> llm, IOptions<Billing.AppOptions> app, Telemetry.SetupClawMetrics metrics)
    : StepActivity<string>(store, metrics)
{
    protected override string Step => Steps.CreateService;

    protected override bool OncePerOperation => true;

    protected override async Task<string> ExecuteAsync(string customerId, CancellationToken cancellationToken)
    {
        var customer = await GetCustomerAsync(customerId, cancellationToken);
        if (customer is not { DatabaseUrlEncrypted: not null, WorkspaceId: not null, ApiKeyHash: not null })
        {
            throw new PermanentProvisioningException("The service cannot be created before the database and credentials exist.");
        }

        var plan = PlanCatalog.Get(customer.Plan);
        var service = await compute.CreateServiceAsync(ServiceRequestFor(customer, plan, secretBox, llm.Value, app.Value), cancellationToken);
        await Store.RecordServiceAsync(customerId, service.ServiceId, service.AccessUrl, cancellationToken);
        return service.ServiceId;
    }

    /// <summary>The service a customer's runtime needs on <paramref name="plan"/>: its variables and the plan's size.</summary>
    /// <param name="app">The control plane's address (the runtime's model calls go to its gateway there) and installation id.</param>
    /// <remarks>The customer's recorded service is the one updated: a claimed pool member's name is not derived from the customer.</remarks>
    public static ServiceRequest ServiceRequestFor(Customer customer, Plan plan, SecretBox secretBox, LlmOptions llm, Billing.AppOptions app)
    {
        ArgumentNullException.ThrowIfNull(customer);
        ArgumentNullException.ThrowIfNull(secretBox);
        ArgumentNullException.ThrowIfNull(app);
        return new ServiceRequest(customer.Id, plan, VariablesFor(secretBox.Open(customer.DatabaseUrlEncrypted!, customer.Id, SealedColumns.DatabaseUrl), llm, app),
            customer.RailwayServiceId, app.InstallationId);
    }

    /// <summary>A runtime's variables: its database and the control plane's model gateway.</summary>
    public static Dictionary<string, string> VariablesFor(string databaseUrl, LlmOptions llm, Billing.AppOptions app)
    {
        ArgumentNullException.ThrowIfNull(llm);
        ArgumentNullException.ThrowIfNull(app);
        var variables = RuntimeVariables(databaseUrl);
        foreach (var (key, value) in llm.GatewayVariables(new Uri(app.PublicBaseUrl, "/" + Http.SiteRoutes.ModelGatewayBase)))
        {
            variables[key] = value;
        }

        return variables;
    }

    /// <summary>
    /// What the runtime is deployed with: its database, and (<see cref="LlmOptions.GatewayVariables"/>) the control
    /// plane's model gateway. Who it belongs to, its key's hash, its gateway token and its plan's limits are in that
    /// database (<see cref="AssistantIdentity"/>); the provider key never leaves the control plane.
    /// </summary>
    public static Dictionary<string, string> RuntimeVariables(string databaseUrl) => new(StringComparer.Ordinal)
    {
        ["DATABASE_URL"] = databaseUrl,
    };
}

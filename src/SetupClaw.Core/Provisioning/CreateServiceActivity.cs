using System.Globalization;
using Microsoft.Extensions.Options;
using SetupClaw.Credentials;
using SetupClaw.Customers;
using SetupClaw.Plans;
using SetupClaw.Providers;

namespace SetupClaw.Provisioning;

/// <summary>Step 4: the service that will run the customer's runtime, with its variables, and its access URL.</summary>
public sealed class CreateServiceActivity(ICustomerStore store, IComputeProvider compute, SecretBox secretBox, IOptions<LlmOptions> llm, IOptions<Billing.AppOptions> app)
    : StepActivity<string>(store)
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
        var service = await compute.CreateServiceAsync(ServiceRequestFor(customer, plan, secretBox, llm.Value, app.Value.PublicBaseUrl), cancellationToken);
        await Store.RecordServiceAsync(customerId, service.ServiceId, service.AccessUrl, cancellationToken);
        return service.ServiceId;
    }

    /// <summary>The service a customer's runtime needs on <paramref name="plan"/>: its variables and the plan's size.</summary>
    /// <param name="publicBaseUrl">The control plane's address: the runtime's model calls go to its gateway there.</param>
    public static ServiceRequest ServiceRequestFor(Customer customer, Plan plan, SecretBox secretBox, LlmOptions llm, Uri publicBaseUrl)
    {
        ArgumentNullException.ThrowIfNull(customer);
        ArgumentNullException.ThrowIfNull(secretBox);
        ArgumentNullException.ThrowIfNull(llm);
        var variables = RuntimeVariables(customer, plan, secretBox.Open(customer.DatabaseUrlEncrypted!, customer.Id, SealedColumns.DatabaseUrl));
        if (customer.GatewayTokenEncrypted is { } sealedToken)
        {
            var token = secretBox.Open(sealedToken, customer.Id, SealedColumns.GatewayToken);
            foreach (var (key, value) in llm.GatewayVariables(new Uri(publicBaseUrl, "/" + Http.SiteRoutes.ModelGatewayBase), token))
            {
                variables[key] = value;
            }
        }

        return new ServiceRequest(customer.Id, plan, variables);
    }

    /// <summary>
    /// What the runtime is told. The customer's API key travels only as its hash. The model settings (Llm__*) name the
    /// control plane's gateway and the runtime's own token: the provider key never leaves the control plane.
    /// </summary>
    public static Dictionary<string, string> RuntimeVariables(Customer customer, Plan plan, string databaseUrl) => new(StringComparer.Ordinal)
    {
        ["CUSTOMER_ID"] = customer.Id,
        ["WORKSPACE_ID"] = customer.WorkspaceId!,
        ["API_KEY_HASH"] = customer.ApiKeyHash!,
        ["DATABASE_URL"] = databaseUrl,
        ["PLAN_NAME"] = plan.Name,
        ["MESSAGE_LIMIT"] = plan.MessagesPerMonth.ToString(CultureInfo.InvariantCulture),
        ["MAX_AGENTS"] = plan.MaxAgents?.ToString(CultureInfo.InvariantCulture) ?? "unlimited",
        ["FEATURES"] = string.Join(',', plan.Features),
        ["SKILLS"] = string.Join(',', plan.Skills),
    };
}

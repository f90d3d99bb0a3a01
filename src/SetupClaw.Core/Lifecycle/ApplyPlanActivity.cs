using Microsoft.DurableTask;
using Microsoft.Extensions.Options;
using SetupClaw.Credentials;
using SetupClaw.Customers;
using SetupClaw.Plans;
using SetupClaw.Providers;
using SetupClaw.Provisioning;

namespace SetupClaw.Lifecycle;

/// <summary>
/// Records the plan and sizes everything for it: the database's compute, the plan's skills offered and its limits in
/// the assistant's identity (which the runtime reads on every request), and the service's size. Idempotent; the
/// redeploy that follows makes the new size take effect.
/// </summary>
public sealed class ApplyPlanActivity(
    ICustomerStore customers, LifecycleStore store, IDatabaseProvider database, IComputeProvider compute, ICustomerData data,
    SecretBox secretBox, AssistantIdentityWriter identity, IOptions<LlmOptions> llm, IOptions<Billing.AppOptions> app) : TaskActivity<PlanTarget, bool>
{
    public override async Task<bool> RunAsync(TaskActivityContext context, PlanTarget input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var plan = PlanCatalog.Get(input.Plan);
        var customer = await customers.GetRequiredAsync(input.CustomerId, CancellationToken.None);
        if (customer.DatabaseUrlEncrypted is null)
        {
            throw new PermanentProvisioningException($"Customer {input.CustomerId} has no database to change the plan of.");
        }

        await database.ResizeAsync(new ResourceRef(customer.Id, customer.DatabaseBranchId), plan.Name, CancellationToken.None);
        await data.GrantSkillsAsync(secretBox.Open(customer.DatabaseUrlEncrypted, customer.Id, SealedColumns.DatabaseUrl), plan.Skills, CancellationToken.None);
        await identity.WriteAsync(customer, plan, CancellationToken.None);
        // The plan is recorded once its limits are in force in the assistant's own database: a dashboard that shows the
        // new plan (and so stops waiting for it) never reads the old plan's limits.
        await store.SetPlanAsync(input.CustomerId, plan.Name, CancellationToken.None);
        await compute.CreateServiceAsync(CreateServiceActivity.ServiceRequestFor(customer, plan, secretBox, llm.Value, app.Value), CancellationToken.None);
        return true;
    }
}

public sealed record PlanTarget(string CustomerId, string Plan);

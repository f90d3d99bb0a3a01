using Microsoft.AspNetCore.Http;
using Microsoft.DurableTask.Client;
using SetupClaw.Credentials;
using SetupClaw.Customers;
using SetupClaw.Http;
using SetupClaw.Lifecycle;
using SetupClaw.Plans;
using SetupClaw.Providers;

namespace SetupClaw.Operations;

/// <summary>
/// The operator's smoke test (<c>X-Admin-Key</c>), against whatever providers this control plane has:
/// <c>POST /api/operator/smoke[?plan=starter]</c> creates a throwaway test customer (no payment, never billed, listed
/// as a test) and starts its provisioning through the same lifecycle as a paid one, answering its id and status token;
/// <c>DELETE /api/operator/smoke/{id}</c> cancels it, so the lifecycle deprovisions it. Only test customers can be
/// removed this way.
/// </summary>
public sealed class SmokeHandler(ICustomerStore customers, LifecycleScheduler lifecycle, RequestLimits limits, TimeProvider clock)
{
    public const string EmailDomain = "smoke.setupclaw.invalid";

    public async Task<IResult> StartAsync(HttpRequest request, DurableTaskClient durable, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (limits.RefuseAdmin(request) is { } refused)
        {
            return refused;
        }

        if (lifecycle.IsPaused)
        {
            return Problems.Conflict("Provisioning is paused",
                "Provisioning is paused (Provisioning:Paused): a smoke test would wait for nothing. Turn the switch off first.");
        }

        var planName = request.Query["plan"].ToString() is { Length: > 0 } given ? given : Plan.Starter;
        if (!PlanCatalog.TryGet(planName, out var plan))
        {
            return Problems.BadRequest("Unknown plan", $"There is no plan '{Problems.Echo(planName)}': use starter, pro or team.");
        }

        var customerId = CustomerIds.New();
        var token = Secrets.NewStatusToken();
        await customers.CreateAsync(new NewCustomer(
            customerId, $"{customerId.Replace('_', '-')}@{EmailDomain}", "SetupClaw smoke test", "Smoke", plan.Name, Secrets.Hash(token), IsTest: true), cancellationToken);
        var outcome = await lifecycle.RecordAsync(durable, customerId, new BillingFact(clock.GetUtcNow(), BillingStates.Active, plan.Name), cancellationToken);
        return Results.Json(new { customerId, statusToken = token, plan = plan.Name, outcome, paused = lifecycle.IsPaused }, statusCode: StatusCodes.Status202Accepted);
    }

    public async Task<IResult> RemoveAsync(HttpRequest request, string customerId, DurableTaskClient durable, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (limits.RefuseAdmin(request) is { } refused)
        {
            return refused;
        }

        var customer = CustomerIds.IsValid(customerId) ? await customers.GetAsync(customerId, cancellationToken) : null;
        if (customer is not { IsTest: true })
        {
            return Problems.NotFound($"There is no smoke-test customer '{Problems.Echo(customerId)}': only test customers are removed here.");
        }

        var outcome = await lifecycle.RecordAsync(durable, customer.Id, new BillingFact(clock.GetUtcNow(), BillingStates.Cancelled), cancellationToken);
        return Results.Json(new { customerId = customer.Id, outcome }, statusCode: StatusCodes.Status202Accepted);
    }
}

using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using SetupClaw.Billing;
using SetupClaw.Customers;
using SetupClaw.Plans;
using SetupClaw.Pool;
using SetupClaw.Providers;
using SetupClaw.Tests.Infrastructure;

namespace SetupClaw.Tests.Pool;

/// <summary>
/// The warm pool on the in-process local host around the Neon and Railway simulators: the reconciler keeps members
/// ready, a paid customer claims one (atomically) or goes cold, a claim that fails is destroyed, the sweep leaves
/// pooled members alone and removes this installation's leftovers, and a smaller <c>Pool:Size</c> drains the pool.
/// </summary>
[Collection(SimulatedLoadCollection.Name)]
public sealed class WarmPoolTests : IAsyncLifetime
{
    private const string Installation = "setupclaw-test";
    private SimulatedStack stack = null!;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (stack is not null)
        {
            await stack.DisposeAsync();
            Assert.Empty(stack.Neon.Violations);
            Assert.Empty(stack.Railway.Violations);
        }
    }

    private async Task StartAsync(int size, string healthCheckSeconds = "3600")
    {
        stack = await SimulatedStack.StartAsync(changes: new Dictionary<string, string?>
        {
            ["Pool:Size"] = size.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Pool:IntervalSeconds"] = "0.5",
            ["Pool:HealthCheckSeconds"] = healthCheckSeconds,
            ["App:InstallationId"] = Installation,
        });
    }

    [Fact]
    public async Task TwoCustomersPayAtOnce_WithOneMemberReady_OneClaimsIt_TheOtherGoesCold_BothActiveOnTheirOwnInstances()
    {
        await StartAsync(size: 1);
        var member = (await ReadyMembersAsync(1)).Single();
        // The replacement for a claimed member stays warming, so exactly one member is ready while both pay.
        stack.Railway.DeploymentDurationOf = name => name.StartsWith("claw-pool-", StringComparison.Ordinal) && name != ServiceName(member) ? TimeSpan.FromDays(1) : null;

        var first = await stack.SignupAsync("ana@example.com", Plan.Pro);
        var second = await stack.SignupAsync("ben@example.com", Plan.Pro);
        await Task.WhenAll(
            stack.SendAsync(StripeEventFactory.CheckoutCompleted(first, "ana@example.com", DateTimeOffset.UtcNow)),
            stack.SendAsync(StripeEventFactory.CheckoutCompleted(second, "ben@example.com", DateTimeOffset.UtcNow)));
        await WaitActiveAsync(first, second);

        var customers = new[] { (await stack.CustomerAsync(first))!, (await stack.CustomerAsync(second))! };
        var warm = Assert.Single(customers, c => c.RailwayServiceId == member.ServiceId);
        var cold = Assert.Single(customers, c => c.RailwayServiceId != member.ServiceId);
        Assert.Equal(member.DatabaseId, warm.DatabaseBranchId);
        Assert.NotEqual(warm.DatabaseBranchId, cold.DatabaseBranchId);
        Assert.Equal(member.AccessUrl, warm.AccessUrl);
        // Warm: nothing was created or deployed before the customer was active (the resize after it redeploys, with no gap).
        var warmSteps = await StepsAsync(warm);
        Assert.Contains("claim_instance", warmSteps);
        Assert.DoesNotContain("create_database", warmSteps);
        Assert.DoesNotContain("create_service", warmSteps);
        Assert.Equal(["reserve_credentials", "claim_instance", "seed_workspace", "health_check", "activate"], await StepsBeforeActiveAsync(warm));
        Assert.Contains("create_database", await StepsAsync(cold));
        Assert.Contains(ResourceNames.Service(cold.Id), stack.Railway.ServiceNames);
        // The member was warmed on Starter: the Pro customer's database and service were resized after it was active.
        await Wait.UntilAsync(() => Task.FromResult(stack.Railway.Service(ServiceName(member))?["vCPUs"]?.GetValue<double>() == Plan.ProPlan.Vcpus &&
            stack.Neon.ComputeSizes[ResourceNames.Branch(member.Id)].Max == Plan.ProPlan.Vcpus), TimeSpan.FromSeconds(30), "the claimed member to be resized for Pro");
        Assert.Equal(warm.Id, stack.CustomerData.IdentityOf(warm.Id)!.CustomerId);
        Assert.Equal(1, await stack.Database.CountAsync($"select count(*) from pool_members where status = 'claimed' and claimed_by = '{warm.Id}'"));
        Assert.Equal(0, await stack.Database.CountAsync($"select count(*) from pool_members where claimed_by = '{cold.Id}'"));
    }

    [Fact]
    public async Task AClaimedMembersDeprovisioning_DeletesExactlyItsRecordedResources()
    {
        await StartAsync(size: 1);
        var member = (await ReadyMembersAsync(1)).Single();
        var customerId = await PayAsync("cara@example.com", Plan.Starter);
        var replacement = (await ReadyMembersAsync(1)).Single();
        Assert.NotEqual(member.Id, replacement.Id);
        var branchesBefore = stack.Neon.BranchNames.ToHashSet();
        var servicesBefore = stack.Railway.ServiceNames.ToHashSet();

        (await stack.SendAsync(StripeEventFactory.SubscriptionDeleted(customerId, DateTimeOffset.UtcNow))).EnsureSuccessStatusCode();
        await Wait.UntilAsync(async () => (await stack.CustomerAsync(customerId))!.Status == CustomerStatus.Deprovisioned, TimeSpan.FromSeconds(60), "the customer to be deprovisioned");

        branchesBefore.Remove(ResourceNames.Branch(member.Id));
        servicesBefore.Remove(ServiceName(member));
        Assert.Equal(branchesBefore, stack.Neon.BranchNames.ToHashSet());
        Assert.Equal(servicesBefore, stack.Railway.ServiceNames.ToHashSet());
        Assert.Contains(ServiceName(replacement), stack.Railway.ServiceNames);
        Assert.Equal(1, (await PoolAsync()).GetProperty("ready").GetInt32());
    }

    [Fact]
    public async Task AClaimThatFailsHalfway_DestroysTheMember_AndTheCustomerIsProvisionedCold()
    {
        await StartAsync(size: 1);
        var member = (await ReadyMembersAsync(1)).Single();
        // The member's runtime stops answering after it was found healthy: the claim's health check fails.
        SimulatedStack.SetDown(ServiceName(member), down: true);
        var customerId = await PayAsync("dan@example.com", Plan.Starter);

        var customer = (await stack.CustomerAsync(customerId))!;
        Assert.DoesNotContain(ResourceNames.Branch(member.Id), stack.Neon.BranchNames);
        Assert.DoesNotContain(ServiceName(member), stack.Railway.ServiceNames);
        // Never half-given: the customer runs on its own cold instance, and no record of the claim is left.
        Assert.NotEqual(member.ServiceId, customer.RailwayServiceId);
        Assert.NotEqual(member.DatabaseId, customer.DatabaseBranchId);
        Assert.Contains(ResourceNames.Service(customerId), stack.Railway.ServiceNames);
        Assert.Equal(0, await stack.Database.CountAsync($"select count(*) from pool_members where claimed_by = '{customerId}' or id = '{member.Id}'"));
        var steps = await stack.App.Services.GetRequiredService<ICustomerStore>().GetStepsAsync(customerId, customer.OrchestrationId, default);
        Assert.Contains(steps, s => s.Name == "claim_instance" && s.Status == "compensated");
        Assert.Contains(steps, s => s.Name == "seed_workspace" && s.Status == "completed");
        Assert.Equal(customer.WorkspaceId, stack.CustomerData.IdentityOf(customerId)!.WorkspaceId);
        // And the pool is whole again, with another member.
        Assert.NotEqual(member.Id, (await ReadyMembersAsync(1)).Single().Id);
    }

    [Fact]
    public async Task ClaimsAreAtomic_ManyAtOnceOnOneReadyMember_OneGetsIt_AndARetryOfThatClaimGetsTheSameMember()
    {
        await StartAsync(size: 1);
        var member = (await ReadyMembersAsync(1)).Single();
        stack.Railway.DeploymentDurationOf = _ => TimeSpan.FromDays(1); // the replacement never gets ready
        var customers = new List<string>();
        for (var i = 0; i < 8; i++)
        {
            customers.Add(await stack.SignupAsync($"race{i}@example.com", Plan.Starter));
        }

        var store = stack.App.Services.GetRequiredService<PoolStore>();
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var racing = customers.Select(async id =>
        {
            await start.Task;
            return (Customer: id, Claim: await store.ClaimAsync(id, "op-" + id, takeNew: true, default));
        }).ToList();
        start.SetResult();
        var claims = await Task.WhenAll(racing);

        var winner = Assert.Single(claims, c => c.Claim is not null);
        Assert.Equal(member.Id, winner.Claim!.MemberId);
        Assert.Equal(member.ServiceId, (await stack.CustomerAsync(winner.Customer))!.RailwayServiceId);
        foreach (var loser in claims.Where(c => c.Claim is null))
        {
            Assert.Null((await stack.CustomerAsync(loser.Customer))!.RailwayServiceId);
        }

        // The same operation claiming again (an activity that ran twice) gets the same member, even with the pool off.
        Assert.Equal(member.Id, (await store.ClaimAsync(winner.Customer, "op-" + winner.Customer, takeNew: false, default))!.MemberId);
        Assert.Equal(1, await stack.Database.CountAsync($"select count(*) from pool_members where claimed_by = '{winner.Customer}'"));
    }

    [Fact]
    public async Task ThePoolRefillsToItsSize_AndReplacesAMemberThatTurnsUnhealthy()
    {
        await StartAsync(size: 2, healthCheckSeconds: "1");
        var members = await ReadyMembersAsync(2);
        await PayAsync("eve@example.com", Plan.Starter);
        var refilled = await ReadyMembersAsync(2);
        Assert.Single(refilled, m => members.All(old => old.Id != m.Id));

        var sick = refilled[0];
        SimulatedStack.SetDown(ServiceName(sick), down: true);
        await Wait.UntilAsync(async () => (await ReadyIdsAsync()).Count == 2 && !(await ReadyIdsAsync()).Contains(sick.Id) && !stack.Railway.ServiceNames.Contains(ServiceName(sick)),
            TimeSpan.FromSeconds(60), "the unhealthy member to be destroyed and replaced");
        Assert.DoesNotContain(ResourceNames.Branch(sick.Id), stack.Neon.BranchNames);
    }

    [Fact]
    public async Task PoolMembersSurviveTheSweep_WhileLeftoversOfThisInstallationAreRemoved_AndAForeignOnesStay()
    {
        await StartAsync(size: 2);
        var members = await ReadyMembersAsync(2);
        var ours = PoolMemberIds.New();
        var foreign = PoolMemberIds.New();
        stack.Neon.AddBranch(ResourceNames.Branch(ours), new Dictionary<string, string> { [InstallationTag.Key] = Installation });
        stack.Railway.AddService(ResourceNames.Service(ours), new Dictionary<string, string> { [InstallationTag.Variable] = Installation });
        stack.Neon.AddBranch(ResourceNames.Branch(foreign), new Dictionary<string, string> { [InstallationTag.Key] = "someone-else" });
        stack.Railway.AddService(ResourceNames.Service(foreign), new Dictionary<string, string> { [InstallationTag.Variable] = "someone-else" });

        await stack.SweepAsync();

        Assert.Equal(members.Select(m => m.Id).Order(), (await ReadyIdsAsync()).Order());
        foreach (var member in members)
        {
            Assert.Contains(ResourceNames.Branch(member.Id), stack.Neon.BranchNames);
            Assert.Contains(ServiceName(member), stack.Railway.ServiceNames);
        }

        Assert.DoesNotContain(ResourceNames.Branch(ours), stack.Neon.BranchNames);
        Assert.DoesNotContain(ResourceNames.Service(ours), stack.Railway.ServiceNames);
        Assert.Contains(ResourceNames.Branch(foreign), stack.Neon.BranchNames);
        Assert.Contains(ResourceNames.Service(foreign), stack.Railway.ServiceNames);
    }

    [Fact]
    public async Task PoolSizeZero_DrainsThePoolToNothing()
    {
        await StartAsync(size: 2);
        await ReadyMembersAsync(2);

        stack.App.Configuration["Pool:Size"] = "0";
        ((IConfigurationRoot)stack.App.Configuration).Reload();

        await Wait.UntilAsync(async () => await stack.Database.CountAsync("select count(*) from pool_members") == 0,
            TimeSpan.FromSeconds(60), "the pool to drain");
        Assert.DoesNotContain(stack.Neon.BranchNames, name => name.StartsWith("pool-", StringComparison.Ordinal));
        Assert.DoesNotContain(stack.Railway.ServiceNames, name => name.StartsWith("claw-pool-", StringComparison.Ordinal));
        var pool = await PoolAsync();
        Assert.Equal(0, pool.GetProperty("size").GetInt32());
        Assert.Equal(0, pool.GetProperty("ready").GetInt32());
        Assert.Equal(0, pool.GetProperty("warming").GetInt32());
    }

    [Fact]
    public async Task ThePoolRoute_AnswersOnlyTheAdminKey_AndHoldsNoSecret()
    {
        await StartAsync(size: 1);
        await ReadyMembersAsync(1);
        using var anonymous = await stack.Http.GetAsync(new Uri("/api/operator/pool", UriKind.Relative));
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, anonymous.StatusCode);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/operator/pool");
        request.Headers.Add("X-Admin-Key", SimulatedStack.AdminKey);
        using var answer = await stack.Http.SendAsync(request);
        var text = await answer.Content.ReadAsStringAsync();
        Assert.DoesNotContain("Password", text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("v2:", text, StringComparison.Ordinal);
        Assert.Contains("\"ready\":1", text, StringComparison.Ordinal);
    }

    private static string ServiceName(PoolMember member) => ResourceNames.Service(member.Id);

    private async Task<string> PayAsync(string email, string plan)
    {
        var customerId = await stack.SignupAsync(email, plan);
        await stack.SendAsync(StripeEventFactory.CheckoutCompleted(customerId, email, DateTimeOffset.UtcNow));
        await WaitActiveAsync(customerId);
        return customerId;
    }

    private Task WaitActiveAsync(params string[] customerIds) => Wait.UntilAsync(
        async () =>
        {
            foreach (var id in customerIds)
            {
                if ((await stack.CustomerAsync(id))!.Status != CustomerStatus.Active)
                {
                    return false;
                }
            }

            return true;
        }, TimeSpan.FromSeconds(60), "the customers to be active");

    private async Task<IReadOnlyList<string>> StepsAsync(Customer customer)
    {
        var steps = await stack.App.Services.GetRequiredService<ICustomerStore>().GetStepsAsync(customer.Id, customer.OrchestrationId, default);
        return [.. steps.Select(s => s.Name).Distinct().Order(StringComparer.Ordinal)];
    }

    private async Task<IReadOnlyList<string>> StepsBeforeActiveAsync(Customer customer)
    {
        var steps = await stack.App.Services.GetRequiredService<ICustomerStore>().GetStepsAsync(customer.Id, customer.OrchestrationId, default);
        return [.. steps.TakeWhile(s => s.Name != "activate").Select(s => s.Name).Append("activate")];
    }

    private async Task<IReadOnlyList<PoolMember>> ReadyMembersAsync(int count)
    {
        await Wait.UntilAsync(async () => (await ReadyIdsAsync()).Count == count, TimeSpan.FromSeconds(60), $"{count} pool member(s) to be ready",
            TimeSpan.FromMilliseconds(100));
        var store = stack.App.Services.GetRequiredService<PoolStore>();
        return [.. (await store.ListAsync(default)).Where(m => m.Status == PoolStatus.Ready)];
    }

    private async Task<IReadOnlyList<string>> ReadyIdsAsync() =>
        [.. (await stack.App.Services.GetRequiredService<PoolStore>().ListAsync(default)).Where(m => m.Status == PoolStatus.Ready).Select(m => m.Id)];

    private async Task<JsonElement> PoolAsync()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/operator/pool");
        request.Headers.Add("X-Admin-Key", SimulatedStack.AdminKey);
        using var answer = await stack.Http.SendAsync(request);
        answer.EnsureSuccessStatusCode();
        return await answer.Content.ReadFromJsonAsync<JsonElement>();
    }
}

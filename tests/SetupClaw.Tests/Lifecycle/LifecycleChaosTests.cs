using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using SetupClaw.Billing;
using SetupClaw.Customers;
using SetupClaw.Lifecycle;
using SetupClaw.Plans;
using SetupClaw.Providers;
using SetupClaw.Tests.Infrastructure;
using SetupClaw.Tests.Simulators;
using Xunit.Abstractions;

namespace SetupClaw.Tests.Lifecycle;

/// <summary>
/// The proof: 200 customers' Stripe histories (sign-ups, plan changes, failed and recovered payments,
/// cancellations), every event delivered one to three times in a random order, over HTTP to the local host built
/// in-process (the real webhook, lifecycle runs, sagas and sweep on the durable sidecar), with the real Neon and
/// Railway providers against the simulators failing 10% of calls. At the end every customer is where Stripe's last
/// word puts it, the simulators hold exactly the live customers' resources, and nothing is left open.
/// </summary>
[Collection(SimulatedLoadCollection.Name)]
public sealed class LifecycleChaosTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Customers = 200;
    private static readonly Dictionary<string, string> PriceOf = SimulatedStack.PriceOf;
    private SimulatedStack stack = null!;
    private int failedDeployments;
    private int redeliveries;

    public async Task InitializeAsync() => stack = await SimulatedStack.StartAsync();

    public async Task DisposeAsync() => await stack.DisposeAsync();

    [Fact]
    public async Task TwoHundredCustomers_DuplicatedShuffledEvents_TenPercentFaults_EndExactlyWhereStripeSays()
    {
        var random = new Random(20261126);
        var clock = Stopwatch.StartNew();

        // Leftovers: a branch and a service for each of three customers who signed up and never paid (what a crash
        // elsewhere could leave), which the sweep must find and remove; and one of each for a customer this control
        // database does not know (another installation's), which it must leave alone.
        var strays = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            strays.Add(await stack.SignupAsync($"stray{i}@example.com", Plan.Starter));
        }

        var foreign = CustomerIds.New();
        foreach (var stray in strays.Append(foreign))
        {
            stack.Neon.AddBranch(ResourceNames.Branch(stray));
            stack.Railway.AddService(ResourceNames.Service(stray));
        }

        // Sign-ups over HTTP, then each customer's Stripe history.
        var histories = new List<History>();
        for (var i = 0; i < Customers; i++)
        {
            var plan = Plan.All[random.Next(Plan.All.Count)].Name;
            histories.Add(History.Generate(await stack.SignupAsync($"chaos{i}@example.com", plan), plan, random));
        }

        stack.Neon.FaultRate = stack.Railway.FaultRate = 0.10;
        stack.Neon.RandomFaults = stack.Railway.RandomFaults = [Fault.ServerError, Fault.TooManyRequests, Fault.LostConnection];
        stack.Neon.RetryAfterSeconds = stack.Railway.RetryAfterSeconds = 0;
        stack.Neon.OperationDuration = TimeSpan.FromMilliseconds(10);
        // 8% of deployments fail, but never more than twice for one service: a failure the lifecycle's three attempts
        // (and the saga's three deployments) are meant to ride out. A third in a row would be an outage for the
        // operator, not something this proof should hit by chance.
        var outcomes = new Random(7);
        var failuresOf = new ConcurrentDictionary<string, int>();
        stack.Railway.DeploymentOutcome = service =>
        {
            lock (outcomes)
            {
                if (outcomes.NextDouble() >= 0.08 || failuresOf.GetValueOrDefault(service) >= 2)
                {
                    return null;
                }

                failuresOf[service] = failuresOf.GetValueOrDefault(service) + 1;
            }

            Interlocked.Increment(ref failedDeployments);
            return "FAILED";
        };

        // Three waves, each shuffled: the first brings every sign-up and a random third of the rest (so some
        // customers are cancelled while their saga runs); once it settles the second lands on running assistants
        // (plan changes, suspensions), and the third follows while the second's runs are busy.
        var deliveries = histories.SelectMany(h => h.Events.Select((e, i) => (Event: e, Wave: i == 0 ? 0 : random.Next(3))))
            .SelectMany(e => Enumerable.Repeat(e, 1 + random.Next(3))).OrderBy(_ => random.Next()).ToList();
        var refused = new ConcurrentBag<string>();
        var phases = new List<(string Phase, TimeSpan At)> { ("set-up (sign-ups, strays)", clock.Elapsed) };
        await DeliverAsync(deliveries.Where(d => d.Wave == 0).Select(d => d.Event), refused);
        phases.Add(("first wave delivered", clock.Elapsed));
        await SettledAsync();
        phases.Add(("first wave settled", clock.Elapsed));
        await DeliverAsync(deliveries.Where(d => d.Wave == 1).Select(d => d.Event), refused);
        // The third wave lands on top of the second's runs: once one of them is in flight (or, on a fast day, after
        // they have all settled, when there is nothing left to land on).
        await Wait.UntilAsync(async () => await stack.Database.CountAsync("select count(*) from customers where lifecycle_instance like 'lifecycle-%'") > 0
                || await stack.Database.CountAsync("select count(*) from customers where applied_version < desired_version") == 0,
            TimeSpan.FromMinutes(2), "a run of the second wave to be in flight");
        await DeliverAsync(deliveries.Where(d => d.Wave == 2).Select(d => d.Event), refused);
        phases.Add(("second and third waves delivered", clock.Elapsed));

        await SettledAsync();
        var faultsDuringRuns = stack.Neon.FaultsInjected + stack.Railway.FaultsInjected + failedDeployments;

        // One more sweep, faults off, so what it finds and removes is counted whole.
        stack.Neon.FaultRate = stack.Railway.FaultRate = 0;
        phases.Add(("second and third waves settled", clock.Elapsed));
        await stack.SweepAsync();
        phases.Add(("last sweep", clock.Elapsed));

        // Every customer is where Stripe's last word puts it.
        var store = stack.App.Services.GetRequiredService<ICustomerStore>();
        var mismatches = new List<string>();
        foreach (var history in histories)
        {
            var customer = (await store.GetAsync(history.CustomerId, default))!;
            var expectedStatus = history.FinalState switch
            {
                BillingStates.Cancelled => CustomerStatus.Deprovisioned,
                BillingStates.Suspended => CustomerStatus.Suspended,
                _ => CustomerStatus.Active,
            };
            if (customer.Status != expectedStatus || customer.BillingState != history.FinalState ||
                (expectedStatus != CustomerStatus.Deprovisioned && customer.Plan != history.FinalPlan) || customer.LifecycleError is not null)
            {
                mismatches.Add($"{customer.Id}: {customer.Status}/{customer.BillingState}/{customer.Plan}, expected {expectedStatus}/{history.FinalState}/{history.FinalPlan}; {customer.LifecycleError ?? customer.FailureReason}");
            }
        }

        // The providers hold exactly the live customers' resources, sized for their plans.
        var live = histories.Where(h => h.FinalState != BillingStates.Cancelled).ToDictionary(h => h.CustomerId, h => h.FinalPlan);
        var branches = stack.Neon.BranchNames.ToHashSet();
        var services = stack.Railway.ServiceNames.ToHashSet();
        var expectedBranches = live.Keys.Append(foreign).Select(ResourceNames.Branch).ToHashSet();
        var expectedServices = live.Keys.Append(foreign).Select(ResourceNames.Service).ToHashSet();
        foreach (var (customerId, plan) in live)
        {
            var service = stack.Railway.Service(ResourceNames.Service(customerId));
            var size = stack.Neon.ComputeSizes.GetValueOrDefault(ResourceNames.Branch(customerId));
            var identity = stack.CustomerData.IdentityOf(customerId);
            if (identity?.PlanName != plan || service?["vCPUs"]?.GetValue<double>() != PlanCatalog.Get(plan).Vcpus ||
                size.Max != Math.Max(0.25, PlanCatalog.Get(plan).Vcpus))
            {
                mismatches.Add($"{customerId}: resources not sized for {plan} (identity {identity?.PlanName}, {service?["vCPUs"]} vCPU; branch up to {size.Max} CU)");
            }

            if (stack.CustomerData.IsSuspended(customerId) != (histories.First(h => h.CustomerId == customerId).FinalState == BillingStates.Suspended))
            {
                mismatches.Add($"{customerId}: the runtime's suspension mark does not match Stripe");
            }
        }

        var sentEvents = histories.SelectMany(h => h.Events).Select(e => JsonDocument.Parse(e).RootElement.GetProperty("id").GetString()!).ToList();
        var recorded = await stack.Database.CountAsync($"select count(*) from stripe_events where id = any(array['{string.Join("','", sentEvents)}'])");
        var eventsLost = sentEvents.Count - recorded;
        var orphansFound = await stack.Database.CountAsync("select count(*) from orphans");
        var orphansRemoved = await stack.Database.CountAsync("select count(*) from orphans where resolution = 'removed'");
        var orphansLeft = await stack.Database.CountAsync("select count(*) from orphans where removed_at is null");
        var compensations = await stack.Database.CountAsync("select count(*) from provisioning_steps where step in ('delete_database', 'delete_service') and operation_id like 'provision-%'");
        var stepRetries = await stack.Database.CountAsync("select count(*) from provisioning_steps where status = 'failed'");
        var httpRetries = stack.App.Services.GetRequiredService<ProviderRetries>();
        var planChanges = await stack.Database.CountAsync("select count(*) from provisioning_steps where step = 'health_check' and operation_id like 'plan-%' and status = 'completed'");
        // Operations on one customer never ran at the same time: no two step rows of different operations overlap.
        var overlapping = await stack.Database.CountAsync(
            """
            select count(*) from provisioning_steps a join provisioning_steps b
              on a.customer_id = b.customer_id and a.operation_id < b.operation_id
            where a.started_at < coalesce(b.completed_at, 'infinity') and b.started_at < coalesce(a.completed_at, 'infinity')
            """);
        var cancelledInFlight = await stack.Database.CountAsync("select count(*) from customers where failure_reason like 'cancelled at %'");

        output.WriteLine("| measure                         | value |");
        output.WriteLine("|---------------------------------|------:|");
        Row("customers", Customers);
        Row("events (distinct)", sentEvents.Count);
        Row("deliveries", deliveries.Count);
        Row("duplicates delivered", deliveries.Count - sentEvents.Count);
        Row("redelivered after a 5xx", redeliveries);
        Row("  sign-ups / plan changes", $"{histories.Count} / {histories.Sum(h => h.PlanChanges)}");
        Row("  payment failures / recoveries", $"{histories.Sum(h => h.Suspensions)} / {histories.Sum(h => h.Recoveries)}");
        Row("  cancellations", histories.Count(h => h.FinalState == BillingStates.Cancelled));
        Row("faults injected", $"{faultsDuringRuns} (Neon {stack.Neon.FaultsInjected}/{stack.Neon.Requests}, Railway {stack.Railway.FaultsInjected}/{stack.Railway.Requests}, failed deployments {failedDeployments})");
        Row("retries", $"{httpRetries["neon"] + httpRetries["railway"] + stepRetries} (HTTP Neon {httpRetries["neon"]}, Railway {httpRetries["railway"]}; durable steps {stepRetries})");
        Row("plan changes applied (checked)", planChanges);
        Row("provisionings cancelled midway", cancelledInFlight);
        Row("compensations (undo steps run)", compensations);
        Row("overlapping operations", overlapping);
        Row("orphans found", orphansFound);
        Row("orphans removed", orphansRemoved);
        Row("orphans left", orphansLeft);
        Row("foreign resources left alone", (branches.Contains(ResourceNames.Branch(foreign)) ? 1 : 0) + (services.Contains(ResourceNames.Service(foreign)) ? 1 : 0));
        Row("events lost", eventsLost);
        Row("state mismatches", mismatches.Count);
        Row("wall time", $"{clock.Elapsed.TotalSeconds:0.0} s");
        foreach (var (phase, at) in phases)
        {
            output.WriteLine($"  {at.TotalSeconds,6:0.0} s  {phase}");
        }

        foreach (var mismatch in mismatches.Take(20))
        {
            output.WriteLine(mismatch);
        }

        foreach (var error in stack.Errors.Take(5))
        {
            output.WriteLine("host error: " + error);
        }

        Assert.Empty(refused);
        Assert.Empty(mismatches);
        Assert.Equal(0, orphansLeft);
        Assert.Equal(0, overlapping);
        Assert.Equal(0, eventsLost);
        Assert.True(expectedBranches.SetEquals(branches), $"branches: {branches.Except(expectedBranches).Count()} extra, {expectedBranches.Except(branches).Count()} missing");
        Assert.True(expectedServices.SetEquals(services), $"services: {services.Except(expectedServices).Count()} extra, {expectedServices.Except(services).Count()} missing");
        Assert.True(orphansRemoved >= 2 * strays.Count, "the sweep removed the stray branches and services");
        Assert.True(faultsDuringRuns > 0 && deliveries.Count > sentEvents.Count);
        Assert.Empty(stack.Neon.Violations);
        Assert.Empty(stack.Railway.Violations);
    }

    private Task SettledAsync() => stack.SettledAsync();

    /// <summary>Delivers as Stripe does: an answer other than 2xx is delivered again (here after a second, at most three times).</summary>
    private async Task DeliverAsync(IEnumerable<string> payloads, ConcurrentBag<string> refused) =>
        await Parallel.ForEachAsync(payloads, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (payload, ct) =>
        {
            for (var attempt = 1; ; attempt++)
            {
                using var response = await stack.SendAsync(payload, ct);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }

                Interlocked.Increment(ref redeliveries);
                if (attempt == 3)
                {
                    refused.Add($"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
                    return;
                }

                await Task.Delay(TimeSpan.FromSeconds(1), ct);
            }
        });

    private void Row(string measure, object value) => output.WriteLine($"| {measure,-31} | {value,5} |");

    /// <summary>One customer's subscription as Stripe would tell it, and where it ends.</summary>
    private sealed class History
    {
        public required string CustomerId { get; init; }

        public List<string> Events { get; } = [];

        public string FinalState { get; private set; } = BillingStates.Active;

        public required string FinalPlan { get; set; }

        public int PlanChanges { get; private set; }

        public int Suspensions { get; private set; }

        public int Recoveries { get; private set; }

        public static History Generate(string customerId, string plan, Random random)
        {
            var history = new History { CustomerId = customerId, FinalPlan = plan };
            var at = DateTimeOffset.UtcNow.AddHours(-2);
            history.Events.Add(StripeEventFactory.CheckoutCompleted(customerId, $"{customerId}@example.com", at));
            if (random.Next(2) == 0)
            {
                // Two events for one change: the first invoice is paid in the same second.
                history.Events.Add(StripeEventFactory.Invoice(customerId, paid: true, finalAttempt: false, at));
            }

            for (var step = random.Next(4); step > 0; step--)
            {
                at = at.AddSeconds(1 + random.Next(60));
                switch (random.Next(3))
                {
                    case 0:
                        history.FinalPlan = Plan.All.Where(p => p.Name != history.FinalPlan).ElementAt(random.Next(2)).Name;
                        history.PlanChanges++;
                        history.Events.Add(StripeEventFactory.SubscriptionUpdated(customerId, PriceOf[history.FinalPlan],
                            history.FinalState == BillingStates.Suspended ? "unpaid" : "active", at));
                        break;
                    case 1 when history.FinalState == BillingStates.Active:
                        history.FinalState = BillingStates.Suspended;
                        history.Suspensions++;
                        history.Events.Add(StripeEventFactory.Invoice(customerId, paid: false, finalAttempt: false, at.AddSeconds(-1)));
                        history.Events.Add(StripeEventFactory.Invoice(customerId, paid: false, finalAttempt: true, at));
                        history.Events.Add(StripeEventFactory.SubscriptionUpdated(customerId, PriceOf[history.FinalPlan], "unpaid", at));
                        break;
                    default:
                        if (history.FinalState == BillingStates.Suspended)
                        {
                            history.FinalState = BillingStates.Active;
                            history.Recoveries++;
                            history.Events.Add(StripeEventFactory.Invoice(customerId, paid: true, finalAttempt: false, at));
                            history.Events.Add(StripeEventFactory.SubscriptionUpdated(customerId, PriceOf[history.FinalPlan], "active", at));
                        }

                        break;
                }
            }

            if (random.Next(4) == 0)
            {
                history.FinalState = BillingStates.Cancelled;
                history.Events.Add(StripeEventFactory.SubscriptionDeleted(customerId, at.AddSeconds(1 + random.Next(60))));
            }

            return history;
        }
    }
}

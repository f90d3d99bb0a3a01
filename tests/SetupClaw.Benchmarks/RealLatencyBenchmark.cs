using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using SetupClaw.Billing;
using SetupClaw.Customers;
using SetupClaw.Plans;
using SetupClaw.Pool;
using SetupClaw.Provisioning;
using SetupClaw.Tests.Infrastructure;
using SetupClaw.Tests.Simulators;

namespace SetupClaw.Benchmarks;

/// <summary>
/// Time to active with the providers' published and observed latencies (the Neon and Railway simulators with
/// <see cref="SimulatedLatency.Real"/>, Railway's Pro rate limits enforced), on the in-process local host with the
/// real Neon and Railway clients and production settings: cold provisioning, then claims from a warm pool, then a
/// 200-signup burst (webhooks at 200 per second) for the acknowledgement time and the rate limits. Prints figures;
/// asserts nothing. Usage: ./setupclaw bench --latency real [customers] [burst]
/// </summary>
internal static class RealLatencyBenchmark
{
    public static async Task RunAsync(int customers, int burst)
    {
        var wall = Stopwatch.StartNew();
        Console.WriteLine($"Provisioning with real-provider latencies ({customers} customers paying at once; Neon and Railway simulators, figures of ../shared/reference/latencies.md)");
        if (customers > 0)
        {
            await ColdAsync(customers);
            await WarmAsync(customers);
        }

        await BurstAsync(burst);
        Console.WriteLine();
        Console.WriteLine($"({wall.Elapsed.TotalSeconds:0} s wall)");
    }

    /// <summary>Production's settings where they matter to the time: Neon polled every second, deployments watched 15 s before Railway is asked.</summary>
    private static Dictionary<string, string?> Production(int poolSize) => new()
    {
        ["Providers:Neon:OperationPollInterval"] = "00:00:01",
        ["Providers:Railway:DeploymentWatchSeconds"] = "15",
        ["Providers:Railway:MaxRequestsPerSecond"] = "50",
        ["Provisioning:HealthCheckTimeout"] = "00:01:30",
        ["Pool:Size"] = poolSize.ToString(CultureInfo.InvariantCulture),
        ["Pool:MaxWarmingAtOnce"] = Math.Max(1, poolSize).ToString(CultureInfo.InvariantCulture),
        ["Pool:IntervalSeconds"] = "1",
        ["App:InstallationId"] = "setupclaw-bench",
        ["Sweep:IntervalSeconds"] = "0",
    };

    private static async Task<SimulatedStack> StackAsync(int poolSize, SimulatedLatency latency)
    {
        var stack = await SimulatedStack.StartAsync(changes: Production(poolSize));
        stack.Neon.UseLatency(latency);
        stack.Railway.UseLatency(latency);
        stack.Railway.Limits = RateLimits.RailwayPro;
        return stack;
    }

    private static async Task ColdAsync(int count)
    {
        await using var stack = await StackAsync(0, SimulatedLatency.Real);
        var before = Snapshot(stack);
        var times = await PayAllAsync(stack, count, "cold");
        Console.WriteLine();
        Console.WriteLine($"Cold (no pool): {count} customers");
        await PrintAsync(stack, times, before, count, Steps.Provisioning);
    }

    private static async Task WarmAsync(int count)
    {
        await using var stack = await StackAsync(count, SimulatedLatency.Real);
        var warming = Stopwatch.StartNew();
        var pool = stack.App.Services.GetRequiredService<PoolStore>();
        await Wait.UntilAsync(async () => (await pool.ListAsync(default)).Count(m => m.Status == PoolStatus.Ready) == count,
            TimeSpan.FromMinutes(10), "the pool to be ready", TimeSpan.FromMilliseconds(250));
        var warmUp = warming.Elapsed;
        var before = Snapshot(stack);
        var times = await PayAllAsync(stack, count, "warm");
        Console.WriteLine();
        Console.WriteLine($"Warm (Pool:Size={count}, all ready after {warmUp.TotalSeconds:0.0} s of warming): {count} customers");
        await PrintAsync(stack, times, before, count, Steps.Warm);
    }

    /// <summary>Signs up <paramref name="count"/> customers, then sends every paid webhook at once; the time of each is from its webhook to its status active.</summary>
    private static async Task<List<double>> PayAllAsync(SimulatedStack stack, int count, string label)
    {
        var ids = new List<string>();
        for (var i = 0; i < count; i++)
        {
            ids.Add(await stack.SignupAsync($"{label}{i}@example.com", Plan.Starter));
        }

        var store = stack.App.Services.GetRequiredService<ICustomerStore>();
        var runs = ids.Select(async (id, i) =>
        {
            var clock = Stopwatch.StartNew();
            using var paid = await stack.SendAsync(StripeEventFactory.CheckoutCompleted(id, $"{label}{i}@example.com", DateTimeOffset.UtcNow));
            paid.EnsureSuccessStatusCode();
            await Wait.UntilAsync(async () => (await store.GetAsync(id, default))!.Status is CustomerStatus.Active or CustomerStatus.Failed,
                TimeSpan.FromMinutes(10), $"{id} to be active", TimeSpan.FromMilliseconds(100));
            var customer = (await store.GetAsync(id, default))!;
            if (customer.Status != CustomerStatus.Active)
            {
                Console.WriteLine($"  {id} failed: {customer.FailureReason}");
            }

            return clock.Elapsed.TotalMilliseconds;
        });
        return [.. await Task.WhenAll(runs)];
    }

    private static (Dictionary<string, int> Railway, Dictionary<string, int> Neon) Snapshot(SimulatedStack stack) =>
        (new(stack.Railway.RequestsByOperation), new(stack.Neon.RequestsByOperation));

    private static async Task PrintAsync(SimulatedStack stack, List<double> times, (Dictionary<string, int> Railway, Dictionary<string, int> Neon) before, int count, IReadOnlyList<string> steps)
    {
        Console.WriteLine($"  paid webhook -> active      median {Stats.Percentile(times, 50),8:0} ms   p95 {Stats.Percentile(times, 95),8:0} ms");
        var ids = await IdsAsync(stack);
        foreach (var step in steps)
        {
            var durations = await QueryAsync(stack, $"select duration_ms from provisioning_steps where customer_id in ({ids}) and step = '{step}' and status = 'completed'");
            Console.WriteLine($"  {step,-27} median {Stats.Percentile(durations, 50),8:0} ms   p95 {Stats.Percentile(durations, 95),8:0} ms");
        }

        var totals = await QueryAsync(stack, $"select extract(epoch from provisioned_at - provisioning_started_at) * 1000 from customers where id in ({ids}) order by id");
        var inSteps = await QueryAsync(stack,
            $"select sum(s.duration_ms) from customers c join provisioning_steps s on s.customer_id = c.id and s.operation_id = c.orchestration_id and s.completed_at <= c.provisioned_at where c.id in ({ids}) group by c.id order by c.id");
        // Waiting for the deployment (status looks and timers between the deploy step and the health check) is the provider's time.
        var deployWait = await QueryAsync(stack,
            $"""
            select coalesce(extract(epoch from max(h.started_at) - max(d.completed_at)) * 1000, 0) from customers c
            left join provisioning_steps d on d.customer_id = c.id and d.operation_id = c.orchestration_id and d.step = 'deploy' and d.status = 'completed' and d.completed_at <= c.provisioned_at
            left join provisioning_steps h on h.customer_id = c.id and h.operation_id = c.orchestration_id and h.step = 'health_check' and h.started_at <= c.provisioned_at
            where c.id in ({ids}) group by c.id order by c.id
            """);
        if (deployWait.Any(w => w > 0))
        {
            Console.WriteLine($"  deployment wait             median {Stats.Percentile(deployWait, 50),8:0} ms   p95 {Stats.Percentile(deployWait, 95),8:0} ms   (deploy to health check: Railway building and routing)");
        }

        var own = totals.Zip(inSteps, (total, stepsMs) => total - stepsMs).Zip(deployWait, (rest, wait) => rest - wait).ToList();
        Console.WriteLine($"  orchestration's own share   median {Stats.Percentile(own, 50),8:0} ms   p95 {Stats.Percentile(own, 95),8:0} ms   (start to active minus steps and deployment wait: queues, timers, hops)");
        Console.WriteLine($"  Railway API calls per provisioning: {Calls(stack.Railway.RequestsByOperation, before.Railway, count)}");
        Console.WriteLine($"  Neon API calls per provisioning:    {Calls(stack.Neon.RequestsByOperation, before.Neon, count)}");
        Console.WriteLine($"  refused for rate limits: {stack.Railway.Limits?.Refused ?? 0}");
    }

    private static string Calls(ConcurrentDictionary<string, int> now, Dictionary<string, int> before, int count)
    {
        var diff = now.Select(kv => (kv.Key, Count: kv.Value - before.GetValueOrDefault(kv.Key))).Where(d => d.Count > 0).OrderByDescending(d => d.Count).ToList();
        var total = diff.Sum(d => d.Count) / (double)count;
        return $"{total:0.0} ({string.Join(", ", diff.Select(d => $"{d.Key} {d.Count / (double)count:0.#}"))})";
    }

    /// <summary>
    /// 200 paid webhooks sent at 200 per second (one every 5 ms, not waiting for answers) for customers who signed up
    /// before; instant provider latencies but Railway's Pro limits enforced, so the clients' pacing is what is measured.
    /// The host is warmed first as a running one would be (a first wave at 20 per second, provisioned to the end):
    /// a fresh process's first requests measure the JIT and the opening of database connections, not the handler.
    /// </summary>
    private static async Task BurstAsync(int count)
    {
        await using var stack = await StackAsync(0, SimulatedLatency.None);
        var warmup = Math.Max(20, count / 5);
        var first = await SignupAllAsync(stack, "warm", warmup);
        var cold = await PayAtRateAsync(stack, first, perSecond: 20);
        await Wait.UntilAsync(async () => await stack.Database.CountAsync("select count(*) from customers where provisioning_status in ('active', 'failed')") == warmup,
            TimeSpan.FromMinutes(20), "every warm-up customer to finish", TimeSpan.FromMilliseconds(500));

        var ids = await SignupAllAsync(stack, "burst", count);
        var wall = Stopwatch.StartNew();
        var acks = await PayAtRateAsync(stack, ids, perSecond: 200);
        var sent = wall.Elapsed;
        await Wait.UntilAsync(async () => await stack.Database.CountAsync("select count(*) from customers where provisioning_status in ('active', 'failed')") == warmup + count,
            TimeSpan.FromMinutes(20), "every burst customer to finish", TimeSpan.FromMilliseconds(500));
        var active = await stack.Database.CountAsync("select count(*) from customers where provisioning_status = 'active' and email like 'burst%'");
        Console.WriteLine();
        Console.WriteLine($"Burst: {count} signups, paid webhooks sent at 200/s over {sent.TotalSeconds:0.0} s (instant providers, Railway Pro limits 10,000/h and 50/s enforced)");
        Console.WriteLine($"  first {warmup} on a fresh host (20/s)  p50 {Stats.Percentile(cold, 50),6:0.0} ms   p99 {Stats.Percentile(cold, 99),6:0.0} ms");
        Console.WriteLine($"  webhook acknowledgement     p50 {Stats.Percentile(acks, 50),6:0.0} ms   p99 {Stats.Percentile(acks, 99),6:0.0} ms   max {acks.Max(),6:0.0} ms");
        Console.WriteLine($"  all {active} of {count} active after {wall.Elapsed.TotalSeconds:0.0} s; Railway calls {stack.Railway.Requests} (warm-up included), refused for rate limits {stack.Railway.Limits!.Refused}");
    }

    private static async Task<List<(string Id, string Email)>> SignupAllAsync(SimulatedStack stack, string prefix, int count)
    {
        var signups = new List<(string, string)>();
        for (var i = 0; i < count; i++)
        {
            var email = $"{prefix}{i}@example.com";
            signups.Add((await stack.SignupAsync(email, Plan.Starter), email));
        }

        return signups;
    }

    /// <summary>Sends each customer's paid webhook on a fixed schedule (not waiting for answers); returns each acknowledgement's time in ms.</summary>
    private static async Task<double[]> PayAtRateAsync(SimulatedStack stack, List<(string Id, string Email)> customers, int perSecond)
    {
        var wall = Stopwatch.StartNew();
        var acks = new ConcurrentBag<double>();
        var sends = new List<Task>();
        for (var i = 0; i < customers.Count; i++)
        {
            var due = TimeSpan.FromSeconds(i / (double)perSecond);
            if (due > wall.Elapsed)
            {
                await Task.Delay(due - wall.Elapsed);
            }

            var (id, email) = customers[i];
            sends.Add(Task.Run(async () =>
            {
                var clock = Stopwatch.StartNew();
                using var answer = await stack.SendAsync(StripeEventFactory.CheckoutCompleted(id, email, DateTimeOffset.UtcNow));
                acks.Add(clock.Elapsed.TotalMilliseconds);
                answer.EnsureSuccessStatusCode();
            }));
        }

        await Task.WhenAll(sends);
        return [.. acks];
    }

    private static async Task<string> IdsAsync(SimulatedStack stack)
    {
        var ids = new List<string>();
        await using var command = stack.Database.DataSource.CreateCommand("select id from customers where provisioning_status = 'active'");
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            ids.Add($"'{reader.GetString(0)}'");
        }

        return ids.Count == 0 ? "''" : string.Join(",", ids);
    }

    private static async Task<List<double>> QueryAsync(SimulatedStack stack, string sql)
    {
        await using var command = stack.Database.DataSource.CreateCommand(sql);
        await using var reader = await command.ExecuteReaderAsync();
        var values = new List<double>();
        while (await reader.ReadAsync())
        {
            values.Add(reader.IsDBNull(0) ? 0 : Convert.ToDouble(reader.GetValue(0), CultureInfo.InvariantCulture));
        }

        return values;
    }
}

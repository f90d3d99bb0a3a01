using System.Diagnostics;
using System.Globalization;
using SetupClaw.Billing;
using SetupClaw.Tests.Infrastructure;

namespace SetupClaw.Benchmarks;

/// <summary>
/// N paid signups against the real local host (local PostgreSQL databases, runtime processes), one after another.
/// Prints figures; asserts nothing. Usage: ./setupclaw bench [N]
/// </summary>
internal static class ProvisioningBenchmark
{
    public static async Task RunAsync(int count)
    {
        var database = new TestDatabase();
        await database.InitializeAsync();
        var host = await LocalHostProcess.StartAsync(database.ConnectionString);
        try
        {
            var client = new ControlPlaneClient(host.CreateClient());
            var customers = new List<(string Id, string Token)>();
            var wall = Stopwatch.StartNew();

            // One warm-up customer, not counted: the first saga pays for JIT and connection pools.
            foreach (var index in Enumerable.Range(0, count + 1))
            {
                var (id, token, _) = await client.SignupAsync($"bench{index}@example.com", "starter");
                using var paid = await client.SendEventAsync(StripeEventFactory.CheckoutCompleted(id, $"bench{index}@example.com", DateTimeOffset.UtcNow));
                await client.WaitForStatusAsync(id, token, "active", TimeSpan.FromMinutes(2));
                if (index > 0)
                {
                    customers.Add((id, token));
                }
            }

            var elapsed = wall.Elapsed;
            var ids = string.Join(",", customers.Select(c => $"'{c.Id}'"));
            var totals = await QueryAsync(database, $"select extract(epoch from provisioned_at - provisioning_started_at) * 1000 from customers where id in ({ids})");
            var inSteps = await QueryAsync(database, $"select sum(duration_ms) from provisioning_steps where customer_id in ({ids}) group by customer_id");
            Console.WriteLine($"Provisioning benchmark: {customers.Count} customers, local providers, in-memory durable backend ({elapsed.TotalSeconds:0.0} s wall)");
            Console.WriteLine();
            Console.WriteLine($"  paid webhook -> active      median {Stats.Percentile(totals, 50),7:0} ms   p95 {Stats.Percentile(totals, 95),7:0} ms");
            foreach (var step in SetupClaw.Provisioning.Steps.Provisioning)
            {
                var durations = await QueryAsync(database, $"select duration_ms from provisioning_steps where customer_id in ({ids}) and step = '{step}' and status = 'completed'");
                Console.WriteLine($"  {step,-27} median {Stats.Percentile(durations, 50),7:0} ms   p95 {Stats.Percentile(durations, 95),7:0} ms");
            }

            var overhead = totals.Zip(inSteps, (total, steps) => total - steps).ToList();
            Console.WriteLine($"  orchestration overhead      median {Stats.Percentile(overhead, 50),7:0} ms   p95 {Stats.Percentile(overhead, 95),7:0} ms   (total minus time inside the steps)");

            foreach (var (id, token) in customers)
            {
                using var cancelled = await client.SendEventAsync(StripeEventFactory.SubscriptionDeleted(id, DateTimeOffset.UtcNow));
            }

            foreach (var (id, token) in customers)
            {
                await client.WaitForStatusAsync(id, token, "deprovisioned", TimeSpan.FromMinutes(2));
            }
        }
        finally
        {
            await host.DisposeAsync();
            await database.DisposeAsync();
        }
    }

    private static async Task<List<double>> QueryAsync(TestDatabase database, string sql)
    {
        await using var command = database.DataSource.CreateCommand(sql);
        await using var reader = await command.ExecuteReaderAsync();
        var values = new List<double>();
        while (await reader.ReadAsync())
        {
            values.Add(Convert.ToDouble(reader.GetValue(0), CultureInfo.InvariantCulture));
        }

        return values;
    }
}

using System.CommandLine;
using System.Text.Json;
using SetupClaw.Migration;
using Spectre.Console;

namespace SetupClaw.Cli;

/// <summary>
/// The operator's commands on customers and the mock era: <c>customers list|show|provision|retry|deprovision</c>,
/// <c>orphans</c>, <c>sweep</c>, <c>migrate-mock</c>. Each talks to the operator API only. With <c>--json</c> the
/// API's answer (for <c>customers list</c>: every page's customers, in one array) is the only thing on stdout.
/// </summary>
public static class OperatorCommands
{
    public static IEnumerable<Command> Create(Option<string?> url, Option<string?> adminKey, Option<bool> json)
    {
        OperatorApi Api(ParseResult parsed) => new(OperatorConnection.Resolve(parsed.GetValue(url), parsed.GetValue(adminKey)).CreateClient(TimeSpan.FromMinutes(5)));
        var stderr = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        // Redirected to a file or a pipe, tables are not squeezed into 80 columns (the reasons stay readable in a log).
        if (Console.IsErrorRedirected)
        {
            stderr.Profile.Width = 200;
        }

        if (Console.IsOutputRedirected)
        {
            AnsiConsole.Profile.Width = 200;
        }

        var status = new Option<string?>("--status") { Description = "Only customers in this status (pending, provisioning, active, failed, suspended, deprovisioning, deprovisioned, grandfathered)." };
        var plan = new Option<string?>("--plan") { Description = "Only customers on this plan (starter, pro, team)." };
        var list = new Command("list", "Every customer, newest first (all pages): id, email, status, plan, access URL, created.") { status, plan };
        list.SetAction(async (parsed, token) =>
        {
            var all = await Api(parsed).AllCustomersAsync(parsed.GetValue(status), parsed.GetValue(plan), token);
            if (parsed.GetValue(json))
            {
                Console.Out.WriteLine(JsonSerializer.Serialize(all, OperatorApi.Json));
                return 0;
            }

            var table = new Table().AddColumns("id", "email", "status", "plan", "access URL", "created");
            foreach (var c in all)
            {
                table.AddRow(Cell(c, "id"), Cell(c, "email"), Cell(c, "status"), Cell(c, "plan"), Cell(c, "accessUrl"), Cell(c, "createdAt"));
            }

            AnsiConsole.Write(table);
            Console.Out.WriteLine($"{all.Count} customer(s)");
            return 0;
        });

        var id = new Argument<string>("id") { Description = "The customer's id (cus_…)." };
        var show = new Command("show", "One customer: status, steps with durations, resources, billing facts, lifecycle, errors, emails.") { id };
        show.SetAction(async (parsed, token) =>
        {
            var answer = await Api(parsed).GetAsync($"api/operator/customers/{Uri.EscapeDataString(parsed.GetValue(id)!)}", token);
            if (parsed.GetValue(json) || !answer.Ok)
            {
                return Print(answer, parsed.GetValue(json));
            }

            var c = answer.Json;
            Console.Out.WriteLine($"{Cell(c, "id")}  {Cell(c, "email")}  {Cell(c, "status")} ({Cell(c, "step")})  plan {Cell(c, "plan")}");
            Console.Out.WriteLine($"billing: {Cell(c, "billingState")} since {Cell(c, "billingStateAt")}; Stripe customer {Cell(c, "stripeCustomerId")}, subscription {Cell(c, "subscriptionId")}");
            Console.Out.WriteLine($"access URL: {Cell(c, "accessUrl")}; created {Cell(c, "createdAt")}, provisioned {Cell(c, "provisionedAt")}" +
                (c.GetProperty("importedAt").ValueKind == JsonValueKind.String ? $", imported from the mock era {Cell(c, "importedAt")}" : ""));
            var resources = c.GetProperty("resources");
            Console.Out.WriteLine($"resources: database {resources.GetProperty("database")}, service {resources.GetProperty("service")}");
            var lifecycle = c.GetProperty("lifecycle");
            Console.Out.WriteLine($"lifecycle: desired {lifecycle.GetProperty("desiredVersion")}, applied {lifecycle.GetProperty("appliedVersion")}, run {Cell(lifecycle, "run")}");
            foreach (var error in new[] { "failureReason", "lifecycleError" }.Where(e => c.GetProperty(e).ValueKind == JsonValueKind.String))
            {
                Console.Out.WriteLine($"{error}: {c.GetProperty(error).GetString()}");
            }

            var steps = new Table().AddColumns("step", "status", "started", "ms", "error");
            foreach (var s in c.GetProperty("steps").EnumerateArray())
            {
                steps.AddRow(Cell(s, "name"), Cell(s, "status"), Cell(s, "startedAt"), Cell(s, "durationMs"), Cell(s, "error"));
            }

            AnsiConsole.Write(steps);
            return 0;
        });

        var customers = new Command("customers", "List, show, provision, retry and deprovision customers.") { list, show };
        foreach (var (name, route, description) in new[]
        {
            ("provision", "provision", "Provision a grandfathered (mock-era) customer through the lifecycle, bound to its existing subscription."),
            ("retry", "retry", "Run a failed customer's lifecycle again, once its cause is fixed."),
            ("deprovision", "deprovision", "Remove a customer's assistant (service, archive, database); Stripe is not touched."),
        })
        {
            var target = new Argument<string>("id") { Description = "The customer's id (cus_…)." };
            var command = new Command(name, description) { target };
            command.SetAction(async (parsed, token) =>
                Print(await Api(parsed).PostAsync($"api/operator/customers/{Uri.EscapeDataString(parsed.GetValue(target)!)}/{route}", null, token), parsed.GetValue(json)));
            customers.Add(command);
        }

        var orphans = new Command("orphans", "Provider resources that belong to no live customer, and the last sweeps.");
        orphans.SetAction(async (parsed, token) => Print(await Api(parsed).GetAsync("api/operator/orphans", token), parsed.GetValue(json)));
        var sweep = new Command("sweep", "Sweep now: remove orphans, restart lost lifecycle runs; prints what it did.");
        sweep.SetAction(async (parsed, token) => Print(await Api(parsed).PostAsync("api/operator/sweep", null, token), parsed.GetValue(json)));

        return [customers, orphans, sweep, MigrateMock(Api, json, stderr)];
    }

    private static Command MigrateMock(Func<ParseResult, OperatorApi> api, Option<bool> json, IAnsiConsole stderr)
    {
        var from = new Option<string>("--from") { Description = "The prototype's database: a connection string, a postgres:// URL, a plain-SQL pg_dump file, or env:NAME to read it from the environment variable NAME (keeps a password off the command line).", Required = true };
        var grandfather = new Option<bool>("--grandfather") { Description = "A: import the customers as grandfathered, bound to their subscriptions, nothing provisioned." };
        var provision = new Option<bool>("--provision") { Description = "B: provision a real assistant for every live subscription (no new payment), and email each customer." };
        var cleanSlate = new Option<bool>("--clean-slate") { Description = "C: list the subscriptions to cancel; with a Stripe key and --execute, cancel them and email each customer." };
        var dryRun = new Option<bool>("--dry-run") { Description = "Print the plan only; change nothing anywhere." };
        var perMinute = new Option<int>("--per-minute") { Description = "With --provision: at most this many provisionings started a minute.", DefaultValueFactory = _ => 10 };
        var only = new Option<string[]>("--only") { Description = "Only the customers with these emails.", AllowMultipleArgumentsPerToken = true };
        var priceMap = new Option<string[]>("--price-map") { Description = "OLD=PLAN: the prototype's old price id (or name) OLD is SetupClaw's PLAN (starter, pro, team).", AllowMultipleArgumentsPerToken = true };
        var execute = new Option<bool>("--execute") { Description = "With --clean-slate: really cancel (needs the control plane's Stripe key)." };
        var refund = new Option<bool>("--refund") { Description = "With --clean-slate: refund each subscription's last paid invoice too." };
        var scratch = new Option<string?>("--scratch") { Description = "A PostgreSQL server to restore a dump file into (a scratch database, dropped afterwards); else SETUPCLAW_SCRATCH_PG." };
        var timeout = new Option<int>("--timeout") { Description = "With --provision: seconds to wait for the provisionings to end.", DefaultValueFactory = _ => 900 };
        var command = new Command("migrate-mock", "Move the mock era's customers over: grandfather them, provision them, or give them a clean slate. Starts with the plan; writes a report under artifacts/.")
        {
            from, grandfather, provision, cleanSlate, dryRun, perMinute, only, priceMap, execute, refund, scratch, timeout,
        };
        command.SetAction(async (parsed, token) =>
        {
            var modes = new[] { (grandfather, MockMigrationModes.Grandfather), (provision, MockMigrationModes.Provision), (cleanSlate, MockMigrationModes.CleanSlate) }
                .Where(m => parsed.GetValue(m.Item1)).Select(m => m.Item2).ToList();
            if (modes.Count != 1)
            {
                throw new UsageException("Choose one of --grandfather, --provision or --clean-slate.");
            }

            var mode = modes[0];
            if ((parsed.GetValue(execute) || parsed.GetValue(refund)) && mode != MockMigrationModes.CleanSlate)
            {
                throw new UsageException("--execute and --refund belong to --clean-slate.");
            }

            if (parsed.GetValue(perMinute) is < 1 or > 600)
            {
                throw new UsageException("--per-minute must be a whole number from 1 to 600.");
            }

            var map = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var entry in parsed.GetValue(priceMap) ?? [])
            {
                var parts = entry.Split('=', 2);
                if (parts.Length != 2 || parts[0].Length == 0 || !Plans.PlanCatalog.TryGet(parts[1], out var target))
                {
                    throw new UsageException($"--price-map {entry}: expected OLD=PLAN with PLAN one of starter, pro, team.");
                }

                map[parts[0]] = target.Name;
            }

            var options = new MockMigrationOptions(mode, parsed.GetValue(dryRun), parsed.GetValue(execute), parsed.GetValue(refund), parsed.GetValue(perMinute), map,
                parsed.GetValue(only) ?? [], TimeSpan.FromSeconds(Math.Max(1, parsed.GetValue(timeout))));
            var bar = false;
            void Progress(string line)
            {
                if (!bar)
                {
                    stderr.MarkupLineInterpolated($"[grey]{line}[/]");
                }
            }

            var rows = await MockSource.ReadAsync(parsed.GetValue(from)!, parsed.GetValue(scratch) ?? Environment.GetEnvironmentVariable("SETUPCLAW_SCRATCH_PG"), Progress, token);
            var runner = new MockMigrationRunner(api(parsed), Progress);
            var (plan, run) = await runner.PlanAsync(rows, options, token);

            // The plan first, always: each customer, what will happen to it and why.
            stderr.Write(Decisions($"Plan ({mode}{(options.DryRun ? ", dry run: nothing changes" : "")})", plan));
            MockMigrationReport report;
            if (mode == MockMigrationModes.Provision && !options.DryRun && !Console.IsErrorRedirected)
            {
                // On a terminal, a progress bar on stderr (lines otherwise, as in CI or a log).
                bar = true;
                report = await stderr.Progress().StartAsync(async context =>
                {
                    var task = context.AddTask("provisioning");
                    runner.OnProgress = (value, of) => (task.MaxValue, task.Value) = (of, value);
                    var result = await run(token);
                    task.Value = task.MaxValue;
                    return result;
                });
                bar = false;
            }
            else
            {
                report = await run(token);
            }

            try
            {
                report.ReportPath = MockMigrationRunner.Write(report);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                stderr.MarkupLineInterpolated($"[yellow]The report could not be written under artifacts/ ({e.Message}); it follows on stdout.[/]");
            }

            if (parsed.GetValue(json))
            {
                Console.Out.WriteLine(JsonSerializer.Serialize(report, OperatorApi.Json));
            }
            else
            {
                if (!options.DryRun)
                {
                    AnsiConsole.Write(Decisions($"Report ({mode})", report.Customers));
                }

                Console.Out.WriteLine($"{report.Done} done, {report.Planned} planned, {report.Skipped} skipped, {report.Failed} failed; report: {report.ReportPath}");
            }

            return report.Failed > 0 ? 1 : 0;
        });
        return command;
    }

    private static Table Decisions(string title, IReadOnlyList<MockDecision> decisions)
    {
        var table = new Table { Title = new TableTitle(title) }.AddColumns("source id", "email", "action", "outcome", "plan", "customer", "reason");
        foreach (var d in decisions)
        {
            var outcome = d.Outcome switch { MockOutcomes.Done => "[green]done[/]", MockOutcomes.Failed => "[red]failed[/]", MockOutcomes.Skipped => "[yellow]skipped[/]", _ => "planned" };
            table.AddRow(Markup.Escape(d.SourceId), Markup.Escape(d.Email), Markup.Escape(d.Action), outcome, Markup.Escape(d.Plan ?? ""), Markup.Escape(d.CustomerId ?? ""), Markup.Escape(d.Reason));
        }

        return table;
    }

    private static int Print(ApiAnswer answer, bool json)
    {
        if (json && answer.Ok)
        {
            Console.Out.WriteLine(answer.Body);
        }
        else if (answer.Ok)
        {
            Console.Out.WriteLine(JsonSerializer.Serialize(answer.Json, new JsonSerializerOptions { WriteIndented = true }));
        }
        else
        {
            Console.Error.WriteLine($"The control plane answered {(int)answer.Status}: {answer.Detail}");
        }

        return answer.ExitCode;
    }

    private static string Cell(JsonElement element, string name) =>
        Markup.Escape(element.TryGetProperty(name, out var value) ? value.ValueKind switch
        {
            JsonValueKind.String => value.GetString()!,
            JsonValueKind.Null or JsonValueKind.Undefined => "",
            _ => value.ToString(),
        } : "");
}

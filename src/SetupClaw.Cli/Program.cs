using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using SetupClaw.Cli;
using Spectre.Console;

// Exit codes: 0 done, 1 something failed, 2 bad input. With --json the answer is the only thing on stdout;
// progress always goes to stderr.
var url = new Option<string?>("--url") { Description = "The control plane's address (else SETUPCLAW_URL, else the local settings).", Recursive = true };
var adminKey = new Option<string?>("--admin-key") { Description = "The operator API's admin key (else SETUPCLAW_ADMIN_KEY, else the local settings).", Recursive = true };
var json = new Option<bool>("--json") { Description = "Print the result as JSON on stdout, and nothing else.", Recursive = true };

var plan = new Option<string>("--plan") { Description = "The plan of the test customer.", DefaultValueFactory = _ => "starter" };
var timeout = new Option<int>("--timeout") { Description = "Seconds to wait for provisioning, and again for deprovisioning.", DefaultValueFactory = _ => 300 };
var smoke = new Command("smoke", "Provision a throwaway test customer through the real lifecycle, check its assistant (health, chat, memory), then remove it and check nothing is left.")
{
    plan,
    timeout,
};
smoke.SetAction(async (parsed, cancellationToken) =>
{
    var connection = OperatorConnection.Resolve(parsed.GetValue(url), parsed.GetValue(adminKey));
    var seconds = parsed.GetValue(timeout);
    if (seconds <= 0)
    {
        throw new UsageException("--timeout must be a positive number of seconds.");
    }

    var progress = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
    using var controlPlane = connection.CreateClient();
    var test = new SmokeTest(
        controlPlane, accessUrl => new HttpClient { BaseAddress = accessUrl, Timeout = TimeSpan.FromSeconds(120) }, TimeSpan.FromSeconds(seconds),
        line => progress.MarkupLineInterpolated($"[grey]{line}[/]"));
    var result = await test.RunAsync(parsed.GetValue(plan)!, cancellationToken);
    if (parsed.GetValue(json))
    {
        Console.Out.WriteLine(JsonSerializer.Serialize(result, new JsonSerializerOptions(JsonSerializerDefaults.Web)));
    }
    else
    {
        var table = new Table().AddColumns("step", "outcome", "seconds", "detail");
        foreach (var step in result.Steps)
        {
            var outcome = step.Outcome switch { SmokeStep.Passed => "[green]passed[/]", SmokeStep.Failed => "[red]failed[/]", _ => "[yellow]skipped[/]" };
            table.AddRow(Markup.Escape(step.Name), outcome, step.Seconds.ToString("0.00", CultureInfo.InvariantCulture), Markup.Escape(step.Detail ?? ""));
        }

        AnsiConsole.Write(table);
        Console.Out.WriteLine(result.Passed
            ? $"smoke passed in {result.Seconds.ToString("0.0", CultureInfo.InvariantCulture)} s (test customer {result.CustomerId}, removed)"
            : $"smoke FAILED in {result.Seconds.ToString("0.0", CultureInfo.InvariantCulture)} s: {result.Steps.FirstOrDefault(s => s.Outcome == SmokeStep.Failed)?.Detail}");
    }

    return result.Passed ? 0 : 1;
});

var pool = new Command("pool", "Show the warm pool: its configured size, members ready and warming, and each member's state.");
pool.SetAction(async (parsed, cancellationToken) =>
{
    var connection = OperatorConnection.Resolve(parsed.GetValue(url), parsed.GetValue(adminKey));
    using var controlPlane = connection.CreateClient();
    using var response = await controlPlane.GetAsync(new Uri("api/operator/pool", UriKind.Relative), cancellationToken);
    var body = await response.Content.ReadAsStringAsync(cancellationToken);
    if (!response.IsSuccessStatusCode)
    {
        Console.Error.WriteLine($"The control plane answered {(int)response.StatusCode}: {body}");
        return 1;
    }

    if (parsed.GetValue(json))
    {
        Console.Out.WriteLine(body);
        return 0;
    }

    using var answer = JsonDocument.Parse(body);
    var root = answer.RootElement;
    Console.Out.WriteLine($"pool size {root.GetProperty("size").GetInt32()}: {root.GetProperty("ready").GetInt32()} ready, {root.GetProperty("warming").GetInt32()} warming" +
        $" ({root.GetProperty("failed").GetInt32()} failed and {root.GetProperty("draining").GetInt32()} draining, being destroyed); members are warmed on {root.GetProperty("plan").GetString()}");
    var table = new Table().AddColumns("member", "status", "since", "detail");
    foreach (var member in root.GetProperty("members").EnumerateArray())
    {
        var since = member.GetProperty("readyAt").ValueKind == JsonValueKind.String ? member.GetProperty("readyAt").GetString() : member.GetProperty("createdAt").GetString();
        table.AddRow(Markup.Escape(member.GetProperty("id").GetString() ?? ""), Markup.Escape(member.GetProperty("status").GetString() ?? ""),
            Markup.Escape(since ?? ""), Markup.Escape(member.GetProperty("error").GetString() ?? ""));
    }

    AnsiConsole.Write(table);
    return 0;
});

var root = new RootCommand("SetupClaw's operator commands: they talk to a running control plane through its operator API.") { url, adminKey, json, smoke, pool };
foreach (var command in OperatorCommands.Create(url, adminKey, json))
{
    root.Add(command);
}
var parse = root.Parse(args);
if (parse.Errors.Count > 0)
{
    foreach (var error in parse.Errors)
    {
        Console.Error.WriteLine(error.Message);
    }

    Console.Error.WriteLine("Run with --help for the commands and their options.");
    return 2;
}

try
{
    // Ctrl-C cancels the command's token; the smoke test then still removes its customer, so no forced exit.
    return await parse.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null });
}
catch (UsageException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}
catch (ApiException e)
{
    Console.Error.WriteLine(e.Message);
    return e.Answer.ExitCode;
}
catch (Npgsql.NpgsqlException e)
{
    // Reading the prototype's database (or restoring its dump) failed after connecting: its state is unchanged.
    Console.Error.WriteLine($"PostgreSQL refused: {(e is Npgsql.PostgresException p ? p.MessageText : e.Message)}");
    return 1;
}
catch (JsonException e)
{
    Console.Error.WriteLine($"The control plane answered something that is not the expected JSON: {e.Message}");
    return 1;
}
catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
{
    Console.Error.WriteLine($"The control plane could not be reached or answered unexpectedly: {e.Message}");
    return 1;
}

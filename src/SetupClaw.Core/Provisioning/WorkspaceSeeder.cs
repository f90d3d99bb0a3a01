using System.Globalization;
using System.Text;
using Npgsql;
using SetupClaw.Customers;
using SetupClaw.Data;
using SetupClaw.Plans;

namespace SetupClaw.Provisioning;

/// <summary>
/// Writes what gives an assistant its identity and memory into the customer's own database: the runtime schema,
/// the workspace files rendered from <c>runtime/templates</c>, a first daily memory and the plan's skills.
/// Never overwrites: files the customer edited, and memories already there, survive a re-run.
/// </summary>
public interface IWorkspaceSeeder
{
    Task SeedAsync(string connectionString, Customer customer, string workspaceId, CancellationToken cancellationToken);
}

/// <summary>The seeder that writes into PostgreSQL.</summary>
public sealed class WorkspaceSeeder(TimeProvider clock) : IWorkspaceSeeder
{
    public static readonly IReadOnlyList<string> FileNames = ["SOUL.md", "USER.md", "AGENTS.md", "IDENTITY.md", "MEMORY.md"];

    public static string RuntimeSchemaSql { get; } = LoadSchema();

    public async Task SeedAsync(string connectionString, Customer customer, string workspaceId, CancellationToken cancellationToken)
    {
        var plan = PlanCatalog.Get(customer.Plan);
        var today = clock.GetUtcNow().ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var values = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["customer_name"] = string.IsNullOrWhiteSpace(customer.Name) ? customer.Email : customer.Name,
            ["email"] = customer.Email,
            ["assistant_name"] = string.IsNullOrWhiteSpace(customer.AssistantName) ? "Claw" : customer.AssistantName,
            ["plan"] = plan.DisplayName,
            ["features"] = string.Join(", ", plan.Features),
            ["date"] = today,
        };

        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var schema = new NpgsqlCommand(RuntimeSchemaSql, connection, transaction))
        {
            await schema.ExecuteNonQueryAsync(cancellationToken);
        }

        var batch = new NpgsqlBatch(connection, transaction);
        foreach (var name in FileNames)
        {
            batch.BatchCommands.Add(Command(
                "insert into workspace_files (name, content) values ($1, $2) on conflict (name) do nothing",
                name, Render(LoadTemplate(name), values)));
        }

        batch.BatchCommands.Add(Command(
            "insert into memories (content, metadata) select $1, $2::jsonb where not exists (select 1 from memories)",
            $"{today}: {values["assistant_name"]} was set up for {values["customer_name"]} on the {plan.DisplayName} plan.",
            """{"kind":"daily","source":"setupclaw"}"""));
        foreach (var skill in plan.Skills)
        {
            batch.BatchCommands.Add(Command("insert into skills (name) values ($1) on conflict (name) do nothing", skill));
        }

        batch.BatchCommands.Add(Command(
            "insert into workspace_settings (key, value) values ('workspace_id', $1) on conflict (key) do update set value = excluded.value",
            workspaceId));
        await using (batch)
        {
            await batch.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>Replaces <c>{{key}}</c> placeholders; unknown placeholders are left as written.</summary>
    public static string Render(string template, IReadOnlyDictionary<string, string> values)
    {
        var output = new StringBuilder(template.Length + 64);
        var position = 0;
        while (position < template.Length)
        {
            var open = template.IndexOf("{{", position, StringComparison.Ordinal);
            var close = open < 0 ? -1 : template.IndexOf("}}", open + 2, StringComparison.Ordinal);
            if (close < 0)
            {
                output.Append(template, position, template.Length - position);
                break;
            }

            output.Append(template, position, open - position);
            var key = template[(open + 2)..close].Trim();
            output.Append(values.TryGetValue(key, out var value) ? value : template[open..(close + 2)]);
            position = close + 2;
        }

        return output.ToString();
    }

    public static string LoadTemplate(string fileName) =>
        ControlDatabase.ReadResource(typeof(WorkspaceSeeder).Assembly, "templates/" + fileName);

    private static string LoadSchema() => string.Join("\n", ControlDatabase.ReadResources("schema/").Select(r => r.Text));

    private static NpgsqlBatchCommand Command(string sql, params string[] parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }

        return command;
    }
}

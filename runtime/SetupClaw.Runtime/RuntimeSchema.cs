using Npgsql;

namespace SetupClaw.Runtime;

public static class RuntimeSchema
{
    /// <summary>
    /// The runtime owns its schema: every file under Schema/, in order, in one transaction (the first file takes an
    /// advisory lock, so this and the provisioning seed step never race). Every statement is idempotent.
    /// </summary>
    public static async Task ApplyAsync(NpgsqlDataSource db, CancellationToken cancellationToken)
    {
        var assembly = typeof(RuntimeSchema).Assembly;
        var scripts = new List<string>();
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith("schema/", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            await using var stream = assembly.GetManifestResourceStream(name)!;
            using var reader = new StreamReader(stream);
            scripts.Add(await reader.ReadToEndAsync(cancellationToken));
        }

        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var command = new NpgsqlCommand(string.Join("\n", scripts), connection, transaction))
        {
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }
}

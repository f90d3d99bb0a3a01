using System.Reflection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace SetupClaw.Data;

/// <summary>The control-plane PostgreSQL database: one pooled data source for the whole process.</summary>
public sealed partial class ControlDatabase(NpgsqlDataSource dataSource, ILogger<ControlDatabase> logger)
{
    // Any fixed number: serialises migrations when several hosts start at once.
    private const long MigrationLockId = 0x5e7c1a3;

    public NpgsqlDataSource DataSource => dataSource;

    /// <summary>Applies the embedded migrations in order, each once, under an advisory lock. Safe to run at every start.</summary>
    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using (var setup = new NpgsqlCommand(
            "select pg_advisory_lock(@id); create table if not exists schema_migrations (version text primary key, applied_at timestamptz not null default now());",
            connection))
        {
            setup.Parameters.AddWithValue("id", MigrationLockId);
            await setup.ExecuteNonQueryAsync(cancellationToken);
        }

        try
        {
            foreach (var (version, sql) in LoadMigrations())
            {
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
                await using var check = new NpgsqlCommand("select 1 from schema_migrations where version = @v", connection, transaction);
                check.Parameters.AddWithValue("v", version);
                if (await check.ExecuteScalarAsync(cancellationToken) is not null)
                {
                    continue;
                }

                await using (var apply = new NpgsqlCommand(sql, connection, transaction))
                {
                    await apply.ExecuteNonQueryAsync(cancellationToken);
                }

                await using var record = new NpgsqlCommand("insert into schema_migrations (version) values (@v)", connection, transaction);
                record.Parameters.AddWithValue("v", version);
                await record.ExecuteNonQueryAsync(cancellationToken);
                await transaction.CommitAsync(cancellationToken);
                LogApplied(logger, version);
            }
        }
        finally
        {
            await using var unlock = new NpgsqlCommand("select pg_advisory_unlock(@id)", connection);
            unlock.Parameters.AddWithValue("id", MigrationLockId);
            await unlock.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }

    private static IEnumerable<(string Version, string Sql)> LoadMigrations() =>
        ReadResources("migrations/").Select(r => (Path.GetFileNameWithoutExtension(r.Name), r.Text));

    /// <summary>Every embedded resource under <paramref name="prefix"/>, in name order.</summary>
    internal static IEnumerable<(string Name, string Text)> ReadResources(string prefix)
    {
        var assembly = typeof(ControlDatabase).Assembly;
        return assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(prefix, StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(n => (n, ReadResource(assembly, n)));
    }

    internal static string ReadResource(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name) ?? throw new InvalidOperationException($"Missing embedded resource {name}.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Applied control database migration {Version}")]
    private static partial void LogApplied(ILogger logger, string version);
}

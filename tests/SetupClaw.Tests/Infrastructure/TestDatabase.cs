using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using SetupClaw.Data;

namespace SetupClaw.Tests.Infrastructure;

/// <summary>
/// A fresh, migrated control database in the PostgreSQL that <c>./setupclaw test</c> starts (SETUPCLAW_TEST_PG).
/// On dispose it drops every customer database and role its customers own, then itself.
/// </summary>
public sealed class TestDatabase : IAsyncLifetime
{
    public static string AdminConnectionString =>
        Environment.GetEnvironmentVariable("SETUPCLAW_TEST_PG")
        ?? throw new InvalidOperationException("SETUPCLAW_TEST_PG is not set: run the tests with ./setupclaw test, which starts PostgreSQL.");

    public string Name { get; } = "sc_test_" + Guid.NewGuid().ToString("N")[..12];

    public string ConnectionString => new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = Name }.ConnectionString;

    public NpgsqlDataSource DataSource { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await ExecuteAdminAsync($"create database \"{Name}\"");
        DataSource = NpgsqlDataSource.Create(ConnectionString);
        await new ControlDatabase(DataSource, NullLogger<ControlDatabase>.Instance).MigrateAsync(CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        var customerIds = new List<string>();
        await using (var command = DataSource.CreateCommand("select id from customers"))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                customerIds.Add(reader.GetString(0));
            }
        }

        await DataSource.DisposeAsync();
        NpgsqlConnection.ClearAllPools();
        foreach (var id in customerIds)
        {
            await ExecuteAdminAsync($"drop database if exists \"claw_{id}\" with (force)");
            await ExecuteAdminAsync($"drop role if exists \"claw_{id}\"");
        }

        await ExecuteAdminAsync($"drop database if exists \"{Name}\" with (force)");
    }

    public async Task<string?> TextAsync(string sql)
    {
        await using var command = DataSource.CreateCommand(sql);
        return await command.ExecuteScalarAsync() as string;
    }

    /// <summary>Runs one statement on this test's control database; returns the rows it touched.</summary>
    public async Task<int> ExecuteAsync(string sql)
    {
        await using var command = DataSource.CreateCommand(sql);
        return await command.ExecuteNonQueryAsync();
    }

    public async Task<long> CountAsync(string sql)
    {
        await using var command = DataSource.CreateCommand(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    public static async Task<bool> AdminExistsAsync(string sql, string name)
    {
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("name", name);
        return await command.ExecuteScalarAsync() is not null;
    }

    /// <summary>One text value, read as the superuser on the server's default database or on <paramref name="database"/>.</summary>
    public static async Task<string?> AdminTextAsync(string sql, string? database = null)
    {
        await using var connection = new NpgsqlConnection(database is null
            ? AdminConnectionString
            : new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = database }.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync() as string;
    }

    /// <summary>Runs one statement as the superuser, on the server's default database or on <paramref name="database"/>.</summary>
    public static async Task ExecuteAdminAsync(string sql, string? database = null)
    {
        await using var connection = new NpgsqlConnection(database is null
            ? AdminConnectionString
            : new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = database }.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}

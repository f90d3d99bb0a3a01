using Npgsql;

namespace SetupClaw.Data;

/// <summary>Parameterised commands on the control database, shared by its stores.</summary>
internal static class Sql
{
    public static NpgsqlCommand Command(NpgsqlDataSource db, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = db.CreateCommand(sql);
        Add(command, parameters);
        return command;
    }

    public static async Task<int> ExecuteAsync(NpgsqlDataSource db, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var command = Command(db, sql, parameters);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public static async Task<T?> ScalarAsync<T>(NpgsqlDataSource db, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var command = Command(db, sql, parameters);
        return await command.ExecuteScalarAsync(cancellationToken) is T value ? value : default;
    }

    public static void Add(NpgsqlCommand command, params (string Name, object? Value)[] parameters)
    {
        foreach (var (name, value) in parameters)
        {
            // Typed as text when null so "@x::text is null" and coalesce() bind without ambiguity.
            command.Parameters.Add(value is null
                ? new NpgsqlParameter(name, NpgsqlTypes.NpgsqlDbType.Text) { Value = DBNull.Value }
                : new NpgsqlParameter(name, value));
        }
    }
}

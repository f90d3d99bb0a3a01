using Microsoft.Extensions.Logging;
using Npgsql;
using SetupClaw.Credentials;

namespace SetupClaw.Providers.Local;

/// <summary>A database and a login role of its own, with its own random password, in a local PostgreSQL server.</summary>
internal sealed partial class LocalDatabaseProvider(LocalAdminConnection admin, ILogger<LocalDatabaseProvider> logger) : IDatabaseProvider
{
    public async Task<DatabaseResource> CreateAsync(DatabaseRequest request, CancellationToken cancellationToken)
    {
        // Names are derived from a validated customer id ([a-z0-9_]), and the verifier is base64 and '$:': both safe
        // inside DDL, which PostgreSQL does not let us parameterise. The password itself never reaches the server.
        var name = ResourceNames.Database(request.OwnerId);
        var password = Secrets.NewPassword();
        var verifier = Secrets.ScramSha256Verifier(password);
        await using var connection = await admin.DataSource.OpenConnectionAsync(cancellationToken);

        var roleExists = await ScalarAsync(connection, "select 1 from pg_roles where rolname = @name", name, cancellationToken);
        await ExecuteAsync(connection, roleExists
            ? $"alter role \"{name}\" with login password '{verifier}'"
            : $"create role \"{name}\" with login password '{verifier}' connection limit 40", cancellationToken);

        if (!await ScalarAsync(connection, "select 1 from pg_database where datname = @name", name, cancellationToken))
        {
            try
            {
                await ExecuteAsync(connection, $"create database \"{name}\" owner \"{name}\"", cancellationToken);
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.DuplicateDatabase)
            {
                // A concurrent retry of this same step got there first: adopt it.
            }
        }

        // Only the owner may connect: one customer's credentials open nothing else, neither another customer's database
        // nor the control database or the server's own (CONNECT and TEMP are granted to PUBLIC by default).
        await ExecuteAsync(connection, $"revoke all on database \"{name}\" from public", cancellationToken);
        foreach (var shared in admin.SharedDatabases)
        {
            await ExecuteAsync(connection, $"revoke connect, temporary on database \"{shared.Replace("\"", "\"\"", StringComparison.Ordinal)}\" from public", cancellationToken);
        }

        if (request.InstallationId is { } installation)
        {
            await ExecuteAsync(connection, $"comment on database \"{name}\" is '{InstallationTag.Prefix}{InstallationTag.Checked(installation)}'", cancellationToken);
        }

        LogCreated(logger, name, roleExists);

        var builder = new NpgsqlConnectionStringBuilder(admin.ConnectionString)
        {
            Database = name,
            Username = name,
            Password = password,
        };
        return new DatabaseResource(name, builder.ConnectionString);
    }

    public async Task DeleteAsync(ResourceRef resource, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(resource);
        var name = NameOf(resource);
        await using var connection = await admin.DataSource.OpenConnectionAsync(cancellationToken);
        await ExecuteAsync(connection, $"drop database if exists \"{name}\" with (force)", cancellationToken);
        await ExecuteAsync(connection, $"drop role if exists \"{name}\"", cancellationToken);
        LogDropped(logger, name);
    }

    /// <summary>A local database has no compute of its own to size.</summary>
    public Task ResizeAsync(ResourceRef resource, string planName, CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task<IReadOnlyList<ProviderResource>> ListAsync(CancellationToken cancellationToken)
    {
        await using var command = admin.DataSource.CreateCommand(
            @"select datname, shobj_description(oid, 'pg_database') from pg_database where datname like 'claw\_%' order by 1");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var found = new List<ProviderResource>();
        while (await reader.ReadAsync(cancellationToken))
        {
            var name = reader.GetString(0);
            if (ResourceNames.OwnerOf(name) is { } owner)
            {
                found.Add(new ProviderResource(owner, name, InstallationTag.Read(reader.IsDBNull(1) ? null : reader.GetString(1))));
            }
        }

        return found;
    }

    /// <summary>The database's name: the recorded one (checked to be a name SetupClaw gives, as it is spliced into DDL) or the owner's derived one.</summary>
    private static string NameOf(ResourceRef resource) => resource.ResourceId is { } recorded
        ? ResourceNames.OwnerOf(recorded) is not null && recorded.StartsWith("claw_", StringComparison.Ordinal) ? recorded
            : throw new PermanentProvisioningException($"'{recorded}' is not a local database SetupClaw created.")
        : ResourceNames.Database(resource.OwnerId);

    private static async Task<bool> ScalarAsync(NpgsqlConnection connection, string sql, string name, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("name", name);
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Local database {Name} ready (adopted role: {Adopted})")]
    private static partial void LogCreated(ILogger logger, string name, bool adopted);

    [LoggerMessage(Level = LogLevel.Information, Message = "Local database {Name} and its role dropped")]
    private static partial void LogDropped(ILogger logger, string name);
}

/// <summary>The superuser data source for the local database provider, separate from the control pool.</summary>
/// <param name="controlConnectionString">The control database's: customer roles are kept out of it.</param>
internal sealed class LocalAdminConnection(string connectionString, string? controlConnectionString = null) : IAsyncDisposable
{
    private readonly NpgsqlDataSource dataSource = NpgsqlDataSource.Create(connectionString);

    public string ConnectionString { get; } = connectionString;

    /// <summary>The databases no customer role may connect to: the control database, the admin connection's, <c>postgres</c>.</summary>
    public IReadOnlyList<string> SharedDatabases { get; } =
        new[] { controlConnectionString, connectionString }
            .Select(c => c is null ? null : new NpgsqlConnectionStringBuilder(c).Database)
            .Append("postgres")
            .OfType<string>()
            .Where(d => d.Length > 0)
            .Distinct(StringComparer.Ordinal)
            .ToList();

    public NpgsqlDataSource DataSource => dataSource;

    public ValueTask DisposeAsync() => dataSource.DisposeAsync();
}

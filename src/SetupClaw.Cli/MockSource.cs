using System.Diagnostics;
using Npgsql;
using SetupClaw.Data;
using SetupClaw.Migration;

namespace SetupClaw.Cli;

/// <summary>
/// The prototype's database, read once: its <c>customers</c> rows (id, email, Stripe customer and subscription, plan,
/// status; never <c>api_key</c>, <c>workspace_id</c> or <c>access_url</c>). SOURCE is a connection string or
/// <c>postgres://</c> URL, or a plain-SQL <c>pg_dump</c> file, restored with the local <c>psql</c> into a scratch
/// database (dropped afterwards) of the server <c>--scratch</c> names.
/// </summary>
public static class MockSource
{
    private static readonly string[] RequiredColumns = ["id", "email", "stripe_customer_id", "subscription_id", "plan", "status"];

    public static async Task<IReadOnlyList<MockCustomerRow>> ReadAsync(string source, string? scratch, Action<string> progress, CancellationToken cancellationToken)
    {
        source = FromEnvironment(source, "--from");
        scratch = scratch is null ? null : FromEnvironment(scratch, "--scratch");
        if (File.Exists(source))
        {
            return await FromDumpAsync(source, scratch, progress, cancellationToken);
        }

        if (!PostgresConnectionStrings.IsUrl(source) && !source.Contains('=', StringComparison.Ordinal))
        {
            // Not echoed: a mistyped URL may hold a password.
            throw new UsageException("--from is neither a file nor a PostgreSQL connection string or postgres:// URL.");
        }

        return await FromDatabaseAsync(Normalize(source, "--from"), progress, cancellationToken);
    }

    /// <summary><c>env:NAME</c> reads the value from the environment variable NAME: a password then stays out of the command line (and <c>ps</c>, and shell history).</summary>
    private static string FromEnvironment(string value, string option)
    {
        if (!value.StartsWith("env:", StringComparison.Ordinal))
        {
            return value;
        }

        return Environment.GetEnvironmentVariable(value[4..]) is { Length: > 0 } set
            ? set
            : throw new UsageException($"{option} {value}: the environment variable {value[4..]} is not set.");
    }

    private static string Normalize(string value, string option)
    {
        try
        {
            return PostgresConnectionStrings.Normalize(value);
        }
        catch (FormatException e)
        {
            throw new UsageException($"{option}: {e.Message}");
        }
    }

    private static async Task<IReadOnlyList<MockCustomerRow>> FromDatabaseAsync(string connectionString, Action<string> progress, CancellationToken cancellationToken)
    {
        var where = new NpgsqlConnectionStringBuilder(connectionString);
        var name = $"{where.Host}:{where.Port}/{where.Database}";
        await using var connection = new NpgsqlConnection(connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException)
        {
            throw new UsageException($"The prototype's database {name} could not be reached: {e.Message}. Check the host, port, user and password in --from.");
        }

        await using (var columns = new NpgsqlCommand("select column_name from information_schema.columns where table_name = 'customers' and table_schema = current_schema()", connection))
        {
            var found = new HashSet<string>(StringComparer.Ordinal);
            await using var reader = await columns.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                found.Add(reader.GetString(0));
            }

            if (found.Count == 0)
            {
                throw new UsageException($"{name} has no customers table: is --from the prototype's database?");
            }

            if (RequiredColumns.Where(c => !found.Contains(c)).ToList() is { Count: > 0 } missing)
            {
                throw new UsageException($"{name}'s customers table lacks {string.Join(", ", missing)}: expected the prototype's columns ({string.Join(", ", RequiredColumns)}).");
            }
        }

        var rows = new List<MockCustomerRow>();
        await using (var read = new NpgsqlCommand("select id::text, email, stripe_customer_id, subscription_id, plan, status from customers order by id", connection))
        {
            await using var reader = await read.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                string? S(int i) => reader.IsDBNull(i) ? null : reader.GetString(i);
                rows.Add(new MockCustomerRow(S(0), S(1)?.Trim(), S(2)?.Trim(), S(3)?.Trim(), S(4)?.Trim(), S(5)?.Trim()));
            }
        }

        progress($"read {rows.Count} customers from {name}");
        Validate(rows);
        return rows;
    }

    /// <summary>Refuses what cannot be migrated without guessing: a row without email or Stripe customer, an email or Stripe customer twice.</summary>
    public static void Validate(IReadOnlyList<MockCustomerRow> rows)
    {
        if (rows.FirstOrDefault(r => string.IsNullOrWhiteSpace(r.Email) || string.IsNullOrWhiteSpace(r.StripeCustomerId)) is { } incomplete)
        {
            throw new UsageException($"Prototype customer {incomplete.SourceId} has no email or Stripe customer id: fix the row, or remove it, before migrating.");
        }

        foreach (var (label, key) in new (string, Func<MockCustomerRow, string>)[] { ("email", r => r.Email!.ToLowerInvariant()), ("Stripe customer id", r => r.StripeCustomerId!) })
        {
            var twice = rows.GroupBy(key, StringComparer.Ordinal).Where(g => g.Count() > 1).ToList();
            if (twice.Count > 0)
            {
                throw new UsageException(
                    $"The source has the same {label} on more than one customer: " +
                    string.Join("; ", twice.Select(g => $"{g.Key} (ids {string.Join(", ", g.Select(r => r.SourceId))})")) +
                    ". Decide which row is the customer, remove the other, and run again; nothing was changed.");
            }
        }
    }

    private static async Task<IReadOnlyList<MockCustomerRow>> FromDumpAsync(string file, string? scratch, Action<string> progress, CancellationToken cancellationToken)
    {
        var head = new byte[5];
        await using (var stream = File.OpenRead(file))
        {
            _ = await stream.ReadAsync(head, cancellationToken);
        }

        if (head.AsSpan().SequenceEqual("PGDMP"u8))
        {
            throw new UsageException($"{file} is a custom-format dump, which psql cannot read: make a plain one (pg_dump --format=plain $DATABASE_URL > backup-customers.sql), or restore it yourself and pass the database as --from.");
        }

        if (scratch is null)
        {
            throw new UsageException("A dump file needs a PostgreSQL server to restore it into: pass --scratch CONNECTION (./setupclaw migrate-mock uses the local cluster).");
        }

        var admin = new NpgsqlConnectionStringBuilder(Normalize(scratch, "--scratch"));
        var database = "mock_restore_" + Guid.NewGuid().ToString("N")[..12];
        await using var server = new NpgsqlConnection(admin.ConnectionString);
        try
        {
            await server.OpenAsync(cancellationToken);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            throw new UsageException($"The scratch server {admin.Host}:{admin.Port} could not be reached: {e.Message}.");
        }

        await using (var create = new NpgsqlCommand($"create database {database}", server))
        {
            await create.ExecuteNonQueryAsync(cancellationToken);
        }

        try
        {
            progress($"restoring {Path.GetFileName(file)} into a scratch database {database} on {admin.Host}:{admin.Port}");
            var complaints = await RestoreAsync(file, admin, database, cancellationToken);
            try
            {
                return await FromDatabaseAsync(new NpgsqlConnectionStringBuilder(admin.ConnectionString) { Database = database, Pooling = false }.ConnectionString, progress, cancellationToken);
            }
            catch (UsageException e) when (complaints.Length > 0)
            {
                throw new UsageException($"{e.Message} psql said: {complaints}. Is {file} a plain-SQL pg_dump of the prototype's database?");
            }
        }
        finally
        {
            await using var drop = new NpgsqlCommand($"drop database if exists {database} with (force)", server);
            await drop.ExecuteNonQueryAsync(CancellationToken.None);
            progress($"scratch database {database} dropped");
        }
    }

    private static async Task<string> RestoreAsync(string file, NpgsqlConnectionStringBuilder admin, string database, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(Psql())
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        // Not ON_ERROR_STOP: a real dump's OWNER TO and GRANT lines name roles this server lacks, and fail harmlessly.
        // What matters is checked next: a customers table with the prototype's columns.
        foreach (var argument in new[] { "-X", "-q", "-f", file })
        {
            start.ArgumentList.Add(argument);
        }

        // The password goes by the environment, never the command line (where ps would show it).
        start.Environment["PGHOST"] = admin.Host;
        start.Environment["PGPORT"] = admin.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["PGUSER"] = admin.Username;
        start.Environment["PGPASSWORD"] = admin.Password;
        start.Environment["PGDATABASE"] = database;
        using var psql = Process.Start(start) ?? throw new UsageException("psql could not be started.");
        var output = psql.StandardOutput.ReadToEndAsync(cancellationToken);
        var errors = psql.StandardError.ReadToEndAsync(cancellationToken);
        await psql.WaitForExitAsync(cancellationToken);
        var said = (await errors).Trim();
        _ = await output;
        // psql's own words are not repeated: when a statement fails, the rows that follow are read as SQL and its
        // errors quote them (mock keys in clear). Only how many errors it reported.
        var errorCount = said.Split('\n', StringSplitOptions.RemoveEmptyEntries).Count(l => l.Contains("ERROR:", StringComparison.Ordinal) && !l.Contains("role", StringComparison.Ordinal));
        if (psql.ExitCode != 0)
        {
            throw new UsageException($"{file} could not be restored with psql (exit {psql.ExitCode}). Is it a plain-SQL pg_dump of the prototype's database?");
        }

        return errorCount == 0 ? "" : $"{errorCount} error(s) while restoring";
    }

    /// <summary>psql from <c>PSQL</c>, else the PATH, else Debian's PostgreSQL directories.</summary>
    private static string Psql()
    {
        if (Environment.GetEnvironmentVariable("PSQL") is { Length: > 0 } given)
        {
            return given;
        }

        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator).Concat(
            Directory.Exists("/usr/lib/postgresql") ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")) : []))
        {
            var candidate = Path.Combine(directory, "psql");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new UsageException("psql was not found: install PostgreSQL's client (apt-get install postgresql-client) or set PSQL to its path.");
    }
}

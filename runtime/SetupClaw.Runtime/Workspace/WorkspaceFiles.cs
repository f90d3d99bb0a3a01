using Npgsql;

namespace SetupClaw.Runtime.Workspace;

public sealed record WorkspaceFile(string Name, string Content, bool Edited, DateTimeOffset UpdatedAt);

/// <summary>
/// SOUL.md, USER.md, AGENTS.md, IDENTITY.md and MEMORY.md, kept in the customer's database. The seed step writes them
/// once; a customer's edit marks the file edited, and nothing SetupClaw does later overwrites an edited file.
/// </summary>
public sealed class WorkspaceFiles(NpgsqlDataSource db)
{
    /// <summary>The files, in the order the system prompt presents them.</summary>
    public static readonly IReadOnlyList<string> Names = ["IDENTITY.md", "SOUL.md", "USER.md", "AGENTS.md", "MEMORY.md"];

    /// <summary>The canonical name for <paramref name="name"/> (case-insensitive), or null when it is not a workspace file.</summary>
    public static string? Canonical(string name) =>
        Names.FirstOrDefault(n => string.Equals(n, name, StringComparison.OrdinalIgnoreCase));

    public async Task<IReadOnlyList<WorkspaceFile>> ListAsync(CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("select name, content, edited, updated_at from workspace_files");
        var files = new List<WorkspaceFile>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            files.Add(new WorkspaceFile(reader.GetString(0), reader.GetString(1), reader.GetBoolean(2), reader.GetFieldValue<DateTimeOffset>(3)));
        }

        return [.. files.Where(f => Names.Contains(f.Name)).OrderBy(f => IndexOf(f.Name))];
    }

    public async Task<WorkspaceFile?> GetAsync(string name, CancellationToken cancellationToken) =>
        (await ListAsync(cancellationToken)).FirstOrDefault(f => f.Name == name);

    public async Task<WorkspaceFile> SaveAsync(string name, string content, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("""
            insert into workspace_files (name, content, edited, updated_at) values ($1, $2, true, now())
            on conflict (name) do update set content = excluded.content, edited = true, updated_at = now()
            returning updated_at
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = name });
        command.Parameters.Add(new NpgsqlParameter { Value = content });
        var updatedAt = (DateTime)(await command.ExecuteScalarAsync(cancellationToken))!;
        return new WorkspaceFile(name, content, true, new DateTimeOffset(updatedAt, TimeSpan.Zero));
    }

    private static int IndexOf(string name) => Names.ToList().IndexOf(name);
}

using System.Text.Json;
using System.Text.RegularExpressions;
using Npgsql;
using NpgsqlTypes;

namespace SetupClaw.Runtime.Memory;

public sealed record MemoryItem(long Id, string Content, JsonElement Metadata, DateTimeOffset CreatedAt, float? Rank = null);

/// <summary>
/// Memories in the customer's database, searched with PostgreSQL full-text search (a stored tsvector with a GIN
/// index), ranked by <c>ts_rank_cd</c>. Search text is always a parameter of <c>plainto_tsquery</c> or
/// <c>websearch_to_tsquery</c>: it is never spliced into SQL, and operators in it are never honoured, so a hostile
/// string can neither break the query nor widen what it matches.
/// </summary>
public sealed partial class MemoryStore(NpgsqlDataSource db)
{
    /// <summary>How many of the newest matching memories a search ranks (docs/operations.md, "Runtime limits").</summary>
    public const int RankedCandidates = 1_000;

    public async Task<MemoryItem> AddAsync(string content, string metadataJson, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("insert into memories (content, metadata) values ($1, $2::jsonb) returning id, created_at");
        command.Parameters.Add(new NpgsqlParameter { Value = content });
        command.Parameters.Add(new NpgsqlParameter { Value = metadataJson });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        using var metadata = JsonDocument.Parse(metadataJson);
        return new MemoryItem(reader.GetInt64(0), content, metadata.RootElement.Clone(), reader.GetFieldValue<DateTimeOffset>(1));
    }

    /// <summary>Newest first; <paramref name="before"/> is the id the previous page ended at.</summary>
    public Task<List<MemoryItem>> PageAsync(int limit, long? before, CancellationToken cancellationToken) =>
        QueryAsync(
            "select id, content, metadata::text, created_at, null::real from memories where ($1::bigint is null or id < $1) order by id desc limit $2",
            [new NpgsqlParameter { Value = (object?)before ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Bigint }, new NpgsqlParameter { Value = limit }],
            cancellationToken);

    public async Task<bool> DeleteAsync(long id, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("delete from memories where id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>Whether the text has any word full-text search can look for (not only punctuation or stop words).</summary>
    public async Task<bool> HasSearchableWordsAsync(string query, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("select numnode(plainto_tsquery('english', $1)) > 0");
        command.Parameters.Add(new NpgsqlParameter { Value = query });
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>
    /// Memories holding every word of the query, best ranked first. Ranking reads each candidate's tsvector, so only
    /// the <see cref="RankedCandidates"/> most recent matches are ranked: a rare word ranks all its matches, a word in
    /// most memories stays fast (PostgreSQL walks the newest memories and stops at the cap).
    /// </summary>
    public Task<List<MemoryItem>> SearchAsync(string query, int limit, CancellationToken cancellationToken) =>
        RankedAsync("plainto_tsquery('english', $1)", query, limit, cancellationToken);

    /// <summary>
    /// The memories most relevant to a chat message: any of its words may match (the words are joined with
    /// <c>or</c> for <c>websearch_to_tsquery</c>; only letters and digits pass, so no other operator can appear).
    /// </summary>
    public async Task<List<MemoryItem>> RelevantToAsync(string message, int limit, CancellationToken cancellationToken)
    {
        var words = Words().Matches(message).Select(m => m.Value.ToLowerInvariant()).Where(w => w.Length > 1 && w != "or").Distinct().Take(32).ToList();
        if (words.Count == 0)
        {
            return [];
        }

        return await RankedAsync("websearch_to_tsquery('english', $1)", string.Join(" or ", words), limit, cancellationToken);
    }

    /// <summary>Matches of <paramref name="tsquery"/> (SQL over the parameter <c>$1</c>, never the text itself), ranked.</summary>
    private Task<List<MemoryItem>> RankedAsync(string tsquery, string text, int limit, CancellationToken cancellationToken) =>
        QueryAsync($"""
            select m.id, m.content, m.metadata::text, m.created_at, ts_rank_cd(m.search, q) as rank
            from (select id, content, metadata, created_at, search from memories
                  where search @@ {tsquery} order by id desc limit {RankedCandidates}) m, {tsquery} q
            order by rank desc, m.id desc
            limit $2
            """,
            [new NpgsqlParameter { Value = text }, new NpgsqlParameter { Value = limit }],
            cancellationToken);

    private async Task<List<MemoryItem>> QueryAsync(string sql, NpgsqlParameter[] parameters, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand(sql);
        command.Parameters.AddRange(parameters);
        var items = new List<MemoryItem>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            using var metadata = JsonDocument.Parse(reader.GetString(2));
            items.Add(new MemoryItem(
                reader.GetInt64(0), reader.GetString(1), metadata.RootElement.Clone(), reader.GetFieldValue<DateTimeOffset>(3),
                reader.IsDBNull(4) ? null : reader.GetFloat(4)));
        }

        return items;
    }

    [GeneratedRegex(@"[\p{L}\p{N}]+")]
    private static partial Regex Words();
}

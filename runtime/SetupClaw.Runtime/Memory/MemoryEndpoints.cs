using System.Globalization;
using System.Text.Json;
using SetupClaw.Runtime.Http;

namespace SetupClaw.Runtime.Memory;

public static class MemoryEndpoints
{
    private const string Example = """{"content": "Prefers morning meetings", "metadata": {"kind": "preference"}}""";

    public static void MapMemoryEndpoints(this IEndpointRouteBuilder app)
    {
        var memory = app.MapGroup("/api/memory");

        memory.MapPost("/", async Task<IResult> (HttpRequest request, MemoryStore store, CancellationToken cancellationToken) =>
        {
            var (body, problem) = await JsonBody.ReadAsync(request, RuntimeJson.Default.MemoryBody, Example, cancellationToken);
            if (problem is not null)
            {
                return problem;
            }

            if (string.IsNullOrWhiteSpace(body!.Content))
            {
                return Problems.BadRequest($"'content' is required and must not be blank; send {Example}.");
            }

            if (body.Content.Length > Limits.MemoryChars)
            {
                return Problems.TooLarge("memory", body.Content.Length, Limits.MemoryChars);
            }

            var metadata = "{}";
            if (body.Metadata is { ValueKind: not (JsonValueKind.Null or JsonValueKind.Undefined) } given)
            {
                if (given.ValueKind != JsonValueKind.Object)
                {
                    return Problems.BadRequest("'metadata' must be a JSON object, for example {\"kind\": \"preference\"}.");
                }

                metadata = given.GetRawText();
                if (metadata.Length > Limits.MetadataBytes)
                {
                    return Problems.TooLarge("metadata", metadata.Length, Limits.MetadataBytes);
                }

                if (metadata.Contains("\\u0000", StringComparison.Ordinal))
                {
                    return Problems.BadRequest("'metadata' must not contain NUL characters.");
                }
            }

            if (body.Content.Contains('\0', StringComparison.Ordinal))
            {
                return Problems.BadRequest("'content' must not contain NUL characters.");
            }

            var saved = await store.AddAsync(body.Content, metadata, cancellationToken);
            return Results.Created($"/api/memory/{saved.Id}", View(saved));
        });

        memory.MapGet("/", async Task<IResult> (HttpRequest request, MemoryStore store, CancellationToken cancellationToken) =>
        {
            if (!TryInt(request.Query["limit"], 20, 1, Limits.MaxPageSize, out var limit))
            {
                return Problems.BadRequest($"'limit' must be a whole number from 1 to {Limits.MaxPageSize}.");
            }

            long? before = null;
            if (request.Query["before"] is { Count: > 0 } cursor)
            {
                if (!long.TryParse(cursor, NumberStyles.None, CultureInfo.InvariantCulture, out var id))
                {
                    return Problems.BadRequest("'before' must be a memory id taken from the previous page's 'next' link.");
                }

                before = id;
            }

            var page = await store.PageAsync(limit, before, cancellationToken);
            return Results.Ok(new MemoryPage(
                [.. page.Select(View)],
                page.Count == limit ? $"/api/memory?limit={limit}&before={page[^1].Id}" : null));
        });

        memory.MapDelete("/{id}", async Task<IResult> (string id, MemoryStore store, CancellationToken cancellationToken) =>
        {
            if (!long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var memoryId))
            {
                return Problems.BadRequest($"'{id}' is not a memory id; ids are whole numbers, as returned by POST /api/memory.");
            }

            return await store.DeleteAsync(memoryId, cancellationToken)
                ? Results.NoContent()
                : Problems.NotFound($"There is no memory {memoryId}.");
        });

        memory.MapGet("/search", async Task<IResult> (HttpRequest request, MemoryStore store, CancellationToken cancellationToken) =>
        {
            var query = request.Query["query"].ToString();
            if (string.IsNullOrWhiteSpace(query))
            {
                return Problems.BadRequest("'query' is required: GET /api/memory/search?query=dentist&limit=10.");
            }

            if (query.Length > Limits.SearchQueryChars)
            {
                return Problems.TooLarge("query", query.Length, Limits.SearchQueryChars);
            }

            if (!TryInt(request.Query["limit"], 10, 1, Limits.MaxSearchResults, out var limit))
            {
                return Problems.BadRequest($"'limit' must be a whole number from 1 to {Limits.MaxSearchResults}.");
            }

            if (query.Contains('\0', StringComparison.Ordinal) || !await store.HasSearchableWordsAsync(query, cancellationToken))
            {
                return Problems.BadRequest(
                    $"'{query}' has no words to search for: search matches whole words, and punctuation and very common words (the, and, or) are ignored.");
            }

            var found = await store.SearchAsync(query, limit, cancellationToken);
            return Results.Ok(new MemorySearch(query, [.. found.Select(View)]));
        });
    }

    private static MemoryView View(MemoryItem item) => new(item.Id, item.Content, item.Metadata, item.CreatedAt, item.Rank);

    private static bool TryInt(Microsoft.Extensions.Primitives.StringValues raw, int fallback, int min, int max, out int value)
    {
        value = fallback;
        return raw.Count == 0 || (int.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value >= min && value <= max);
    }

    internal sealed record MemoryBody(string? Content, JsonElement? Metadata);
}

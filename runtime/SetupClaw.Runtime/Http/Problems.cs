using Microsoft.AspNetCore.Http.HttpResults;

namespace SetupClaw.Runtime.Http;

/// <summary>Every error the runtime answers is problem+json with a message a person can act on.</summary>
public static class Problems
{
    public static ProblemHttpResult Of(int status, string title, string detail, IDictionary<string, object?>? extensions = null) =>
        TypedResults.Problem(detail, statusCode: status, title: title, extensions: extensions);

    public static ProblemHttpResult BadRequest(string detail) => Of(400, "Bad request", detail);

    public static ProblemHttpResult NotFound(string detail) => Of(404, "Not found", detail);

    public static ProblemHttpResult TooLarge(string what, int length, int limit) =>
        Of(413, "Too large", $"The {what} is {length:N0} characters; the limit is {limit:N0}.", new Dictionary<string, object?> { ["limit"] = limit });
}

/// <summary>The documented size limits (docs/operations.md, "Runtime limits").</summary>
public static class Limits
{
    public const int RequestBodyBytes = 1024 * 1024;
    public const int MessageChars = 16_000;
    public const int MemoryChars = 8_000;
    public const int MetadataBytes = 4_096;
    public const int WorkspaceFileChars = 64 * 1024;
    public const int SearchQueryChars = 256;
    public const int MaxSearchResults = 50;
    public const int MaxPageSize = 100;

    /// <summary>Turns of a conversation replayed to the model with each new message.</summary>
    public const int HistoryTurns = 20;

    /// <summary>Memories put into the system prompt with each message, the most relevant first.</summary>
    public const int PromptMemories = 5;
}

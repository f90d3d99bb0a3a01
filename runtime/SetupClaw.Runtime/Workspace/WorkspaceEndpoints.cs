using System.Text;
using SetupClaw.Runtime.Http;

namespace SetupClaw.Runtime.Workspace;

public static class WorkspaceEndpoints
{
    private const string Example = """{"content": "# SOUL.md\n..."}""";

    public static void MapWorkspaceEndpoints(this IEndpointRouteBuilder app)
    {
        var files = app.MapGroup("/api/workspace/files");

        files.MapGet("/", async Task<IResult> (WorkspaceFiles workspace, CancellationToken cancellationToken) =>
            Results.Ok(new WorkspaceFileList([.. (await workspace.ListAsync(cancellationToken)).Select(Summary)])));

        files.MapGet("/{name}", async Task<IResult> (string name, HttpRequest request, WorkspaceFiles workspace, CancellationToken cancellationToken) =>
        {
            if (WorkspaceFiles.Canonical(name) is not { } canonical)
            {
                return UnknownFile(name);
            }

            if (await workspace.GetAsync(canonical, cancellationToken) is not { } file)
            {
                return Problems.NotFound($"{canonical} has not been written yet; PUT it to create it.");
            }

            return WantsMarkdown(request)
                ? Results.Text(file.Content, "text/markdown; charset=utf-8")
                : Results.Ok(new WorkspaceFileView(file.Name, file.Content, file.Edited, file.UpdatedAt));
        });

        files.MapPut("/{name}", async Task<IResult> (string name, HttpRequest request, WorkspaceFiles workspace, CancellationToken cancellationToken) =>
        {
            if (WorkspaceFiles.Canonical(name) is not { } canonical)
            {
                return UnknownFile(name);
            }

            string? content;
            if (request.HasJsonContentType())
            {
                var (body, problem) = await JsonBody.ReadAsync(request, RuntimeJson.Default.FileBody, Example, cancellationToken);
                if (problem is not null)
                {
                    return problem;
                }

                content = body!.Content;
                if (content is null)
                {
                    return Problems.BadRequest($"'content' is required; send {Example}.");
                }
            }
            else if (request.ContentType is { } type && (type.StartsWith("text/markdown", StringComparison.OrdinalIgnoreCase) || type.StartsWith("text/plain", StringComparison.OrdinalIgnoreCase)))
            {
                content = await ReadTextAsync(request, cancellationToken);
                if (content is null)
                {
                    return Problems.TooLarge("file", Limits.WorkspaceFileChars + 1, Limits.WorkspaceFileChars);
                }
            }
            else
            {
                return Problems.Of(415, "Unsupported content type",
                    $"Send the file as JSON {Example} with 'Content-Type: application/json', or as raw text with 'Content-Type: text/markdown'.");
            }

            if (content.Length > Limits.WorkspaceFileChars)
            {
                return Problems.TooLarge("file", content.Length, Limits.WorkspaceFileChars);
            }

            var saved = await workspace.SaveAsync(canonical, content, cancellationToken);
            return Results.Ok(Summary(saved));
        });
    }

    private static WorkspaceFileSummary Summary(WorkspaceFile file) =>
        new(file.Name, Encoding.UTF8.GetByteCount(file.Content), file.Edited, file.UpdatedAt);

    private static Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult UnknownFile(string name) =>
        Problems.NotFound($"'{name}' is not a workspace file. The files are {string.Join(", ", WorkspaceFiles.Names)}.");

    private static bool WantsMarkdown(HttpRequest request)
    {
        var accept = request.Headers.Accept.ToString();
        return accept.Contains("text/markdown", StringComparison.OrdinalIgnoreCase) && !accept.Contains("application/json", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The raw body as text, or null when it is longer than a workspace file may be.</summary>
    private static async Task<string?> ReadTextAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(request.Body, Encoding.UTF8);
        var buffer = new char[Limits.WorkspaceFileChars + 1];
        var total = 0;
        int read;
        while (total < buffer.Length && (read = await reader.ReadAsync(buffer.AsMemory(total), cancellationToken)) > 0)
        {
            total += read;
        }

        return total > Limits.WorkspaceFileChars ? null : new string(buffer, 0, total);
    }

    internal sealed record FileBody(string? Content);
}

using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using SetupClaw.Data;

namespace SetupClaw.Providers.Railway;

/// <summary>An error Railway reported in the GraphQL envelope (HTTP 200 with <c>errors[]</c>).</summary>
public sealed class RailwayException(string message) : Exception(message);

/// <summary>
/// Railway's public GraphQL API. Each operation is a whole, named document under <c>Operations/*.graphql</c> (as
/// Railway's own CLI keeps them), sent with its variables. Success is a 2xx with no <c>errors</c> and the expected
/// data; "Not Authorized" is permanent and says how to fix the token. 429 and 5xx are retried by the HTTP pipeline.
/// </summary>
public sealed class RailwayClient(HttpClient http, RailwayOptions options)
{
    private static readonly Dictionary<string, string> Documents = ControlDatabase.ReadResources("railway/")
        .ToDictionary(r => Path.GetFileNameWithoutExtension(r.Name), r => r.Text, StringComparer.Ordinal);

    /// <summary>Mutations that create something each time they run; their lost answers are not re-sent blindly.</summary>
    private static readonly HashSet<string> CreatesSomething = new(StringComparer.Ordinal) { "ServiceCreate", "ServiceDomainCreate" };

    public static IReadOnlyDictionary<string, string> Operations => Documents;

    public async Task<JsonNode> ExecuteAsync(string operation, object? variables, CancellationToken cancellationToken)
    {
        var document = Documents.TryGetValue(operation, out var text) ? text : throw new ArgumentException($"No operation {operation}.graphql.", nameof(operation));
        using var request = new HttpRequestMessage(HttpMethod.Post, options.Endpoint)
        {
            Content = JsonContent.Create(new { query = document, operationName = operation, variables = variables ?? new { } }),
        };
        if (CreatesSomething.Contains(operation))
        {
            request.Options.Set(ProviderHttp.NotIdempotent, true);
        }

        if (options.IsProjectToken)
        {
            request.Headers.Add("Project-Access-Token", options.Token);
        }
        else
        {
            request.Headers.Authorization = new("Bearer", options.Token);
        }

        using var response = await http.SendAsync(request, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        JsonNode? envelope;
        try
        {
            envelope = JsonNode.Parse(body);
        }
        catch (JsonException)
        {
            envelope = null;
        }

        if (envelope?["errors"] is JsonArray { Count: > 0 } errors)
        {
            var messages = string.Join("; ", errors.Select(e => e?["message"]?.GetValue<string>()));
            if (messages.Contains("Not Authorized", StringComparison.OrdinalIgnoreCase) || messages.Contains("project token not found", StringComparison.OrdinalIgnoreCase))
            {
                throw new PermanentProvisioningException(
                    $"Railway answered \"{messages}\" to {operation}: check Providers:Railway:Token and its kind. Account and workspace tokens are sent as 'Authorization: Bearer' (TokenKind Workspace or Account), project tokens as 'Project-Access-Token' (TokenKind Project), and the token must reach project {options.ProjectId}.");
            }

            if (response.StatusCode is System.Net.HttpStatusCode.TooManyRequests)
            {
                throw new HttpRequestException($"Railway refused {operation} for its rate limit (HTTP 429): {messages}", null, response.StatusCode);
            }

            if (!response.IsSuccessStatusCode && (int)response.StatusCode is >= 400 and < 500)
            {
                throw new PermanentProvisioningException($"Railway rejected {operation} (HTTP {(int)response.StatusCode}): {messages}");
            }

            throw new RailwayException($"Railway {operation} failed: {messages}");
        }

        if (!response.IsSuccessStatusCode || envelope?["data"] is not JsonObject data)
        {
            throw new HttpRequestException($"Railway {operation} answered HTTP {(int)response.StatusCode} without data.", null, response.StatusCode);
        }

        return data;
    }
}

using System.Net;
using System.Text;
using System.Text.Json;

namespace SetupClaw.Cli;

/// <summary>One answer of the operator API: its status and body, as text (printed as is with --json) and parsed.</summary>
public sealed record ApiAnswer(HttpStatusCode Status, string Body)
{
    public bool Ok => (int)Status is >= 200 and < 300;

    public JsonElement Json => JsonDocument.Parse(Body).RootElement;

    /// <summary>The problem's detail (problem+json), else the body: what to tell the operator.</summary>
    public string Detail
    {
        get
        {
            try
            {
                var root = Json;
                return root.TryGetProperty("detail", out var detail) && detail.GetString() is { } text ? text : Body;
            }
            catch (JsonException)
            {
                return Body;
            }
        }
    }

    /// <summary>0 on success; 2 when the request itself was wrong (unknown customer, bad parameter); 1 otherwise.</summary>
    public int ExitCode => Ok ? 0 : Status is HttpStatusCode.BadRequest or HttpStatusCode.NotFound ? 2 : 1;
}

/// <summary>The operator API, as the command line uses it.</summary>
public sealed class OperatorApi(HttpClient client)
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public Task<ApiAnswer> GetAsync(string path, CancellationToken cancellationToken) => SendAsync(HttpMethod.Get, path, null, cancellationToken);

    public Task<ApiAnswer> PostAsync(string path, object? body, CancellationToken cancellationToken) => SendAsync(HttpMethod.Post, path, body, cancellationToken);

    private async Task<ApiAnswer> SendAsync(HttpMethod method, string path, object? body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        if (body is not null)
        {
            request.Content = new StringContent(JsonSerializer.Serialize(body, Json), Encoding.UTF8, "application/json");
        }

        using var response = await client.SendAsync(request, cancellationToken);
        return new ApiAnswer(response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken));
    }

    /// <summary>Every customer, all pages followed, newest first (each as the API gives it).</summary>
    public async Task<IReadOnlyList<JsonElement>> AllCustomersAsync(string? status, string? plan, CancellationToken cancellationToken)
    {
        var all = new List<JsonElement>();
        string? after = null;
        do
        {
            var query = new List<string> { "limit=500" };
            if (status is not null)
            {
                query.Add("status=" + Uri.EscapeDataString(status));
            }

            if (plan is not null)
            {
                query.Add("plan=" + Uri.EscapeDataString(plan));
            }

            if (after is not null)
            {
                query.Add("after=" + Uri.EscapeDataString(after));
            }

            var answer = await GetAsync("api/operator/customers?" + string.Join('&', query), cancellationToken);
            if (!answer.Ok)
            {
                throw new ApiException(answer);
            }

            var page = answer.Json;
            all.AddRange(page.GetProperty("customers").EnumerateArray().Select(c => c.Clone()));
            after = page.GetProperty("next").GetString();
        }
        while (after is not null);
        return all;
    }
}

/// <summary>The control plane refused: its answer decides the exit code.</summary>
public sealed class ApiException(ApiAnswer answer) : Exception($"The control plane answered {(int)answer.Status}: {answer.Detail}")
{
    public ApiAnswer Answer { get; } = answer;
}

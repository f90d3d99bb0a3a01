using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http.HttpResults;

namespace SetupClaw.Runtime.Http;

/// <summary>
/// Reads a JSON body and turns every way it can be wrong (no body, another content type, broken JSON, a field of
/// the wrong type, too many bytes) into a problem that says what to send instead.
/// </summary>
public static class JsonBody
{
    public static async Task<(T? Value, ProblemHttpResult? Problem)> ReadAsync<T>(HttpRequest request, JsonTypeInfo<T> type, string example, CancellationToken cancellationToken)
        where T : class
    {
        if (!request.HasJsonContentType())
        {
            return (null, Problems.Of(415, "JSON expected", $"Send a JSON body with 'Content-Type: application/json', for example {example}."));
        }

        try
        {
            var value = await request.ReadFromJsonAsync(type, cancellationToken);
            return value is null ? (null, Problems.BadRequest($"The body is empty or null; send {example}.")) : (value, null);
        }
        catch (JsonException e)
        {
            var where = string.IsNullOrEmpty(e.Path) || e.Path == "$" ? "" : $" at {e.Path}";
            return (null, Problems.BadRequest($"The body is not valid JSON for this endpoint{where}; send {example}."));
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, Problems.Of(413, "Too large", $"The request body is larger than {Limits.RequestBodyBytes / 1024:N0} KiB."));
        }
    }
}

using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace SetupClaw.Http;

/// <summary>problem+json answers with a message a person can act on.</summary>
public static class Problems
{
    public static IResult BadRequest(string title, string detail) => Results.Problem(detail, statusCode: 400, title: title);

    public static IResult Unauthorized(string detail) => Results.Problem(detail, statusCode: 401, title: "Authentication required");

    public static IResult Forbidden(string detail) => Results.Problem(detail, statusCode: 403, title: "Not allowed");

    public static IResult NotFound(string detail) => Results.Problem(detail, statusCode: 404, title: "Not found");

    public static IResult Conflict(string title, string detail) => Results.Problem(detail, statusCode: 409, title: title);

    /// <summary>A value the caller sent, as an error message quotes it: at most 40 characters.</summary>
    public static string Echo(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return value.Length > 40 ? value[..40] + "…" : value;
    }

    public static IResult TooLarge(int limit) =>
        Results.Problem($"The request body is larger than {limit / 1024} KB.", statusCode: 413, title: "Request body too large");

    /// <summary>429 with <c>Retry-After</c> (whole seconds) and a message that says when to try again.</summary>
    public static IResult TooManyRequests(string detail, TimeSpan retryAfter) =>
        Answers.WithHeaders(Results.Problem(detail, statusCode: 429, title: "Too many requests"),
            ("Retry-After", Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture)));

    public static IResult UnsupportedMediaType(string expected) =>
        Results.Problem($"Send the body as {expected}.", statusCode: 415, title: "Unsupported media type");
}

/// <summary>Answer decorations every host gets, because they live in the core's results (no middleware needed).</summary>
public static class Answers
{
    /// <summary><paramref name="result"/> with <c>Cache-Control: no-store</c>: for answers that carry secrets or tokens.</summary>
    public static IResult NoStore(IResult result) => WithHeaders(result, ("Cache-Control", "no-store"), ("Pragma", "no-cache"));

    /// <summary><paramref name="result"/> with these response headers set before it runs.</summary>
    public static IResult WithHeaders(IResult result, params (string Name, string Value)[] headers) => new HeaderResult(result, headers);

    private sealed class HeaderResult(IResult inner, (string Name, string Value)[] headers) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            ArgumentNullException.ThrowIfNull(httpContext);
            foreach (var (name, value) in headers)
            {
                httpContext.Response.Headers[name] = value;
            }

            return inner.ExecuteAsync(httpContext);
        }
    }
}

public static class RequestBodies
{
    /// <summary>Reads the raw body as UTF-8, refusing more than <paramref name="limit"/> bytes whatever Content-Length says.</summary>
    public static async Task<string?> ReadLimitedAsync(HttpRequest request, int limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.ContentLength > limit)
        {
            return null;
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > limit)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    /// <summary>Reads a small JSON body as <typeparamref name="T"/>: the value, or the 413/415/400 problem to answer.</summary>
    public static async Task<(T? Value, IResult? Problem)> ReadJsonAsync<T>(HttpRequest request, int limit, CancellationToken cancellationToken)
        where T : class
    {
        if (!IsJson(request))
        {
            return (null, Problems.UnsupportedMediaType("application/json"));
        }

        var body = await ReadLimitedAsync(request, limit, cancellationToken);
        if (body is null)
        {
            return (null, Problems.TooLarge(limit));
        }

        try
        {
            return JsonSerializer.Deserialize<T>(body, Json) is { } value ? (value, null) : (null, Problems.BadRequest("Missing body", "Send a JSON object."));
        }
        catch (JsonException e)
        {
            return (null, Problems.BadRequest("Malformed JSON", $"The body is not valid JSON ({e.Message})."));
        }
    }

    public static string? BearerToken(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var header = request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && header.Length > 7 ? header[7..].Trim() : null;
    }

    public static bool IsJson(HttpRequest request) =>
        request?.ContentType is { } type && type.StartsWith("application/json", StringComparison.OrdinalIgnoreCase);

    public static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web);
}

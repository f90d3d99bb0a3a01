using System.Security.Cryptography;
using System.Text;

namespace SetupClaw.Runtime;

/// <summary>Bearer <c>claw_…</c> on everything but <c>/health</c>: compared by SHA-256 hash, in constant time.</summary>
public static class ApiKeyAuth
{
    public static IApplicationBuilder UseApiKeyAuth(this IApplicationBuilder app, RuntimeSettings settings) =>
        app.Use(async (context, next) =>
        {
            if (context.Request.Path.Equals("/health", StringComparison.OrdinalIgnoreCase))
            {
                await next(context);
                return;
            }

            var header = context.Request.Headers.Authorization.ToString();
            if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            {
                await Results.Problem("Send your API key as 'Authorization: Bearer claw_…'.", statusCode: 401, title: "API key required")
                    .ExecuteAsync(context);
                return;
            }

            if (!Matches(header[7..].Trim(), settings.ApiKeyHash))
            {
                await Results.Problem("That API key is not valid for this assistant.", statusCode: 403, title: "Invalid API key")
                    .ExecuteAsync(context);
                return;
            }

            await next(context);
        });

    public static bool Matches(string presented, string expectedHash)
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(presented)));
        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(hash), Encoding.ASCII.GetBytes(expectedHash));
    }
}

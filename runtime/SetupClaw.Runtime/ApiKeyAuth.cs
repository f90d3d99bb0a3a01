using System.Security.Cryptography;
using System.Text;
using Npgsql;

namespace SetupClaw.Runtime;

/// <summary>
/// Bearer <c>claw_…</c> on everything but <c>/health</c>, compared by SHA-256 hash in constant time against the hash in
/// the assistant's own database, read for every request: a key the control plane rotated is refused at once. The
/// request then carries that <see cref="RuntimeIdentity"/>.
/// </summary>
public static class ApiKeyAuth
{
    public static IApplicationBuilder UseApiKeyAuth(this IApplicationBuilder app) =>
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

            var db = context.RequestServices.GetRequiredService<NpgsqlDataSource>();
            var identity = await RuntimeIdentity.ReadAsync(db, context.RequestAborted);
            if (identity is null)
            {
                await Results.Problem("This assistant has not been given to a customer yet. If you just paid, wait for the setup to finish.",
                    statusCode: 503, title: "Assistant not set up").ExecuteAsync(context);
                return;
            }

            if (!Matches(header[7..].Trim(), identity.ApiKeyHash))
            {
                await Results.Problem("That API key is not valid for this assistant.", statusCode: 403, title: "Invalid API key")
                    .ExecuteAsync(context);
                return;
            }

            context.Features.Set(identity);
            await next(context);
        });

    public static bool Matches(string presented, string expectedHash)
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(presented)));
        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(hash), Encoding.ASCII.GetBytes(expectedHash));
    }
}

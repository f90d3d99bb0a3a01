using System.Security.Cryptography;
using System.Text;

namespace SetupClaw.Credentials;

/// <summary>Generation, hashing and constant-time checks of the secrets SetupClaw hands out.</summary>
public static class Secrets
{
    public const string ApiKeyPrefix = "claw_";

    /// <summary><c>claw_</c> + 64 lowercase hex characters from a CSPRNG.</summary>
    public static string NewApiKey() => ApiKeyPrefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    /// <summary>An opaque bearer token for the success page's status polling.</summary>
    public static string NewStatusToken() => "st_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));

    /// <summary>A password for a customer database role: URL-safe, so it never needs escaping in a connection URI.</summary>
    public static string NewPassword() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));

    /// <summary>SHA-256, lowercase hex. Keys and tokens are 256-bit random values, so a fast hash is the right tool here.</summary>
    public static string Hash(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    public static bool MatchesHash(string? presented, string? expectedHash)
    {
        if (string.IsNullOrEmpty(presented) || string.IsNullOrEmpty(expectedHash))
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(
            Encoding.ASCII.GetBytes(Hash(presented)),
            Encoding.ASCII.GetBytes(expectedHash));
    }

    public static bool FixedTimeEquals(string? presented, string? expected) =>
        presented is not null && expected is not null &&
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), Encoding.UTF8.GetBytes(expected));

    /// <summary>What remains visible once a key has been revealed: <c>claw_…abcd</c>.</summary>
    public static string Hint(string apiKey) => string.Concat(ApiKeyPrefix, "…", apiKey.AsSpan(apiKey.Length - 4));
}

using System.Security.Cryptography;
using System.Text;

namespace SetupClaw.Credentials;

/// <summary>Generation, hashing and constant-time checks of the secrets SetupClaw hands out.</summary>
public static class Secrets
{
    public const string ApiKeyPrefix = "claw_";

    /// <summary><c>claw_</c> + 64 lowercase hex characters from a CSPRNG.</summary>
    public static string NewApiKey() => ApiKeyPrefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    /// <summary>A runtime's token for the control plane's model gateway: <c>gw_</c> + 64 hex.</summary>
    public static string NewGatewayToken() => "gw_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

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

    /// <summary>
    /// The SCRAM-SHA-256 verifier PostgreSQL stores for <paramref name="password"/> (RFC 5802/7677:
    /// <c>SCRAM-SHA-256$iterations:salt$StoredKey:ServerKey</c>). Given to <c>CREATE/ALTER ROLE … PASSWORD</c>, the
    /// server stores it as is, so the clear password never travels in DDL, logs or pg_stat_statements.
    /// </summary>
    public static string ScramSha256Verifier(string password, int iterations = 4096)
    {
        var salt = RandomNumberGenerator.GetBytes(16);
        var salted = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, 32);
        var clientKey = HMACSHA256.HashData(salted, "Client Key"u8);
        var storedKey = SHA256.HashData(clientKey);
        var serverKey = HMACSHA256.HashData(salted, "Server Key"u8);
        return $"SCRAM-SHA-256${iterations}:{Convert.ToBase64String(salt)}${Convert.ToBase64String(storedKey)}:{Convert.ToBase64String(serverKey)}";
    }

    /// <summary>What remains visible once a key has been revealed: <c>claw_…abcd</c>.</summary>
    public static string Hint(string apiKey) => string.Concat(ApiKeyPrefix, "…", apiKey.AsSpan(apiKey.Length - 4));
}

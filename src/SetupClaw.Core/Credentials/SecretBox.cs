using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace SetupClaw.Credentials;

public sealed class SecurityOptions
{
    public const string Section = "Security";

    /// <summary>Base64 of 32 random bytes: encrypts the API key until it is revealed and customer database URLs at rest.</summary>
    public string EncryptionKey { get; set; } = "";

    /// <summary>The operator's key for <c>/api/orchestrations/{id}</c>.</summary>
    public string AdminKey { get; set; } = "";

    /// <summary>Keys that sealed values before a rotation (comma-separated base64), until every row is re-sealed.</summary>
    public string? PreviousEncryptionKeys { get; set; }

    /// <summary>How long after its first reveal the full API key is still shown (a page reload should not lose it).</summary>
    public TimeSpan ApiKeyRevealWindow { get; set; } = TimeSpan.FromMinutes(15);
}

/// <summary>The sealed columns of <c>customers</c>: each value is bound to its customer and column.</summary>
public static class SealedColumns
{
    public const string ApiKey = "api_key_encrypted";
    public const string DatabaseUrl = "database_url_encrypted";
    public const string GatewayToken = "gateway_token_encrypted";
}

/// <summary>
/// AES-256-GCM with a random nonce. Output <c>v2:{keyId}:</c> + base64(nonce | tag | ciphertext), with the customer
/// and column as associated data: a value copied to another row or column does not open. The key id (8 hex of the
/// key's SHA-256) names the key that sealed it, so the key can be rotated: the new one in
/// <c>Security:EncryptionKey</c>, the old ones in <c>Security:PreviousEncryptionKeys</c> (comma-separated) until
/// <see cref="SecretRotation"/> has re-sealed every row. <c>v1:</c> values (no key id, no associated data, from before)
/// still open with any configured key.
/// </summary>
public sealed class SecretBox
{
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private readonly byte[] current;
    private readonly Dictionary<string, byte[]> keys = new(StringComparer.Ordinal);

    public SecretBox(IOptions<SecurityOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        current = ParseKey(options.Value.EncryptionKey, "Security:EncryptionKey");
        CurrentKeyId = KeyId(current);
        keys[CurrentKeyId] = current;
        foreach (var previous in (options.Value.PreviousEncryptionKeys ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var key = ParseKey(previous, "Security:PreviousEncryptionKeys");
            keys.TryAdd(KeyId(key), key);
        }
    }

    /// <summary>The id of the key new values are sealed with.</summary>
    public string CurrentKeyId { get; }

    public static bool IsValidKey(string? base64)
    {
        try
        {
            return base64 is not null && Convert.FromBase64String(base64).Length == 32;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    public string Seal(string plaintext, string customerId, string column)
    {
        ArgumentNullException.ThrowIfNull(plaintext);
        var data = Encoding.UTF8.GetBytes(plaintext);
        var output = new byte[NonceSize + TagSize + data.Length];
        var nonce = output.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(current, TagSize);
        aes.Encrypt(nonce, data, output.AsSpan(NonceSize + TagSize), output.AsSpan(NonceSize, TagSize), Context(customerId, column));
        return $"v2:{CurrentKeyId}:" + Convert.ToBase64String(output);
    }

    /// <summary>Opens a value sealed for this customer and column; throws <see cref="CryptographicException"/> for any other.</summary>
    public string Open(string sealedText, string customerId, string column)
    {
        ArgumentNullException.ThrowIfNull(sealedText);
        if (sealedText.StartsWith("v2:", StringComparison.Ordinal) && sealedText.IndexOf(':', 3) is var colon and > 3)
        {
            var keyId = sealedText[3..colon];
            if (!keys.TryGetValue(keyId, out var key))
            {
                throw new CryptographicException($"Sealed with key {keyId}, which is not configured (Security:EncryptionKey or Security:PreviousEncryptionKeys).");
            }

            return Decrypt(key, FromBase64(sealedText[(colon + 1)..]), Context(customerId, column));
        }

        if (sealedText.StartsWith("v1:", StringComparison.Ordinal))
        {
            var input = FromBase64(sealedText[3..]);
            foreach (var key in keys.Values)
            {
                try
                {
                    return Decrypt(key, input, null);
                }
                catch (AuthenticationTagMismatchException)
                {
                    // Sealed with another configured key: try the next.
                }
            }

            throw new CryptographicException("No configured key opens this v1 value.");
        }

        throw new CryptographicException("Unknown sealed-secret format.");
    }

    /// <summary>Whether the value is sealed with the current key in the current format (nothing for a rotation to do).</summary>
    public bool IsCurrent(string sealedText) => sealedText?.StartsWith($"v2:{CurrentKeyId}:", StringComparison.Ordinal) == true;

    private static string Decrypt(byte[] key, byte[] input, byte[]? associatedData)
    {
        if (input.Length < NonceSize + TagSize)
        {
            throw new CryptographicException("Sealed value too short.");
        }

        var plaintext = new byte[input.Length - NonceSize - TagSize];
        using var aes = new AesGcm(key, TagSize);
        aes.Decrypt(input.AsSpan(0, NonceSize), input.AsSpan(NonceSize + TagSize), input.AsSpan(NonceSize, TagSize), plaintext, associatedData);
        return Encoding.UTF8.GetString(plaintext);
    }

    private static byte[] FromBase64(string text)
    {
        try
        {
            return Convert.FromBase64String(text);
        }
        catch (FormatException)
        {
            throw new CryptographicException("The sealed value is not valid base64 (damaged).");
        }
    }

    private static byte[] Context(string customerId, string column) => Encoding.UTF8.GetBytes($"setupclaw/{customerId}/{column}");

    private static string KeyId(byte[] key) => Convert.ToHexStringLower(SHA256.HashData(key))[..8];

    private static byte[] ParseKey(string base64, string setting) =>
        IsValidKey(base64)
            ? Convert.FromBase64String(base64)
            : throw new OptionsValidationException(SecurityOptions.Section, typeof(SecurityOptions),
                [$"{setting} must be base64 of 32 random bytes (openssl rand -base64 32)."]);
}

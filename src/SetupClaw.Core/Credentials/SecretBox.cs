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

    /// <summary>How long after its first reveal the full API key is still shown (a page reload should not lose it).</summary>
    public TimeSpan ApiKeyRevealWindow { get; set; } = TimeSpan.FromMinutes(15);
}

/// <summary>AES-256-GCM with a random nonce; output is <c>v1:</c> + base64(nonce | tag | ciphertext).</summary>
public sealed class SecretBox
{
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private readonly byte[] key;

    public SecretBox(IOptions<SecurityOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        key = ParseKey(options.Value.EncryptionKey);
    }

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

    public string Seal(string plaintext)
    {
        var data = Encoding.UTF8.GetBytes(plaintext);
        var output = new byte[NonceSize + TagSize + data.Length];
        var nonce = output.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(key, TagSize);
        aes.Encrypt(nonce, data, output.AsSpan(NonceSize + TagSize), output.AsSpan(NonceSize, TagSize));
        return "v1:" + Convert.ToBase64String(output);
    }

    public string Open(string sealedText)
    {
        if (!sealedText.StartsWith("v1:", StringComparison.Ordinal))
        {
            throw new CryptographicException("Unknown sealed-secret format.");
        }

        var input = Convert.FromBase64String(sealedText[3..]);
        var plaintext = new byte[input.Length - NonceSize - TagSize];
        using var aes = new AesGcm(key, TagSize);
        aes.Decrypt(input.AsSpan(0, NonceSize), input.AsSpan(NonceSize + TagSize), input.AsSpan(NonceSize, TagSize), plaintext);
        return Encoding.UTF8.GetString(plaintext);
    }

    private static byte[] ParseKey(string base64) =>
        IsValidKey(base64)
            ? Convert.FromBase64String(base64)
            : throw new OptionsValidationException(SecurityOptions.Section, typeof(SecurityOptions),
                ["Security:EncryptionKey must be base64 of 32 random bytes (openssl rand -base64 32)."]);
}

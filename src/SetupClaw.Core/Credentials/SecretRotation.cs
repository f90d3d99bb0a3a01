using System.Security.Cryptography;
using SetupClaw.Customers;

namespace SetupClaw.Credentials;

/// <summary>What a re-seal did: values now under the current key, values that already were, and those that did not open.</summary>
public sealed record ResealReport(int Resealed, int AlreadyCurrent, IReadOnlyList<string> Failed);

/// <summary>
/// Re-seals every sealed value with the current key (after a rotation, or to bind v1 values to their row). Each row is
/// replaced only if it has not changed meanwhile. Values no configured key opens are listed, not touched.
/// </summary>
public sealed class SecretRotation(ICustomerStore customers, SecretBox box)
{
    public async Task<ResealReport> ResealAsync(CancellationToken cancellationToken)
    {
        var resealed = 0;
        var current = 0;
        var failed = new List<string>();
        foreach (var (customerId, column, sealedText) in await customers.ListSealedAsync(cancellationToken))
        {
            if (box.IsCurrent(sealedText))
            {
                current++;
                continue;
            }

            try
            {
                var plaintext = box.Open(sealedText, customerId, column);
                if (await customers.ReplaceSealedAsync(customerId, column, sealedText, box.Seal(plaintext, customerId, column), cancellationToken))
                {
                    resealed++;
                }
            }
            catch (CryptographicException e)
            {
                failed.Add($"{customerId} {column}: {e.Message}");
            }
        }

        return new ResealReport(resealed, current, failed);
    }
}

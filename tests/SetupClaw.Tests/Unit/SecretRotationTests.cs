using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using SetupClaw.Credentials;
using SetupClaw.Customers;
using SetupClaw.Providers;
using SetupClaw.Tests.Infrastructure;

namespace SetupClaw.Tests.Unit;

/// <summary>Key rotation against a real control database: re-sealing moves every value to the new key, bound to its row, and all of them still open.</summary>
public sealed class SecretRotationTests : IAsyncLifetime
{
    private readonly TestDatabase database = new();

    public Task InitializeAsync() => database.InitializeAsync();

    public Task DisposeAsync() => database.DisposeAsync();

    [Fact]
    public async Task Reseal_AfterARotation_EveryValueOpensWithTheNewKeyAlone()
    {
        var oldKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        var newKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        var store = new PostgresCustomerStore(database.DataSource);
        var old = new SecretBox(Options.Create(new SecurityOptions { EncryptionKey = oldKey }));
        var (a, b) = (CustomerIds.New(), CustomerIds.New());
        foreach (var id in new[] { a, b })
        {
            await store.CreateAsync(new NewCustomer(id, $"{id}@example.com", null, null, "pro", Secrets.Hash("st")), default);
            await store.RecordDatabaseAsync(id, "db", old.Seal($"postgres://{id}", id, SealedColumns.DatabaseUrl), default);
        }

        // b's key copy is from before sealed values were bound to their row.
        await store.ReserveCredentialsAsync(b, "ws_b", Secrets.Hash("claw_b"), CredentialsAndPlansTests.V1Seal(oldKey, "claw_b"), "claw_…b", default);

        var rotated = new SecretBox(Options.Create(new SecurityOptions { EncryptionKey = newKey, PreviousEncryptionKeys = oldKey }));
        var report = await new SecretRotation(store, rotated).ResealAsync(default);

        Assert.Equal(3, report.Resealed);
        Assert.Empty(report.Failed);
        var fresh = new SecretBox(Options.Create(new SecurityOptions { EncryptionKey = newKey }));
        var sealedValues = await store.ListSealedAsync(default);
        Assert.Equal(3, sealedValues.Count);
        Assert.All(sealedValues, v => Assert.True(fresh.IsCurrent(v.Sealed)));
        Assert.Equal($"postgres://{a}", fresh.Open((await store.GetAsync(a, default))!.DatabaseUrlEncrypted!, a, SealedColumns.DatabaseUrl));
        Assert.Equal("claw_b", fresh.Open((await store.GetAsync(b, default))!.ApiKeyEncrypted!, b, SealedColumns.ApiKey));

        var again = await new SecretRotation(store, rotated).ResealAsync(default);
        Assert.Equal((0, 3), (again.Resealed, again.AlreadyCurrent));
    }

    [Fact]
    public async Task Reseal_AValueNoKeyOpens_IsListedAndLeftAlone()
    {
        var store = new PostgresCustomerStore(database.DataSource);
        var id = CustomerIds.New();
        var stranger = new SecretBox(Options.Create(new SecurityOptions { EncryptionKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)) }));
        await store.CreateAsync(new NewCustomer(id, "x@example.com", null, null, "pro", Secrets.Hash("st")), default);
        var sealedUrl = stranger.Seal("postgres://x", id, SealedColumns.DatabaseUrl);
        await store.RecordDatabaseAsync(id, "db", sealedUrl, default);

        var mine = new SecretBox(Options.Create(new SecurityOptions { EncryptionKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)) }));
        var report = await new SecretRotation(store, mine).ResealAsync(default);

        Assert.Equal(0, report.Resealed);
        Assert.Contains(id, Assert.Single(report.Failed), StringComparison.Ordinal);
        Assert.Equal(sealedUrl, (await store.GetAsync(id, default))!.DatabaseUrlEncrypted);
    }
}

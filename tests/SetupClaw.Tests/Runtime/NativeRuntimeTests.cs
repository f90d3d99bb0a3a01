using System.Net;
using SetupClaw.Providers.Local;
using SetupClaw.Tests.Infrastructure;

namespace SetupClaw.Tests.Runtime;

/// <summary>
/// The runtime's Native AOT build: <c>./setupclaw test</c> publishes it (warnings are errors) and names it in
/// <c>SETUPCLAW_NATIVE_RUNTIME</c>; every runtime the tests start (and every local runtime the host starts) is then
/// that binary. Which build runs is chosen by <see cref="RuntimeBinary.Resolve"/>, tested here on its own.
/// </summary>
public sealed class NativeRuntimeTests : IDisposable
{
    private readonly DirectoryInfo scratch = Directory.CreateTempSubdirectory("runtime-binary-");

    [Fact]
    public async Task TheRuntimeTests_RunTheNativeBinary_WhenTheTestCommandPublishedIt_AndItAnswersJson()
    {
        var published = Environment.GetEnvironmentVariable("SETUPCLAW_NATIVE_RUNTIME");
        if (published is not null)
        {
            Assert.True(RuntimeInstance.Binary.Native, RuntimeInstance.Binary.Why);
            Assert.Equal(Path.GetFullPath(published), RuntimeInstance.Binary.Path);
            var log = File.ReadAllLines(Path.Combine(Path.GetDirectoryName(published)!, "publish.log"));
            Assert.DoesNotContain(log, line => line.Contains(": warning ", StringComparison.Ordinal));
            Assert.Equal("\u007fELF"u8.ToArray(), File.ReadAllBytes(published)[..4]);
        }

        await using var runtime = await RuntimeInstance.StartAsync();
        var executable = new FileInfo($"/proc/{runtime.ProcessId}/exe").LinkTarget;
        if (RuntimeInstance.Binary.Native)
        {
            Assert.Equal(RuntimeInstance.Binary.Path, executable);
        }
        else
        {
            Assert.Equal("dotnet", Path.GetFileName(executable));
        }

        // Source-generated JSON, in and out, on the build that runs: a type missing from the contexts fails here.
        using var client = runtime.CreateClient();
        using var saved = await client.PostJsonAsync("/api/memory", new { content = "Native memories keep", metadata = new { kind = "note" } });
        Assert.Equal(HttpStatusCode.Created, saved.StatusCode);
        Assert.Equal("note", (await saved.JsonAsync()).GetProperty("metadata").GetProperty("kind").GetString());
        using var bad = await client.PostJsonAsync("/api/memory", new { content = 42 });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("application/problem+json", bad.Content.Headers.ContentType?.MediaType);
        var status = await (await client.GetAsync(new Uri("/status", UriKind.Relative))).JsonAsync();
        Assert.Equal(runtime.Identity.WorkspaceId, status.GetProperty("workspaceId").GetString());
    }

    [Fact]
    public void Resolve_InARepository_TheNativeBinaryIsCurrentUntilTheRuntimesSourcesChange()
    {
        var source = Touch(Path.Combine("runtime", "SetupClaw.Runtime", "Chat", "ChatRunner.cs"), DateTime.UtcNow.AddMinutes(-10));
        // Build output does not count as a change (a build after the publish is not newer code).
        Touch(Path.Combine("runtime", "SetupClaw.Runtime", "obj", "Release", "SetupClaw.Runtime.dll"), DateTime.UtcNow);
        var managed = Touch(Path.Combine("bin", "SetupClaw.Runtime.dll"), DateTime.UtcNow);
        var native = Touch(Path.Combine("artifacts", "runtime-native", "SetupClaw.Runtime"), DateTime.UtcNow.AddMinutes(-5));
        var options = new LocalProviderOptions { RuntimePath = managed, NativeRuntimePath = native };
        AgeFolders(DateTime.UtcNow.AddMinutes(-10));

        Assert.True(RuntimeBinary.Resolve(options).Native, RuntimeBinary.Resolve(options).Why);

        File.SetLastWriteTimeUtc(source, DateTime.UtcNow);
        var stale = RuntimeBinary.Resolve(options);
        Assert.False(stale.Native);
        Assert.Equal(managed, stale.Path);
        Assert.Contains("older than the runtime's sources", stale.Why, StringComparison.Ordinal);

        File.SetLastWriteTimeUtc(native, DateTime.UtcNow.AddMinutes(1));
        Assert.True(RuntimeBinary.Resolve(options).Native);

        // A deleted source changes only its folder: the binary that still holds it is stale too.
        File.SetLastWriteTimeUtc(source, DateTime.UtcNow.AddMinutes(-10));
        AgeFolders(DateTime.UtcNow.AddMinutes(-10));
        File.SetLastWriteTimeUtc(native, DateTime.UtcNow.AddMinutes(-5));
        Assert.True(RuntimeBinary.Resolve(options).Native);
        File.Delete(source);
        Assert.False(RuntimeBinary.Resolve(options).Native);
    }

    private void AgeFolders(DateTime writtenAt)
    {
        foreach (var folder in Directory.GetDirectories(Path.Combine(scratch.FullName, "runtime"), "*", SearchOption.AllDirectories).Append(Path.Combine(scratch.FullName, "runtime")))
        {
            Directory.SetLastWriteTimeUtc(folder, writtenAt);
        }
    }

    [Fact]
    public void Resolve_AwayFromTheSources_ANativeBinaryNewerThanTheManagedBuild_IsPreferred_AnOlderOne_IsNot()
    {
        var managed = Touch("SetupClaw.Runtime.dll", DateTime.UtcNow.AddMinutes(-10));
        var native = Touch("SetupClaw.Runtime", DateTime.UtcNow.AddMinutes(-5));
        var options = new LocalProviderOptions { RuntimePath = managed, NativeRuntimePath = native };

        var current = RuntimeBinary.Resolve(options);
        Assert.True(current.Native);
        Assert.Equal(native, current.Path);
        Assert.Equal(native, current.StartInfo().FileName);

        File.SetLastWriteTimeUtc(managed, DateTime.UtcNow);
        var stale = RuntimeBinary.Resolve(options);
        Assert.False(stale.Native);
        Assert.Contains("older than the managed build", stale.Why, StringComparison.Ordinal);
        var start = stale.StartInfo("dotnet");
        Assert.Equal("dotnet", start.FileName);
        Assert.Equal([managed], start.ArgumentList);

        Assert.True(RuntimeBinary.Resolve(new LocalProviderOptions { RuntimePath = managed, NativeRuntimePath = native, Runtime = "native" }).Native);
        Assert.False(RuntimeBinary.Resolve(new LocalProviderOptions { NativeRuntimePath = native, Runtime = "managed" }).Native);
    }

    [Fact]
    public void Resolve_AStandInRuntimePath_IsTakenAsGiven_ANativeRuntimeThatIsNotBuilt_SaysHowToBuildIt()
    {
        var standIn = Touch("stand-in.py", DateTime.UtcNow);
        var given = RuntimeBinary.Resolve(new LocalProviderOptions { RuntimePath = standIn });
        Assert.False(given.Native);
        Assert.Equal(standIn, given.Path);

        var missing = Path.Combine(scratch.FullName, "absent", "SetupClaw.Runtime");
        var refused = Assert.Throws<InvalidOperationException>(() => RuntimeBinary.Resolve(new LocalProviderOptions { NativeRuntimePath = missing, Runtime = "native" }));
        Assert.Contains("./setupclaw publish-runtime", refused.Message, StringComparison.Ordinal);
        Assert.False(RuntimeBinary.Resolve(new LocalProviderOptions { RuntimePath = standIn, NativeRuntimePath = missing }).Native);

        var unknown = Assert.Throws<InvalidOperationException>(() => RuntimeBinary.Resolve(new LocalProviderOptions { Runtime = "fast" }));
        Assert.Contains("auto, native or managed", unknown.Message, StringComparison.Ordinal);
    }

    public void Dispose() => scratch.Delete(recursive: true);

    private string Touch(string name, DateTime writtenAt)
    {
        var path = Path.Combine(scratch.FullName, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, name);
        File.SetLastWriteTimeUtc(path, writtenAt);
        return path;
    }
}

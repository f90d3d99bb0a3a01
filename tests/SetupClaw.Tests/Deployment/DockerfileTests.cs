using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using SetupClaw.Providers.Local;
using SetupClaw.Tests.Infrastructure;

namespace SetupClaw.Tests.Deployment;

/// <summary>
/// No Docker engine here, so the runtime's Dockerfile is checked by doing what its build stage does: only what it
/// COPYs, in a fresh directory, then its own `dotnet publish` line (framework-dependent here: the native link of the
/// same publish is what <c>./setupclaw test</c> does once, and the runtime's tests run its binary); the published
/// runtime must start and answer /health. The image workflow builds that Dockerfile.
/// </summary>
public sealed partial class DockerfileTests
{
    private static readonly string DockerfilePath = Path.Combine(Bicep.RepositoryRoot, "runtime", "SetupClaw.Runtime", "Dockerfile");

    [Fact]
    public async Task TheBuildStage_FromOnlyWhatItCopies_PublishesARuntimeThatStarts()
    {
        var lines = File.ReadAllLines(DockerfilePath);
        var buildStage = lines.TakeWhile(l => !l.StartsWith("FROM mcr.microsoft.com/dotnet/runtime-deps", StringComparison.Ordinal)).ToList();
        var context = Directory.CreateTempSubdirectory("dockerfile-");
        try
        {
            var source = Path.Combine(context.FullName, "src");
            Directory.CreateDirectory(source);
            foreach (var copy in buildStage.Where(l => l.StartsWith("COPY ", StringComparison.Ordinal)))
            {
                var parts = copy[5..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                var destination = Path.Combine(source, parts[^1]);
                foreach (var item in parts[..^1])
                {
                    CopyIntoContext(Path.Combine(Bicep.RepositoryRoot, item), item.EndsWith('/') ? destination : Path.Combine(destination, Path.GetFileName(item)));
                }
            }

            var publish = buildStage.Single(l => l.StartsWith("RUN dotnet publish", StringComparison.Ordinal))[4..];
            // The image's publish is the one ./setupclaw publish-runtime does (and the runtime's tests then run).
            Assert.Contains(" -c Release -r linux-x64 ", publish + " ", StringComparison.Ordinal);
            Assert.Contains("dotnet publish \"$ROOT/runtime/SetupClaw.Runtime\" -c Release -r linux-x64 ", File.ReadAllText(Path.Combine(Bicep.RepositoryRoot, "setupclaw")), StringComparison.Ordinal);
            Assert.Contains(buildStage, l => l.StartsWith("RUN apt-get", StringComparison.Ordinal) && l.Contains("clang zlib1g-dev", StringComparison.Ordinal));
            var output = Path.Combine(context.FullName, "app");
            var arguments = OutputOption().Replace(publish, "-o " + output).Split(' ', StringSplitOptions.RemoveEmptyEntries).Append("-p:PublishAot=false").ToArray();
            var (exitCode, stdout, stderr) = await Processes.RunAsync(arguments[0], arguments[1..], TimeSpan.FromMinutes(8), source,
                new Dictionary<string, string?> { ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1", ["DOTNET_NOLOGO"] = "1" });
            var log = stdout + stderr;
            Assert.True(exitCode == 0, log);
            Assert.True(File.Exists(Path.Combine(output, "SetupClaw.Runtime.dll")), log);

            await AssertStartsAsync(Path.Combine(output, "SetupClaw.Runtime.dll"));
        }
        finally
        {
            context.Delete(recursive: true);
        }
    }

    [Fact]
    public void TheImageWorkflow_BuildsThisDockerfile_FromTheRepositoryRoot_OnATag_IntoASlimImageOfTheNativeBinaryAlone()
    {
        var workflow = File.ReadAllText(Path.Combine(Bicep.RepositoryRoot, ".github", "workflows", "runtime-image.yml"));
        Assert.Contains("file: runtime/SetupClaw.Runtime/Dockerfile", workflow, StringComparison.Ordinal);
        Assert.Contains("context: .", workflow, StringComparison.Ordinal);
        Assert.Contains("tags: [ 'runtime-v*' ]", workflow, StringComparison.Ordinal);

        var lines = File.ReadAllLines(DockerfilePath);
        var final = lines.SkipWhile(l => !l.StartsWith("FROM mcr.microsoft.com/dotnet/runtime-deps", StringComparison.Ordinal)).ToList();
        Assert.EndsWith("-chiseled", final[0], StringComparison.Ordinal);
        // The build stage's Ubuntu, so the binary finds the glibc it was linked against.
        Assert.Contains(lines, l => l == "FROM mcr.microsoft.com/dotnet/sdk:10.0-noble AS build");
        Assert.Contains("noble", final[0], StringComparison.Ordinal);
        Assert.Equal(["COPY --from=build /app/SetupClaw.Runtime ."], final.Where(l => l.StartsWith("COPY", StringComparison.Ordinal)));
        Assert.Contains("USER app", final);
        Assert.Contains("HEALTHCHECK --interval=30s --timeout=5s --start-period=5s CMD [\"/app/SetupClaw.Runtime\", \"--healthcheck\"]", final);
        Assert.Equal("ENTRYPOINT [\"/app/SetupClaw.Runtime\"]", final[^1]);
    }

    [Fact]
    public async Task TheImagesHealthCheck_IsTheBinaryAskingItself_0WhenHealthy_1WhenNothingAnswers()
    {
        // The chiseled image has no shell and no curl: the runtime checks its own /health (PORT) and exits 0 or 1.
        await using var runtime = await RuntimeInstance.StartAsync();
        var check = RuntimeInstance.Binary.StartInfo();
        var arguments = check.ArgumentList.Append("--healthcheck").ToList();
        var healthy = await Processes.RunAsync(check.FileName, arguments, TimeSpan.FromSeconds(30),
            environment: new Dictionary<string, string?> { ["PORT"] = runtime.BaseUrl.Port.ToString(CultureInfo.InvariantCulture) });
        var nothing = await Processes.RunAsync(check.FileName, arguments, TimeSpan.FromSeconds(30),
            environment: new Dictionary<string, string?> { ["PORT"] = LoopbackPorts.Free().ToString(CultureInfo.InvariantCulture) });

        Assert.True(healthy.ExitCode == 0, healthy.Output + healthy.Errors);
        Assert.True(nothing.ExitCode == 1, nothing.Output + nothing.Errors);
    }

    private static void CopyIntoContext(string from, string to)
    {
        if (File.Exists(from))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(from, to, overwrite: true);
            return;
        }

        // .dockerignore leaves build output out of the context.
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(from, file);
            if (relative.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj"))
            {
                continue;
            }

            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(to, relative))!);
            File.Copy(file, Path.Combine(to, relative), overwrite: true);
        }
    }

    private static async Task AssertStartsAsync(string runtimeDll)
    {
        var database = "claw_docker_" + Guid.NewGuid().ToString("N")[..10];
        await TestDatabase.ExecuteAdminAsync($"create database \"{database}\"");
        var port = LoopbackPorts.Free();
        var start = new ProcessStartInfo("dotnet") { ArgumentList = { runtimeDll }, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.Environment["DATABASE_URL"] = new Npgsql.NpgsqlConnectionStringBuilder(TestDatabase.AdminConnectionString) { Database = database }.ConnectionString;
        start.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        start.Environment["SETUPCLAW_PARENT_PID"] = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        using var process = Process.Start(start)!;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(2) };
            await Wait.UntilAsync(async () =>
            {
                Assert.False(process.HasExited, "the published runtime exited");
                try
                {
                    return (await http.GetAsync(new Uri("/health", UriKind.Relative))).IsSuccessStatusCode;
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            }, TimeSpan.FromSeconds(30), "the published runtime to answer /health");
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            Npgsql.NpgsqlConnection.ClearAllPools();
            await TestDatabase.ExecuteAdminAsync($"drop database if exists \"{database}\" with (force)");
        }
    }

    [GeneratedRegex(@"-o\s+\S+")]
    private static partial Regex OutputOption();
}

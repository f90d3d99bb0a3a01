using System.Text.RegularExpressions;
using SetupClaw.Tests.Infrastructure;
using SetupClaw.Tests.Simulators;

namespace SetupClaw.Tests.Deployment;

/// <summary>The Bicep compiler restored from NuGet (Azure.Bicep.CommandLine.linux-x64, a PackageDownload of the test project).</summary>
public static partial class Bicep
{
    public static string RepositoryRoot { get; } = Path.GetFullPath(Path.Combine(Contracts.Root, "..", ".."));

    public static string InfraDirectory => Path.Combine(RepositoryRoot, "infra");

    /// <summary>The compiler binary, at the version the test project downloads.</summary>
    public static string Executable { get; } = Find();

    /// <summary>Runs the compiler; its exit code and everything it wrote (warnings go to stdout for lint, stderr for build).</summary>
    public static Task<(int ExitCode, string Output, string Errors)> RunAsync(params string[] arguments) =>
        // The compiler looks for updates and telemetry settings otherwise; neither is reachable here.
        Processes.RunAsync(Executable, arguments, TimeSpan.FromMinutes(3), environment: new Dictionary<string, string?> { ["BICEP_TRACING_ENABLED"] = "false" });

    private static string Find()
    {
        var project = File.ReadAllText(Path.Combine(RepositoryRoot, "tests", "SetupClaw.Tests", "SetupClaw.Tests.csproj"));
        var version = DownloadVersion().Match(project).Groups[1].Value;
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } root
            ? root
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var path = Path.Combine(packages, "azure.bicep.commandline.linux-x64", version, "tools", "bicep");
        return File.Exists(path)
            ? path
            : throw new FileNotFoundException($"The Bicep compiler {version} is not restored at {path}: run dotnet restore.", path);
    }

    [GeneratedRegex(""""PackageDownload Include="Azure.Bicep.CommandLine.linux-x64" Version="\[([0-9.]+)\]"""")]
    private static partial Regex DownloadVersion();
}

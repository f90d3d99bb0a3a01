using System.Diagnostics;

namespace SetupClaw.Providers.Local;

/// <summary>
/// Which build of the assistant runtime a local process runs: the Native AOT binary (<c>./setupclaw publish-runtime</c>,
/// <c>artifacts/runtime-native/SetupClaw.Runtime</c>) when it is built and current (published after the last change
/// to the runtime's sources in the same repository, or, away from them, not older than the managed build), the
/// managed <c>SetupClaw.Runtime.dll</c> (through <c>dotnet</c>) otherwise. <c>Providers:Local:Runtime</c>
/// (<c>auto</c>, <c>native</c>, <c>managed</c>) forces one; <see cref="Why"/> says which was chosen and why (the host
/// logs it once).
/// </summary>
public sealed record RuntimeBinary(string Path, bool Native, string Why)
{
    public const string NativeFileName = "SetupClaw.Runtime";
    public const string ManagedFileName = "SetupClaw.Runtime.dll";

    /// <summary>Where <c>./setupclaw publish-runtime</c> puts the native binary, under the repository root.</summary>
    public static readonly string NativeDirectory = System.IO.Path.Combine("artifacts", "runtime-native");

    /// <summary>How to start it: the native binary itself, or <paramref name="dotnet"/> with the managed assembly.</summary>
    public ProcessStartInfo StartInfo(string dotnet = "dotnet")
    {
        if (Native)
        {
            return new ProcessStartInfo(Path);
        }

        var start = new ProcessStartInfo(dotnet);
        start.ArgumentList.Add(Path);
        return start;
    }

    public static RuntimeBinary Resolve(LocalProviderOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var choice = (options.Runtime ?? "auto").Trim().ToLowerInvariant();
        if (choice is not ("auto" or "native" or "managed"))
        {
            throw new InvalidOperationException($"Providers:Local:Runtime is '{options.Runtime}': use auto, native or managed.");
        }

        var managed = System.IO.Path.GetFullPath(options.RuntimePath ?? System.IO.Path.Combine(AppContext.BaseDirectory, ManagedFileName));
        // A runtime path of one's own (another build, a stand-in) is taken as given unless a native one is named too.
        if (choice == "managed" || (choice == "auto" && options.RuntimePath is not null && options.NativeRuntimePath is null))
        {
            return new RuntimeBinary(managed, false, choice == "managed" ? "Providers:Local:Runtime is managed" : "Providers:Local:RuntimePath is set");
        }

        var native = options.NativeRuntimePath is { } configured ? System.IO.Path.GetFullPath(configured) : Discover();
        if (choice == "native")
        {
            return native is not null && File.Exists(native)
                ? new RuntimeBinary(native, true, "Providers:Local:Runtime is native")
                : throw new InvalidOperationException(
                    $"Providers:Local:Runtime is native but no native runtime is built{(native is null ? "" : $" at {native}")}: run ./setupclaw publish-runtime (needs clang and zlib1g-dev).");
        }

        if (native is null || !File.Exists(native))
        {
            return new RuntimeBinary(managed, false, "no native runtime is built (./setupclaw publish-runtime builds one)");
        }

        // A native binary published before the runtime's sources last changed is older code: the managed build is current.
        var publishedAt = File.GetLastWriteTimeUtc(native);
        var changedAt = NewestSource(native);
        if (publishedAt < changedAt)
        {
            return new RuntimeBinary(managed, false, $"the native runtime at {native} is older than the runtime's sources (./setupclaw publish-runtime refreshes it)");
        }

        if (changedAt is null && File.Exists(managed) && publishedAt < File.GetLastWriteTimeUtc(managed))
        {
            return new RuntimeBinary(managed, false, $"the native runtime at {native} is older than the managed build (./setupclaw publish-runtime refreshes it)");
        }

        return new RuntimeBinary(native, true, "the native runtime is built and current");
    }

    /// <summary>
    /// When the runtime's sources were last changed, for a binary at <c>artifacts/runtime-native/</c> of a repository
    /// (its <c>runtime/</c> folder without build output, the one file it shares with the control plane, the build
    /// props); null for a binary elsewhere.
    /// </summary>
    private static DateTime? NewestSource(string native)
    {
        var root = new FileInfo(native).Directory?.Parent?.Parent;
        if (root is null || !Directory.Exists(System.IO.Path.Combine(root.FullName, "runtime", "SetupClaw.Runtime")))
        {
            return null;
        }

        var newest = DateTime.MinValue;
        var folders = new Stack<DirectoryInfo>([new DirectoryInfo(System.IO.Path.Combine(root.FullName, "runtime"))]);
        while (folders.TryPop(out var folder))
        {
            // A folder's own time counts too: a file deleted or renamed changes only its folder.
            if (folder.LastWriteTimeUtc > newest)
            {
                newest = folder.LastWriteTimeUtc;
            }

            foreach (var entry in folder.EnumerateFileSystemInfos())
            {
                if (entry is DirectoryInfo child)
                {
                    if (child.Name is not ("bin" or "obj"))
                    {
                        folders.Push(child);
                    }
                }
                else if (entry.LastWriteTimeUtc > newest)
                {
                    newest = entry.LastWriteTimeUtc;
                }
            }
        }

        // What the runtime's Dockerfile copies besides runtime/: the runtime's other build inputs.
        foreach (var shared in new[] { "src/SetupClaw.Core/Data/PostgresConnectionStrings.cs", "Directory.Build.props", "Directory.Packages.props", "Directory.Build.rsp", ".editorconfig" })
        {
            var file = new FileInfo(System.IO.Path.Combine(root.FullName, shared));
            if (file.Exists && file.LastWriteTimeUtc > newest)
            {
                newest = file.LastWriteTimeUtc;
            }
        }

        return newest;
    }

    /// <summary><c>artifacts/runtime-native/SetupClaw.Runtime</c> in the nearest directory above this program that has one.</summary>
    private static string? Discover()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = System.IO.Path.Combine(directory.FullName, NativeDirectory, NativeFileName);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}

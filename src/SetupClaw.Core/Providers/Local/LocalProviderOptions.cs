namespace SetupClaw.Providers.Local;

public sealed class LocalProviderOptions
{
    public const string Section = "Providers:Local";

    /// <summary>A superuser connection to the PostgreSQL server that hosts customer databases; defaults to the control database's.</summary>
    public string? AdminConnectionString { get; set; }

    /// <summary>Path of the managed SetupClaw.Runtime.dll; defaults to the copy next to the host.</summary>
    public string? RuntimePath { get; set; }

    /// <summary>
    /// Path of the Native AOT runtime; defaults to <c>artifacts/runtime-native/SetupClaw.Runtime</c> in the nearest
    /// directory above the host that has one (<c>./setupclaw publish-runtime</c> builds it).
    /// </summary>
    public string? NativeRuntimePath { get; set; }

    /// <summary>
    /// <c>auto</c> (the default): the native runtime when it is built and current (published after the runtime's
    /// sources last changed; away from them, not older than the managed build), else the managed one; <c>native</c> or <c>managed</c> force one (see <see cref="RuntimeBinary"/>).
    /// </summary>
    public string Runtime { get; set; } = "auto";

    /// <summary>Where service specs and runtime logs live; defaults to <c>.local/services</c> under the working directory.</summary>
    public string? StateDirectory { get; set; }

    public string DotnetPath { get; set; } = "dotnet";

    /// <summary>
    /// How long a deployment takes before the runtime starts (0: at once). Set it to a real provider's deploy time
    /// (Railway: 30 s to 2 min) to see locally what customers would wait; a warm-pool claim never deploys.
    /// </summary>
    public double DeployDelaySeconds { get; set; }

    /// <summary>
    /// While a file exists at this path, local deployments stay in progress (after their delay): a hold that lets a
    /// demo, or a test, look at a deployment being built for as long as it likes, and release it by deleting the file.
    /// </summary>
    public string? DeployHoldFile { get; set; }

    /// <summary>
    /// How many runtimes the host restores at once after a restart; each holds its slot until it listens (or
    /// <see cref="RestoreWaitSeconds"/> pass). New customers' deployments never wait for a slot.
    /// </summary>
    public int MaxConcurrentRestores { get; set; } = 1;

    /// <summary>
    /// Seconds without a request after which a local runtime of a plan that sleeps when idle exits, its port then
    /// answered by the host, which starts it again on the next request (Railway's application sleeping, locally).
    /// 0 (the default): local runtimes never sleep.
    /// </summary>
    public double SleepAfterIdleSeconds { get; set; }

    /// <summary>How long a restore holds its slot waiting for the runtime to listen.</summary>
    public double RestoreWaitSeconds { get; set; } = 60;
}

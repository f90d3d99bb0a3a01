using Microsoft.Playwright;
using SetupClaw.Tests.Infrastructure;

namespace SetupClaw.Tests.Pages;

[CollectionDefinition(Name)]
public sealed class CustomerPagesCollection : ICollectionFixture<CustomerPagesFixture>
{
    public const string Name = "customer pages";
}

/// <summary>
/// The real local host with its emails going to a real SMTP server, and Debian's Chromium driven by Playwright
/// (never a downloaded browser). A test may hold deployments in progress (<see cref="HoldDeployments"/>), as a slow
/// provider's would be, to see the success page show its steps advance. Assertions on a page wait up to 30 s (not
/// Playwright's 5 s): two cores run the whole suite at once.
/// </summary>
public sealed class CustomerPagesFixture : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";

    public TestDatabase Database { get; } = new();

    public LocalHostProcess Host { get; private set; } = null!;

    public ControlPlaneClient Client { get; private set; } = null!;

    public StubModelServer Model { get; private set; } = null!;

    public SmtpTestServer Smtp { get; private set; } = null!;

    public IPlaywright Playwright { get; private set; } = null!;

    public IBrowser Browser { get; private set; } = null!;

    /// <summary>Where the browser tests write their screenshots and downloads (<c>artifacts/pages</c>).</summary>
    public static string ArtifactsDirectory { get; } = Directory.CreateDirectory(Path.Combine(Deployment.Bicep.RepositoryRoot, "artifacts", "pages")).FullName;

    private readonly string holdFile = Path.Combine(Path.GetTempPath(), $"setupclaw-deploy-hold-{Guid.NewGuid():N}");

    /// <summary>Keeps the host's deployments in progress until the returned hold is disposed (a handshake, not a delay).</summary>
    public IDisposable HoldDeployments()
    {
        File.WriteAllText(holdFile, "held by a browser test");
        return new Release(holdFile);
    }

    private sealed class Release(string path) : IDisposable
    {
        public void Dispose() => File.Delete(path);
    }

    public async Task InitializeAsync()
    {
        Assertions.SetDefaultExpectTimeout(30_000);
        if (!File.Exists(ChromiumPath))
        {
            throw new InvalidOperationException($"{ChromiumPath} is missing: install Debian's Chromium (apt-get install chromium); .ci/run does.");
        }

        await Database.InitializeAsync();
        Model = await StubModelServer.StartAsync();
        Smtp = SmtpTestServer.Start();
        var settings = new Dictionary<string, string>(Runtime.Llm.OpenAi(Model));
        foreach (var (key, value) in Smtp.Settings)
        {
            settings[key] = value;
        }

        settings["Providers__Local__DeployHoldFile"] = holdFile;
        Host = await LocalHostProcess.StartAsync(Database.ConnectionString, settings: settings);
        Client = new ControlPlaneClient(Host.CreateClient());
        Playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        Browser = await Playwright.Chromium.LaunchAsync(new() { ExecutablePath = ChromiumPath, Headless = true, Args = ["--no-sandbox"] });
    }

    /// <summary>A fresh browser profile (its own cookies), phone-sized, that may read what Copy put on the clipboard.</summary>
    public async Task<IBrowserContext> NewContextAsync()
    {
        var context = await Browser.NewContextAsync(new()
        {
            BaseURL = Host.BaseUrl.ToString(),
            ViewportSize = new() { Width = 390, Height = 844 },
            AcceptDownloads = true,
        });
        await context.GrantPermissionsAsync(["clipboard-read", "clipboard-write"], new() { Origin = Host.BaseUrl.ToString().TrimEnd('/') });
        context.SetDefaultTimeout(30_000);
        return context;
    }

    /// <summary>
    /// How long a page may take to arrive at a URL. The URL is polled, not awaited as a navigation's load event: the
    /// pages navigate from script (after a fetch), which can happen before or during a wait for a navigation.
    /// </summary>
    public static PageAssertionsToHaveURLOptions Navigation { get; } = new() { Timeout = 30_000 };

    public static Task ScreenshotAsync(IPage page, string name) =>
        page.ScreenshotAsync(new() { Path = Path.Combine(ArtifactsDirectory, name + ".png"), FullPage = true });

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        Playwright?.Dispose();
        File.Delete(holdFile);
        await Host.DisposeAsync();
        await Smtp.DisposeAsync();
        await Database.DisposeAsync();
        await Model.DisposeAsync();
    }
}

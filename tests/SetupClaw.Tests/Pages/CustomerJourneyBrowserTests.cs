using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using SetupClaw.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace SetupClaw.Tests.Pages;

/// <summary>
/// A new customer's whole journey in a real browser (Debian's Chromium through Playwright), against the real local
/// host, real PostgreSQL, real runtimes and a real SMTP server. A screenshot of every page goes to artifacts/pages.
/// </summary>
[Collection(CustomerPagesCollection.Name)]
public sealed partial class CustomerJourneyBrowserTests(CustomerPagesFixture stack)
{
    private static readonly TimeSpan Slow = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task Signup_Pay_Dashboard_Usage_Skills_Rotate_Download_ChangePlan_Cancel_AllInTheBrowser()
    {
        const string email = "hedy@example.com";
        await using var context = await stack.NewContextAsync();
        var page = await context.NewPageAsync();

        // Sign-up form → offline checkout.
        await page.GotoAsync("/");
        await CustomerPagesFixture.ScreenshotAsync(page, "01-signup");
        await page.GetByLabel("Email").FillAsync(email);
        await page.GetByLabel("Your name").FillAsync("Hedy");
        await page.GetByLabel("Assistant name").FillAsync("Pinch");
        await page.GetByLabel("Plan").SelectOptionAsync("starter");
        await page.GetByRole(AriaRole.Button, new() { Name = "Continue to payment" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("/checkout/"), CustomerPagesFixture.Navigation);
        await CustomerPagesFixture.ScreenshotAsync(page, "02-checkout");
        var customerId = page.Url.Split('/').Last();

        // Pay → the success page shows the steps advancing, then the key with Copy. The deployment is held in progress
        // until the page has shown it running, the steps before it done, the later ones waiting.
        using (stack.HoldDeployments())
        {
            await page.GetByRole(AriaRole.Button, new() { Name = "Pay" }).ClickAsync();
            await Expect(page).ToHaveURLAsync(new Regex("/success/"), CustomerPagesFixture.Navigation);
            await Expect(page.Locator("#steps:has(li.completed):has(li.running[data-step='deploy']):has(li.pending)")).ToBeVisibleAsync(new() { Timeout = 60_000 });
            await Expect(page.Locator("li.completed[data-step='reserve_credentials'] .state")).ToHaveTextAsync(new Regex(@"done · \d+(\.\d)? s"));
            await CustomerPagesFixture.ScreenshotAsync(page, "03-success-progress");
        }

        await Expect(page.Locator("#api-key")).ToHaveTextAsync(new Regex("^claw_[0-9a-f]{64}$"), new() { Timeout = 90_000 });
        var apiKey = await page.Locator("#api-key").TextContentAsync() ?? "";
        var accessUrl = await page.Locator("#access-url").TextContentAsync() ?? "";
        Assert.StartsWith("http://127.0.0.1:", accessUrl, StringComparison.Ordinal);
        await Expect(page.Locator("#steps li.completed")).ToHaveCountAsync(await page.Locator("#steps li").CountAsync());
        // The deployment's step covers the build: it ends where the health check begins.
        var statusToken = await page.EvaluateAsync<string>("id => sessionStorage.getItem('statusToken:' + id)", customerId);
        var steps = (await stack.Client.StatusAsync(customerId, statusToken)).Body.GetProperty("steps").EnumerateArray().ToDictionary(x => x.GetProperty("name").GetString()!);
        Assert.Equal(steps["health_check"].GetProperty("startedAt").GetDateTimeOffset(), steps["deploy"].GetProperty("completedAt").GetDateTimeOffset());
        await page.GetByRole(AriaRole.Button, new() { Name = "Copy the API key" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Copy the API key" })).ToHaveTextAsync("Copied");
        Assert.Equal(apiKey, await page.EvaluateAsync<string>("() => navigator.clipboard.readText()"));
        await CustomerPagesFixture.ScreenshotAsync(page, "04-success-ready");

        // A reload keeps working (the status token stays in this tab's session storage).
        await page.ReloadAsync();
        await Expect(page.Locator("#api-key")).ToHaveTextAsync(apiKey);

        // Open dashboard signs this browser in: an HttpOnly, SameSite=Lax cookie (not Secure: this is loopback).
        await page.GetByRole(AriaRole.Button, new() { Name = "Open dashboard" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("/dashboard$"), CustomerPagesFixture.Navigation);
        var cookie = (await context.CookiesAsync()).Single(c => c.Name == "claw_session");
        Assert.True(cookie.HttpOnly);
        Assert.Equal(SameSiteAttribute.Lax, cookie.SameSite);
        await Expect(page.Locator("#plan-name")).ToHaveTextAsync("Starter");
        await Expect(page.Locator("#state-badge")).ToHaveTextAsync("Running");
        await Expect(page.Locator("#usage")).ToHaveTextAsync("0 / 5,000 messages this month");
        await CustomerPagesFixture.ScreenshotAsync(page, "05-dashboard");

        // A chat and a memory through the API show up: the usage is the number the runtime enforces.
        using var runtime = new HttpClient { BaseAddress = new Uri(accessUrl), Timeout = TimeSpan.FromSeconds(60) };
        runtime.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        (await runtime.PostAsJsonAsync("/api/memory", new { content = "Hedy keeps the frequency-hopping notes in the blue folder" })).EnsureSuccessStatusCode();
        (await runtime.PostAsJsonAsync("/api/chat", new { message = "Where are my notes?" })).EnsureSuccessStatusCode();
        await page.ReloadAsync();
        await Expect(page.Locator("#usage")).ToHaveTextAsync("1 / 5,000 messages this month");

        // A skill turned off and on again in the dashboard is off and on in the runtime; Pro's skills are not offered.
        var noteTaker = page.GetByRole(AriaRole.Switch, new() { Name = "note-taker" });
        await Expect(noteTaker).ToBeCheckedAsync();
        await noteTaker.UncheckAsync();
        await Wait.UntilAsync(async () => !await SkillEnabledAsync(runtime, "note-taker"), TimeSpan.FromSeconds(10), "note-taker to be off in the runtime");
        await noteTaker.CheckAsync();
        await Wait.UntilAsync(() => SkillEnabledAsync(runtime, "note-taker"), TimeSpan.FromSeconds(10), "note-taker to be on in the runtime");
        await Expect(page.GetByRole(AriaRole.Switch, new() { Name = "email-drafter" })).ToHaveCountAsync(0);

        // Rotate API key: the new key is page text once; the old key is refused at once, the new one works.
        await page.GetByRole(AriaRole.Button, new() { Name = "Rotate API key" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Yes, rotate the key" }).ClickAsync();
        await Expect(page.Locator("#new-key")).ToHaveTextAsync(new Regex("^claw_[0-9a-f]{64}$"));
        var newKey = await page.Locator("#new-key").TextContentAsync() ?? "";
        Assert.NotEqual(apiKey, newKey);
        await CustomerPagesFixture.ScreenshotAsync(page, "06-dashboard-rotated");
        Assert.Equal(HttpStatusCode.Forbidden, (await GetAsync(runtime, "/status", apiKey)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(runtime, "/status", newKey)).StatusCode);
        runtime.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", newKey);
        // The runtime's gateway token was replaced with it: a chat still reaches the model through the gateway.
        (await runtime.PostAsJsonAsync("/api/chat", new { message = "Still there?" })).EnsureSuccessStatusCode();

        // Download my data: a real .zip with the memory that was stored.
        var download = await page.RunAndWaitForDownloadAsync(() => page.GetByRole(AriaRole.Link, new() { Name = "Download my data" }).ClickAsync());
        var zipPath = Path.Combine(CustomerPagesFixture.ArtifactsDirectory, "hedy-data.zip");
        await download.SaveAsAsync(zipPath);
        using (var zip = ZipFile.OpenRead(zipPath))
        {
            Assert.Contains(zip.Entries, e => e.FullName.StartsWith("workspace/", StringComparison.Ordinal));
            using var memories = new StreamReader(zip.GetEntry("memories.json")!.Open());
            Assert.Contains("frequency-hopping notes in the blue folder", await memories.ReadToEndAsync(), StringComparison.Ordinal);
            using var conversations = new StreamReader(zip.GetEntry("conversations.json")!.Open());
            Assert.Contains("Where are my notes?", await conversations.ReadToEndAsync(), StringComparison.Ordinal);
        }

        // Manage billing → the stand-in portal → Pro: the webhook's plan change reaches the dashboard.
        await page.GetByRole(AriaRole.Button, new() { Name = "Manage billing" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("/billing/portal$"), CustomerPagesFixture.Navigation);
        await Expect(page.Locator("#plan-name")).ToHaveTextAsync("Starter");
        await CustomerPagesFixture.ScreenshotAsync(page, "07-billing-portal");
        await page.GetByRole(AriaRole.Button, new() { Name = "Pro", Exact = true }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("/dashboard$"), CustomerPagesFixture.Navigation);
        await Expect(page.Locator("#plan-name")).ToHaveTextAsync("Pro", new() { Timeout = 90_000 });
        await Expect(page.Locator("#usage")).ToHaveTextAsync(new Regex("/ 20,000 messages this month"), new() { Timeout = 30_000 });
        await Expect(page.GetByRole(AriaRole.Switch, new() { Name = "email-drafter" })).ToHaveCountAsync(1);
        await CustomerPagesFixture.ScreenshotAsync(page, "08-dashboard-pro");

        // Cancel: the dashboard still opens, says the assistant is stopped and how long the data is kept, and offers the download.
        await page.GetByRole(AriaRole.Button, new() { Name = "Manage billing" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("/billing/portal$"), CustomerPagesFixture.Navigation);
        await page.GetByRole(AriaRole.Button, new() { Name = "Cancel subscription" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("/dashboard$"), CustomerPagesFixture.Navigation);
        await Expect(page.Locator("#state-badge")).ToHaveTextAsync("Stopped", new() { Timeout = 90_000 });
        await Expect(page.Locator("#state-detail")).ToContainTextAsync("kept until");
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "Download my data" })).ToBeVisibleAsync();
        await CustomerPagesFixture.ScreenshotAsync(page, "09-dashboard-stopped");
        Assert.Equal("deprovisioned", await stack.Database.TextAsync($"select provisioning_status from customers where id = '{customerId}'"));
        var archived = await page.RunAndWaitForDownloadAsync(() => page.GetByRole(AriaRole.Link, new() { Name = "Download my data" }).ClickAsync());
        var archivePath = Path.Combine(CustomerPagesFixture.ArtifactsDirectory, "hedy-archive.zip");
        await archived.SaveAsAsync(archivePath);
        using (var zip = ZipFile.OpenRead(archivePath))
        {
            using var memories = new StreamReader(zip.GetEntry("memories.json")!.Open());
            Assert.Contains("frequency-hopping notes in the blue folder", await memories.ReadToEndAsync(), StringComparison.Ordinal);
        }

        // Stopped for real: the runtime's service is gone.
        await Wait.UntilAsync(async () => !await AnswersAsync(runtime), TimeSpan.FromSeconds(30), "the cancelled assistant's runtime to stop");

        // The emails: welcome (the dashboard link, only the key's hint) and cancelled (how long the archive is kept); no full key anywhere.
        var welcome = await stack.Smtp.WaitForAsync(email, "welcome", Slow);
        Assert.Contains(stack.Host.BaseUrl + "dashboard", welcome.TextBody, StringComparison.Ordinal);
        Assert.Contains(apiKey[^4..], welcome.TextBody, StringComparison.Ordinal);
        var cancelled = await stack.Smtp.WaitForAsync(email, "cancelled", Slow);
        Assert.Matches(@"until \d{1,2} \w+ \d{4}", cancelled.TextBody);
        foreach (var message in stack.Smtp.MessagesTo(email))
        {
            Assert.DoesNotContain(apiKey, message.TextBody + message.HtmlBody, StringComparison.Ordinal);
            Assert.DoesNotContain(newKey, message.TextBody + message.HtmlBody, StringComparison.Ordinal);
        }

        Assert.DoesNotContain(newKey, stack.Host.Output, StringComparison.Ordinal);
    }

    private static async Task<bool> AnswersAsync(HttpClient runtime)
    {
        try
        {
            using var health = await runtime.GetAsync("/health");
            return health.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    private static async Task<bool> SkillEnabledAsync(HttpClient runtime, string name)
    {
        var skills = await runtime.GetFromJsonAsync<JsonElement>("/api/skills");
        return skills.GetProperty("skills").EnumerateArray().Single(s => s.GetProperty("name").GetString() == name).GetProperty("enabled").GetBoolean();
    }

    private static async Task<HttpResponseMessage> GetAsync(HttpClient runtime, string path, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return await runtime.SendAsync(request);
    }
}

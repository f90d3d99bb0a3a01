using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using SetupClaw.Billing;
using SetupClaw.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace SetupClaw.Tests.Pages;

/// <summary>
/// Who may open a dashboard and change things: one-time sign-in links (in the browser, from the email the SMTP server
/// received), CSRF on every state-changing request, and the emails of billing trouble, retried when SMTP refuses.
/// </summary>
[Collection(CustomerPagesCollection.Name)]
public sealed partial class DashboardAccessTests(CustomerPagesFixture stack)
{
    private static readonly TimeSpan Slow = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task SignInLink_WorksOnce_ThenIsRefused_AndAnExpiredOneIsRefused()
    {
        const string email = "barbara@example.com";
        var (customerId, _) = await ActiveCustomerAsync(email, "starter");

        // Asked for from the sign-in page: the link arrives by email and signs this browser in.
        await using (var context = await stack.NewContextAsync())
        {
            var page = await context.NewPageAsync();
            await page.GotoAsync("/dashboard");
            await Expect(page).ToHaveURLAsync(new Regex("/dashboard/sign-in$"), CustomerPagesFixture.Navigation);
            await page.GetByLabel("Email").FillAsync(email);
            await page.GetByRole(AriaRole.Button, new() { Name = "Email me a sign-in link" }).ClickAsync();
            await Expect(page.Locator("#message")).ToContainTextAsync("sign-in link is on its way");
            await CustomerPagesFixture.ScreenshotAsync(page, "10-sign-in");
        }

        var link = await SignInLinkAsync(email, 1);
        await using (var context = await stack.NewContextAsync())
        {
            var page = await context.NewPageAsync();
            await page.GotoAsync(link);
            await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
            await Expect(page).ToHaveURLAsync(new Regex("/dashboard$"), CustomerPagesFixture.Navigation);
            await Expect(page.Locator("#plan-name")).ToHaveTextAsync("Starter");
        }

        // The same link a second time (another browser): refused, and no session is made.
        await using (var context = await stack.NewContextAsync())
        {
            var page = await context.NewPageAsync();
            await page.GotoAsync(link);
            await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
            await Expect(page.Locator("#error")).ToContainTextAsync("used already or has expired");
            Assert.DoesNotContain(await context.CookiesAsync(), c => c.Name == "claw_session");
        }

        // Asked again within the minute: the same answer, but no second email (nobody can fill an inbox).
        using var http = stack.Host.CreateClient();
        (await http.PostAsJsonAsync("/api/dashboard/sign-in-link", new { email })).EnsureSuccessStatusCode();
        Assert.Equal(1, await stack.Database.CountAsync($"select count(*) from emails where recipient = '{email}' and kind = 'sign_in'"));

        // A minute later a fresh link comes; once it has expired (15 minutes passed) it is refused.
        await stack.Database.ExecuteAsync($"update emails set created_at = created_at - interval '2 minutes' where recipient = '{email}' and kind = 'sign_in'");
        (await http.PostAsJsonAsync("/api/dashboard/sign-in-link", new { email })).EnsureSuccessStatusCode();
        var expired = await SignInLinkAsync(email, 2);
        await stack.Database.ExecuteAsync($"update sign_in_links set expires_at = now() - interval '1 second' where customer_id = '{customerId}' and used_at is null");
        using var redeem = await http.PostAsJsonAsync("/api/dashboard/sign-in", new { token = TokenOf(expired) });
        Assert.Equal(HttpStatusCode.Forbidden, redeem.StatusCode);
        Assert.False(redeem.Headers.Contains("Set-Cookie"));

        // An unknown email gets the same answer (nobody learns who has an assistant), and no email.
        var before = stack.Smtp.Messages.Count;
        using var unknown = await http.PostAsJsonAsync("/api/dashboard/sign-in-link", new { email = "nobody@example.com" });
        Assert.Equal(HttpStatusCode.Accepted, unknown.StatusCode);
        Assert.Contains("If nobody@example.com has an assistant", await unknown.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.DoesNotContain(stack.Smtp.Messages.Skip(before), m => SmtpTestServer.To(m) == "nobody@example.com");
    }

    [Fact]
    public async Task StateChangingRequests_WithoutTheCsrfToken_Are403AndChangeNothing()
    {
        var (customerId, statusToken) = await ActiveCustomerAsync("radia@example.com", "starter");
        var status = (await stack.Client.StatusAsync(customerId, statusToken)).Body;
        var apiKey = status.GetProperty("apiKey").GetString()!;
        using var runtime = new HttpClient { BaseAddress = new Uri(status.GetProperty("accessUrl").GetString()!) };
        runtime.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);

        using var handler = new HttpClientHandler { CookieContainer = new CookieContainer() };
        using var browser = new HttpClient(handler) { BaseAddress = stack.Host.BaseUrl };
        using (var session = new HttpRequestMessage(HttpMethod.Post, "/api/dashboard/session") { Content = JsonContent.Create(new { customerId }) })
        {
            session.Headers.Authorization = new AuthenticationHeaderValue("Bearer", statusToken);
            (await browser.SendAsync(session)).EnsureSuccessStatusCode();
        }

        var dashboard = await browser.GetFromJsonAsync<JsonElement>("/api/dashboard");
        var csrf = dashboard.GetProperty("csrfToken").GetString()!;

        foreach (var (path, body) in new[]
                 {
                     ("/api/dashboard/skills/note-taker", (object)new { enabled = false }), ("/api/dashboard/api-key", new { }),
                     ("/api/dashboard/billing/offline", new { action = "cancel" }), ("/api/dashboard/sign-out", new { }),
                 })
        {
            using var missing = await browser.PostAsJsonAsync(path, body);
            Assert.Equal(HttpStatusCode.Forbidden, missing.StatusCode);
            Assert.Equal("application/problem+json", missing.Content.Headers.ContentType?.MediaType);
            using var wrong = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
            wrong.Headers.Add("X-CSRF-Token", new string('0', 64));
            Assert.Equal(HttpStatusCode.Forbidden, (await browser.SendAsync(wrong)).StatusCode);
        }

        // Nothing changed: the skill is on, the key works, the subscription is live, the session still opens the dashboard.
        var skills = await runtime.GetFromJsonAsync<JsonElement>("/api/skills");
        Assert.True(skills.GetProperty("skills").EnumerateArray().Single(s => s.GetProperty("name").GetString() == "note-taker").GetProperty("enabled").GetBoolean());
        Assert.Equal(HttpStatusCode.OK, (await runtime.GetAsync("/status")).StatusCode);
        Assert.Equal("active", await stack.Database.TextAsync($"select provisioning_status from customers where id = '{customerId}'"));
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/api/dashboard")).StatusCode);

        // With the token the same request works; another customer's session cannot be made from this status token.
        using var allowed = new HttpRequestMessage(HttpMethod.Post, "/api/dashboard/skills/note-taker") { Content = JsonContent.Create(new { enabled = false }) };
        allowed.Headers.Add("X-CSRF-Token", csrf);
        Assert.Equal(HttpStatusCode.OK, (await browser.SendAsync(allowed)).StatusCode);
        // A skill of a bigger plan is refused with the reason.
        using var bigger = new HttpRequestMessage(HttpMethod.Post, "/api/dashboard/skills/email-drafter") { Content = JsonContent.Create(new { enabled = true }) };
        bigger.Headers.Add("X-CSRF-Token", csrf);
        using var refused = await browser.SendAsync(bigger);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("part of the Pro plan", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // Without a session: 401 for reads and changes alike.
        using var anonymous = stack.Host.CreateClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/dashboard")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/dashboard/export")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsJsonAsync("/api/dashboard/api-key", new { })).StatusCode);
    }

    [Fact]
    public async Task PaymentTrouble_EmailsTheCustomer_RetriedWhenSmtpRefuses_AndTheDashboardShowsTheSuspension()
    {
        const string email = "katherine@example.com";
        // SMTP refuses the next two deliveries (the welcome email's first tries): the saga is not held up, the email arrives later.
        stack.Smtp.RefuseNext(2);
        var (customerId, statusToken) = await ActiveCustomerAsync(email, "pro");
        var welcome = await stack.Smtp.WaitForAsync(email, "welcome", Slow);
        Assert.True(stack.Smtp.Refused >= 2);
        Assert.True(await stack.Database.CountAsync($"select attempts from emails where customer_id = '{customerId}' and kind = 'welcome'") >= 3);
        Assert.DoesNotContain((await stack.Client.StatusAsync(customerId, statusToken)).Body.GetProperty("apiKey").GetString()!, welcome.TextBody, StringComparison.Ordinal);

        // A failed payment Stripe will retry: an email; the assistant keeps running.
        var failed = StripeEventFactory.Invoice(customerId, paid: false, finalAttempt: false, DateTimeOffset.UtcNow);
        (await stack.Client.SendEventAsync(failed)).EnsureSuccessStatusCode();
        (await stack.Client.SendEventAsync(failed)).EnsureSuccessStatusCode(); // a redelivery sends nothing twice
        var paymentFailed = await stack.Smtp.WaitForAsync(email, "payment_failed", Slow);
        Assert.Contains("Stripe will try again on", paymentFailed.TextBody, StringComparison.Ordinal);

        // Stripe gives up: suspended, an email, and the dashboard says so with the reason.
        (await stack.Client.SendEventAsync(StripeEventFactory.Invoice(customerId, paid: false, finalAttempt: true, DateTimeOffset.UtcNow))).EnsureSuccessStatusCode();
        await stack.Client.WaitForStatusAsync(customerId, statusToken, "suspended", Slow);
        var suspended = await stack.Smtp.WaitForAsync(email, "suspended", Slow);
        Assert.Contains("Pay the open invoice", suspended.TextBody, StringComparison.Ordinal);
        Assert.Single(stack.Smtp.MessagesTo(email, "payment_failed"));

        await using var context = await stack.NewContextAsync();
        var page = await context.NewPageAsync();
        await page.GotoAsync(await SignInLinkAfterRequestAsync(email));
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("/dashboard$"), CustomerPagesFixture.Navigation);
        await Expect(page.Locator("#state-badge")).ToHaveTextAsync("Suspended");
        await Expect(page.Locator("#state-detail")).ToContainTextAsync("could not collect the last payment");
        await CustomerPagesFixture.ScreenshotAsync(page, "11-dashboard-suspended");
    }

    /// <summary>Signs up and pays through the offline checkout (as the page does), then waits until active.</summary>
    private async Task<(string CustomerId, string StatusToken)> ActiveCustomerAsync(string email, string plan)
    {
        var (customerId, token, signup) = await stack.Client.SignupAsync(email, plan);
        using var http = stack.Host.CreateClient();
        (await http.PostAsync(new Uri(signup.GetProperty("checkoutUrl").GetString() + "/pay"), null)).EnsureSuccessStatusCode();
        await stack.Client.WaitForStatusAsync(customerId, token, "active", Slow);
        return (customerId, token);
    }

    private async Task<string> SignInLinkAfterRequestAsync(string email)
    {
        var count = stack.Smtp.MessagesTo(email, "sign_in").Count;
        using var http = stack.Host.CreateClient();
        (await http.PostAsJsonAsync("/api/dashboard/sign-in-link", new { email })).EnsureSuccessStatusCode();
        return await SignInLinkAsync(email, count + 1);
    }

    /// <summary>The link in the <paramref name="nth"/> sign-in email to <paramref name="email"/>.</summary>
    private async Task<string> SignInLinkAsync(string email, int nth)
    {
        await Wait.UntilAsync(() => Task.FromResult(stack.Smtp.MessagesTo(email, "sign_in").Count >= nth), Slow, $"sign-in email {nth} to {email}");
        var message = stack.Smtp.MessagesTo(email, "sign_in")[nth - 1];
        Assert.Contains("works once, for 15 minutes", message.TextBody, StringComparison.Ordinal);
        return LinkPattern().Match(message.TextBody ?? "").Value;
    }

    private static string TokenOf(string link) => link[(link.IndexOf("#token=", StringComparison.Ordinal) + "#token=".Length)..];

    [GeneratedRegex(@"http://127\.0\.0\.1:\d+/dashboard/sign-in#token=sil_[0-9a-f]{64}")]
    private static partial Regex LinkPattern();
}

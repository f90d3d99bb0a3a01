using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SetupClaw.Billing;
using SetupClaw.Credentials;
using SetupClaw.Customers;
using SetupClaw.Email;
using SetupClaw.Http;
using SetupClaw.Lifecycle;
using SetupClaw.Plans;
using SetupClaw.Providers;
using SetupClaw.Provisioning;

namespace SetupClaw.Dashboard;

public sealed record DashboardPlan(string Name, string DisplayName, int MessagesPerMonth);

public sealed record DashboardState(string Code, string Title, string Detail);

public sealed record DashboardUsage(int Used, int Limit, string Month, string Text);

public sealed record DashboardSkill(string Name, bool Enabled, bool Included, string? AvailableOn);

public sealed record DashboardView(
    string CustomerId, string Email, string AssistantName, DashboardPlan Plan, DashboardState State, DashboardUsage? Usage,
    string? AccessUrl, string? ApiKeyHint, IReadOnlyList<DashboardSkill> Skills, bool CanRotateKey, bool CanManageBilling,
    bool CanDownload, DateTimeOffset? DataKeptUntil, string? PendingPlan, string CsrfToken);

/// <summary>
/// The customer's dashboard API (<c>/api/dashboard…</c>). Sign-in: the success page's status token (within a day of
/// sign-up) or an emailed one-time link; either starts a session held in an HttpOnly, SameSite=Lax cookie (Secure
/// everywhere but loopback). Every state-changing request must also carry <c>X-CSRF-Token</c>, derived from the
/// session and handed out by <c>GET /api/dashboard</c>: checked here, in the core, because the Functions host has no
/// middleware of ours. Every answer is <c>no-store</c>.
/// </summary>
public sealed partial class DashboardHandler(
    ICustomerStore store, CustomerSessions sessions, CustomerEmails emails, AssistantDatabase assistants, ICustomerData customerData,
    AssistantIdentityWriter identities, LifecycleStore lifecycle, SecretBox secretBox, PlanCatalog plans, BillingPortal billing,
    RequestLimits limits, IOptions<DashboardOptions> options, Providers.IComputeProvider compute, TimeProvider clock, ILogger<DashboardHandler> logger)
{
    public const string SecureCookieName = "__Host-claw_session";
    public const string LoopbackCookieName = "claw_session";
    public const string CsrfHeader = "X-CSRF-Token";
    private const int MaxBodyBytes = 4 * 1024;

    /// <summary><c>POST /api/dashboard/session</c> with the status token: the success page's <b>Open dashboard</b>.</summary>
    public async Task<IResult> StartFromStatusTokenAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (RequestBodies.BearerToken(request) is not { } token)
        {
            return Answers.NoStore(Problems.Unauthorized("Send the statusToken from the signup response as 'Authorization: Bearer <statusToken>'."));
        }

        var input = await RequestBodies.ReadJsonAsync<SessionRequest>(request, MaxBodyBytes, cancellationToken);
        if (input.Problem is not null)
        {
            return Answers.NoStore(input.Problem);
        }

        var customer = CustomerIds.IsValid(input.Value!.CustomerId) ? await store.GetAsync(input.Value.CustomerId!, cancellationToken) : null;
        if (customer is null || !Secrets.MatchesHash(token, customer.StatusTokenHash))
        {
            return Answers.NoStore(Problems.Forbidden("This status token does not belong to that customer."));
        }

        if (clock.GetUtcNow() - customer.CreatedAt > options.Value.StatusTokenSignInWindow)
        {
            return Answers.NoStore(Problems.Forbidden("This setup page can no longer open the dashboard. Ask for a sign-in link at /dashboard/sign-in."));
        }

        return await SignedInAsync(request, customer.Id, cancellationToken);
    }

    /// <summary><c>POST /api/dashboard/sign-in-link</c> <c>{"email"}</c>: emails a link per assistant; the answer is the same whether or not there is one.</summary>
    public async Task<IResult> SendSignInLinkAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (limits.RefuseSignInLink(request) is { } tooMany)
        {
            return tooMany;
        }

        var input = await RequestBodies.ReadJsonAsync<SignInLinkRequest>(request, MaxBodyBytes, cancellationToken);
        if (input.Problem is not null)
        {
            return input.Problem;
        }

        var email = input.Value!.Email?.Trim() ?? "";
        if (email.Length is 0 or > 254 || !email.Contains('@', StringComparison.Ordinal))
        {
            return Problems.BadRequest("Invalid email", "Enter the email address you signed up with, like name@example.com.");
        }

        var owned = await store.ListByEmailAsync(email, cancellationToken);
        // One sign-in email a minute per address, whoever asks: nobody can fill an inbox from many addresses.
        if (owned.Count > 0 && !await emails.SentRecentlyAsync(email, CustomerEmails.SignIn, TimeSpan.FromMinutes(1), cancellationToken))
        {
            var links = new List<(Customer, string)>();
            foreach (var customer in owned)
            {
                links.Add((customer, await sessions.IssueSignInLinkAsync(customer.Id, options.Value.SignInLinkLifetime, cancellationToken)));
            }

            await emails.SignInAsync(owned[0], links, cancellationToken);
        }

        return Results.Json(new { message = $"If {email} has an assistant with us, a sign-in link is on its way. It works once, for {(int)options.Value.SignInLinkLifetime.TotalMinutes} minutes." },
            statusCode: 202);
    }

    /// <summary><c>POST /api/dashboard/sign-in</c> <c>{"token"}</c>: uses an emailed link, once.</summary>
    public async Task<IResult> RedeemSignInLinkAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var input = await RequestBodies.ReadJsonAsync<SignInRequest>(request, MaxBodyBytes, cancellationToken);
        if (input.Problem is not null)
        {
            return Answers.NoStore(input.Problem);
        }

        if (input.Value!.Token is not { Length: > 0 and < 200 } token || await sessions.RedeemSignInLinkAsync(token, cancellationToken) is not { } customerId)
        {
            return Answers.NoStore(Problems.Forbidden("This sign-in link has been used already or has expired. Ask for a new one: it arrives in a minute."));
        }

        return await SignedInAsync(request, customerId, cancellationToken);
    }

    /// <summary><c>POST /api/dashboard/sign-out</c>.</summary>
    public async Task<IResult> SignOutAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var session = await SessionAsync(request, changesState: true, cancellationToken);
        if (session.Refusal is not null)
        {
            return session.Refusal;
        }

        await sessions.EndAsync(session.Token!, cancellationToken);
        return Answers.NoStore(new SessionCookie(CookieName(request), null, IsSecure(request), TimeSpan.Zero, Results.NoContent()));
    }

    /// <summary><c>GET /api/dashboard</c>: what the dashboard shows, and the session's CSRF token.</summary>
    public async Task<IResult> GetAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var session = await SessionAsync(request, changesState: false, cancellationToken);
        if (session.Refusal is not null)
        {
            return session.Refusal;
        }

        var customer = session.Customer!;
        var plan = PlanCatalog.GetOrStarter(customer.Plan);
        AssistantFacts? facts = null;
        if (LiveDatabase(customer) is { } connection)
        {
            try
            {
                facts = await assistants.ReadAsync(connection, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogReadFailed(logger, customer.Id, e);
            }
        }

        var keptUntil = await KeptUntilAsync(customer, cancellationToken);
        var skills = plans.Plans.SelectMany(p => p.Skills).Distinct(StringComparer.Ordinal)
            .Select(name => new DashboardSkill(name,
                plan.Skills.Contains(name) && facts?.Skills.TryGetValue(name, out var on) == true && on,
                plan.Skills.Contains(name),
                plan.Skills.Contains(name) ? null : FirstPlanWith(name).DisplayName))
            .ToList();
        var usage = facts is null ? null : new DashboardUsage(facts.MessagesUsed, facts.MessageLimit, facts.Month.ToString("yyyy-MM", CultureInfo.InvariantCulture),
            $"{facts.MessagesUsed.ToString("N0", CultureInfo.InvariantCulture)} / {facts.MessageLimit.ToString("N0", CultureInfo.InvariantCulture)} messages this month");
        var view = new DashboardView(
            customer.Id, customer.Email, CustomerEmails.AssistantOf(customer), new DashboardPlan(plan.Name, plan.DisplayName, plan.MessagesPerMonth),
            StateOf(customer, keptUntil, await AsleepAsync(customer, cancellationToken)), usage, customer.Status is CustomerStatus.Active or CustomerStatus.Suspended ? customer.AccessUrl : null,
            customer.ApiKeyHint, facts is null ? [] : skills, customer is { Status: CustomerStatus.Active, LifecycleInstance: null },
            billing.CanManage(customer), facts is not null || keptUntil is not null, keptUntil,
            customer.DesiredPlan is { } desired && desired != customer.Plan && PlanCatalog.TryGet(desired, out var next) ? next.DisplayName : null,
            CustomerSessions.CsrfTokenOf(session.Token!));
        return Answers.NoStore(Results.Ok(view));
    }

    /// <summary><c>POST /api/dashboard/skills/{name}</c> <c>{"enabled"}</c>: the runtime's own switch, as the plan allows.</summary>
    public async Task<IResult> SetSkillAsync(HttpRequest request, string skill, CancellationToken cancellationToken)
    {
        var session = await SessionAsync(request, changesState: true, cancellationToken);
        if (session.Refusal is not null)
        {
            return session.Refusal;
        }

        var input = await RequestBodies.ReadJsonAsync<SkillRequest>(request, MaxBodyBytes, cancellationToken);
        if (input.Problem is not null)
        {
            return Answers.NoStore(input.Problem);
        }

        if (input.Value!.Enabled is not { } enabled)
        {
            return Answers.NoStore(Problems.BadRequest("Missing enabled", "Send {\"enabled\": true} or {\"enabled\": false}."));
        }

        var customer = session.Customer!;
        var plan = PlanCatalog.GetOrStarter(customer.Plan);
        if (!plans.Plans.Any(p => p.Skills.Contains(skill)))
        {
            return Answers.NoStore(Problems.NotFound($"There is no skill named '{Problems.Echo(skill)}'."));
        }

        if (!plan.Skills.Contains(skill))
        {
            return Answers.NoStore(Problems.Forbidden(
                $"{skill} is part of the {FirstPlanWith(skill).DisplayName} plan; you are on {plan.DisplayName}. Change plan under Manage billing."));
        }

        if (LiveDatabase(customer) is not { } connection)
        {
            return Answers.NoStore(Problems.Conflict("Assistant not running", "Skills can be changed while your assistant is running."));
        }

        await assistants.SetSkillAsync(connection, skill, enabled, cancellationToken);
        return Answers.NoStore(Results.Ok(new { name = skill, enabled }));
    }

    /// <summary>
    /// <c>POST /api/dashboard/api-key</c>: a new API key (shown in this answer only) and a new gateway token. The
    /// runtime's identity row is replaced before the control database commits, so the old key is refused at once.
    /// </summary>
    public async Task<IResult> RotateApiKeyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var session = await SessionAsync(request, changesState: true, cancellationToken);
        if (session.Refusal is not null)
        {
            return session.Refusal;
        }

        var customer = session.Customer!;
        var key = Secrets.NewApiKey();
        var gateway = Secrets.NewGatewayToken();
        // The plan is the locked row's (a plan change may have finished since this request read the customer).
        var rotated = customer.Status == CustomerStatus.Active && await store.RotateCredentialsAsync(
            customer.Id, Secrets.Hash(key), Secrets.Hint(key), Secrets.Hash(gateway), secretBox.Seal(gateway, customer.Id, SealedColumns.GatewayToken),
            (updated, ct) => identities.WriteAsync(updated, PlanCatalog.Get(updated.Plan), ct), cancellationToken);
        if (!rotated)
        {
            return Answers.NoStore(Problems.Conflict("Key not rotated",
                "Your assistant's key can be rotated while it is running and no change is being applied. Try again in a minute."));
        }

        LogRotated(logger, customer.Id);
        return Answers.NoStore(Results.Ok(new { apiKey = key, apiKeyHint = Secrets.Hint(key) }));
    }

    /// <summary><c>GET /api/dashboard/export</c>: workspace files, memories and conversations as a <c>.zip</c> (live, or the archive after a cancellation).</summary>
    public async Task<IResult> DownloadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var session = await SessionAsync(request, changesState: false, cancellationToken);
        if (session.Refusal is not null)
        {
            return session.Refusal;
        }

        var customer = session.Customer!;
        byte[] export;
        if (LiveDatabase(customer) is { } connection)
        {
            export = (await customerData.ExportAsync(connection, cancellationToken)).Content;
        }
        else if (await KeptUntilAsync(customer, cancellationToken) is not null && await lifecycle.GetArchiveAsync(customer.Id, cancellationToken) is { } archive)
        {
            export = archive.Content;
        }
        else
        {
            return Answers.NoStore(Problems.NotFound("There is no data to download: the assistant has none yet, or its archive is no longer kept."));
        }

        var now = clock.GetUtcNow();
        var zip = DataExport.ToZip(export, CustomerEmails.AssistantOf(customer), now);
        return Answers.NoStore(Results.File(zip, "application/zip", $"setupclaw-{customer.Id}-{now:yyyyMMdd}.zip"));
    }

    /// <summary><c>POST /api/dashboard/billing</c>: where <b>Manage billing</b> goes (Stripe's Customer Portal, or the offline stand-in).</summary>
    public async Task<IResult> ManageBillingAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var session = await SessionAsync(request, changesState: true, cancellationToken);
        if (session.Refusal is not null)
        {
            return session.Refusal;
        }

        return Answers.NoStore(await billing.OpenAsync(session.Customer!, cancellationToken));
    }

    /// <summary><c>POST /api/dashboard/billing/offline</c> <c>{"action": "starter|pro|team|cancel"}</c>: the stand-in portal's buttons.</summary>
    public async Task<IResult> OfflineBillingAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var session = await SessionAsync(request, changesState: true, cancellationToken);
        if (session.Refusal is not null)
        {
            return session.Refusal;
        }

        var input = await RequestBodies.ReadJsonAsync<OfflineBillingRequest>(request, MaxBodyBytes, cancellationToken);
        return Answers.NoStore(input.Problem ?? await billing.OfflineActionAsync(session.Customer!, input.Value!.Action, cancellationToken));
    }

    /// <summary>The signed-in customer, or the 401/403 to answer: no session, an ended one, or (for a change) a missing or wrong CSRF token.</summary>
    private async Task<(Customer? Customer, string? Token, IResult? Refusal)> SessionAsync(HttpRequest request, bool changesState, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        // Only the cookie this kind of request sets: over https the __Host- one, which a sibling subdomain cannot plant.
        var token = request.Cookies[CookieName(request)];
        var customerId = token is { Length: > 0 and < 200 } ? await sessions.CustomerOfAsync(token, cancellationToken) : null;
        if (customerId is null || await store.GetAsync(customerId, cancellationToken) is not { } customer)
        {
            return (null, null, Answers.NoStore(Problems.Unauthorized("You are not signed in (or your session ended). Sign in at /dashboard/sign-in.")));
        }

        if (changesState && !Secrets.FixedTimeEquals(request.Headers[CsrfHeader].ToString(), CustomerSessions.CsrfTokenOf(token!)))
        {
            return (null, null, Answers.NoStore(Problems.Forbidden($"This change needs the page's {CsrfHeader} header. Reload the dashboard and try again.")));
        }

        return (customer, token, null);
    }

    private async Task<IResult> SignedInAsync(HttpRequest request, string customerId, CancellationToken cancellationToken)
    {
        var token = await sessions.StartAsync(customerId, options.Value.SessionLifetime, cancellationToken);
        return Answers.NoStore(new SessionCookie(CookieName(request), token, IsSecure(request), options.Value.SessionLifetime,
            Results.Ok(new { redirect = "/dashboard" })));
    }

    /// <summary>The customer's database while its assistant exists (running or suspended); null while it is set up or after it stopped.</summary>
    private string? LiveDatabase(Customer customer) =>
        customer is { Status: CustomerStatus.Active or CustomerStatus.Suspended, DatabaseUrlEncrypted: { } sealedUrl }
            ? secretBox.Open(sealedUrl, customer.Id, SealedColumns.DatabaseUrl)
            : null;

    /// <summary>Until when a stopped customer's archive is kept; null when there is none (or it is past).</summary>
    private async Task<DateTimeOffset?> KeptUntilAsync(Customer customer, CancellationToken cancellationToken)
    {
        if (customer.Status is not (CustomerStatus.Deprovisioning or CustomerStatus.Deprovisioned))
        {
            return null;
        }

        var until = await lifecycle.ArchivedAtAsync(customer.Id, cancellationToken) + options.Value.ArchiveRetention;
        return until > clock.GetUtcNow() ? until : null;
    }

    /// <summary>The smallest plan that offers <paramref name="skill"/> (plans include the skills of the ones below them).</summary>
    private Plan FirstPlanWith(string skill) => plans.Plans.First(p => p.Skills.Contains(skill));

    private static readonly DashboardState Stopping =
        new("stopping", "Stopping", "Your subscription is cancelled; your assistant is being stopped and its data archived.");

    /// <summary>Whether the platform has put the running assistant to sleep (asking does not wake it); false when it cannot tell.</summary>
    private async Task<bool> AsleepAsync(Customer customer, CancellationToken cancellationToken)
    {
        if (customer is not { Status: CustomerStatus.Active, RailwayServiceId: { } serviceId } || customer.BillingState == BillingStates.Cancelled)
        {
            return false;
        }

        return await Providers.ServiceStates.StateOrUnknownAsync(compute, new Providers.ResourceRef(customer.Id, serviceId), cancellationToken) == Providers.ServiceStates.Sleeping;
    }

    private static DashboardState StateOf(Customer customer, DateTimeOffset? keptUntil, bool asleep = false) => customer.Status switch
    {
        CustomerStatus.Active when customer.BillingState == BillingStates.Cancelled => Stopping,
        CustomerStatus.Active when asleep => new("running", "Running",
            "Your assistant is asleep while nobody talks to it, as your plan allows (it costs less that way), and wakes with your next message: the first answer takes a few seconds longer."),
        CustomerStatus.Active => new("running", "Running", "Your assistant is running and answering."),
        CustomerStatus.Suspended => new("suspended", "Suspended",
            $"Paused{(customer.SuspendedAt is { } at ? " since " + CustomerFacing.Day(at) : "")} because Stripe could not collect the last payment. It keeps all its data; pay the open invoice under Manage billing and it resumes at once."),
        CustomerStatus.Pending or CustomerStatus.Provisioning => new("provisioning", "Setting up", "Your assistant is being set up; this page updates when it is ready."),
        CustomerStatus.Failed => new("failed", "Setup failed", CustomerFacing.SetupFailed(customer.Step, CustomerFacing.Reference(customer.Id, customer.OrchestrationId))),
        CustomerStatus.Deprovisioning => Stopping,
        CustomerStatus.Grandfathered => new("grandfathered", "Moving",
            "Your subscription carries over unchanged. Your assistant is moving to a dedicated server of its own; we will email you when it is ready."),
        _ => new("stopped", "Stopped",
            keptUntil is { } until
                ? $"Your subscription is cancelled and your assistant is stopped. Its data is kept until {CustomerFacing.Day(until)}; download it below before then."
                : "Your subscription is cancelled and your assistant is stopped. Its data is no longer kept."),
    };

    private static bool IsSecure(HttpRequest request) =>
        request.IsHttps || !(Uri.TryCreate($"http://{request.Host.Host}/", UriKind.Absolute, out var url) && ProductionSettings.IsLoopback(url));

    private static string CookieName(HttpRequest request) => IsSecure(request) ? SecureCookieName : LoopbackCookieName;

    private sealed record SessionRequest(string? CustomerId);

    private sealed record SignInLinkRequest(string? Email);

    private sealed record SignInRequest(string? Token);

    private sealed record SkillRequest(bool? Enabled);

    private sealed record OfflineBillingRequest(string? Action);

    /// <summary>The answer with the session cookie set (or cleared when <paramref name="Token"/> is null).</summary>
    private sealed record SessionCookie(string Name, string? Token, bool Secure, TimeSpan Lifetime, IResult Inner) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            ArgumentNullException.ThrowIfNull(httpContext);
            var cookie = new CookieOptions { HttpOnly = true, Secure = Secure, SameSite = SameSiteMode.Lax, Path = "/", IsEssential = true };
            if (Token is null)
            {
                httpContext.Response.Cookies.Delete(Name, cookie);
            }
            else
            {
                cookie.MaxAge = Lifetime;
                httpContext.Response.Cookies.Append(Name, Token, cookie);
            }

            return Inner.ExecuteAsync(httpContext);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The dashboard could not read {CustomerId}'s database")]
    private static partial void LogReadFailed(ILogger logger, string customerId, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "{CustomerId} rotated the API key from the dashboard")]
    private static partial void LogRotated(ILogger logger, string customerId);
}

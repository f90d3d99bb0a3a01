using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using SetupClaw.Billing;
using SetupClaw.Customers;
using SetupClaw.Lifecycle;
using SetupClaw.Plans;
using SetupClaw.Tests.Infrastructure;
using SetupClaw.Tests.Simulators;

namespace SetupClaw.Tests.Lifecycle;

/// <summary>
/// No payment can be faked: only the completion of the Checkout Session signup created provisions a customer, only
/// its subscription's events change it, and events of a subscription not bound yet wait for its checkout. Offline
/// billing here (no Stripe key), so nothing is read from Stripe and parked events decide.
/// </summary>
[Collection(SimulatedLoadCollection.Name)]
public sealed class CheckoutBindingTests : IAsyncLifetime
{
    private SimulatedStack stack = null!;

    public async Task InitializeAsync() => stack = await SimulatedStack.StartAsync();

    public async Task DisposeAsync()
    {
        await stack.DisposeAsync();
        Assert.Empty(stack.Neon.Violations);
        Assert.Empty(stack.Railway.Violations);
    }

    [Fact]
    public async Task PaidSessionsSetupClawDidNotCreate_AreAcknowledgedRecordedAndChangeNothing_AndTheRealOneStillWorks()
    {
        var (customerId, sessionId, _) = await stack.SignupForCheckoutAsync("mallory@example.com", Plan.Starter);
        Assert.Equal(StripeEventFactory.OfflineSessionId(customerId), sessionId);

        // Any Payment Link of the account, opened with ?client_reference_id=<the customer's id>, and a one-time payment.
        await AssertNoOpAsync(customerId, StripeEventFactory.CheckoutCompleted(customerId, "mallory@example.com", DateTimeOffset.UtcNow, sessionId: "cs_live_a1PaymentLinkOfTheAccount"), "foreign_session");
        await AssertNoOpAsync(customerId, StripeEventFactory.CheckoutCompleted(customerId, "mallory@example.com", DateTimeOffset.UtcNow, sessionId: "cs_live_b2OneTime", mode: "payment"), "foreign_session");
        await AssertNoOpAsync(customerId, StripeEventFactory.CheckoutCompleted(customerId, "mallory@example.com", DateTimeOffset.UtcNow, sessionId: sessionId, mode: "payment"), "not_a_subscription");

        var refused = await stack.Database.CountAsync(
            $"select count(*) from stripe_events where customer_id = '{customerId}' and outcome in ('foreign_session', 'not_a_subscription')");
        Assert.Equal(3, refused);

        // The customer's own session was not used up by any of them.
        using var real = await stack.SendAsync(StripeEventFactory.CheckoutCompleted(customerId, "mallory@example.com", DateTimeOffset.UtcNow, sessionId: sessionId));
        Assert.StartsWith("bound:", await OutcomeAsync(real), StringComparison.Ordinal);
        await stack.SettledAsync(TimeSpan.FromSeconds(60));
        var customer = (await stack.CustomerAsync(customerId))!;
        Assert.Equal(CustomerStatus.Active, customer.Status);
        Assert.Equal(StripeEventFactory.SubscriptionId(customerId), customer.StripeSubscriptionId);
    }

    [Fact]
    public async Task ABoundCustomer_IgnoresAnotherSubscriptionsCheckoutAndEvents_PlanAndStateStay()
    {
        var customerId = await ActiveCustomerAsync("theo@example.com", Plan.Starter);
        var before = (await stack.CustomerAsync(customerId))!;

        // The right session replayed with another subscription, a Team subscription made elsewhere naming the
        // customer, and the cancellation of some other subscription that names it.
        await AssertNoOpAsync(customerId, StripeEventFactory.CheckoutCompleted(customerId, "theo@example.com", DateTimeOffset.UtcNow,
            sessionId: before.StripeCheckoutSessionId, subscriptionId: "sub_1OtherSubscription"), "subscription_already_bound");
        await AssertNoOpAsync(customerId, StripeEventFactory.SubscriptionUpdated(customerId, SimulatedStack.PriceOf[Plan.Team], "active",
            DateTimeOffset.UtcNow.AddMinutes(1), subscriptionId: "sub_1CheaperPaymentLink"), "foreign_subscription");
        await AssertNoOpAsync(customerId, StripeEventFactory.SubscriptionDeleted(customerId, DateTimeOffset.UtcNow.AddMinutes(2), subscriptionId: "sub_1CheaperPaymentLink"),
            "foreign_subscription");

        var after = (await stack.CustomerAsync(customerId))!;
        Assert.Equal(CustomerStatus.Active, after.Status);
        Assert.Equal(Plan.Starter, after.Plan);
        Assert.Null(after.DesiredPlan);
        Assert.Equal(before.StripeSubscriptionId, after.StripeSubscriptionId);
        Assert.Equal(0, await stack.Database.CountAsync("select count(*) from parked_stripe_events"));

        // Its own subscription's change still goes through.
        await stack.SendAsync(StripeEventFactory.SubscriptionUpdated(customerId, SimulatedStack.PriceOf[Plan.Pro], "active", DateTimeOffset.UtcNow.AddMinutes(3)));
        await stack.SettledAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(Plan.Pro, (await stack.CustomerAsync(customerId))!.Plan);
    }

    [Fact]
    public async Task CancellationWithoutMetadata_BeforeTheOlderCheckout_IsParkedAndWins_NothingIsCreated()
    {
        var customerId = await stack.SignupAsync("nora@example.com", Plan.Pro);
        var paidAt = DateTimeOffset.UtcNow.AddMinutes(-10);
        using (var early = await stack.SendAsync(StripeEventFactory.SubscriptionDeleted(customerId, paidAt.AddMinutes(5), withMetadata: false)))
        {
            Assert.Equal("parked", await OutcomeAsync(early));
        }

        Assert.Equal(CustomerStatus.Pending, (await stack.CustomerAsync(customerId))!.Status);
        using (var checkout = await stack.SendAsync(StripeEventFactory.CheckoutCompleted(customerId, "nora@example.com", paidAt)))
        {
            Assert.Contains("1 parked applied", await OutcomeAsync(checkout), StringComparison.Ordinal);
        }

        await stack.SettledAsync(TimeSpan.FromSeconds(60));
        var customer = (await stack.CustomerAsync(customerId))!;
        Assert.Equal(CustomerStatus.Deprovisioned, customer.Status);
        Assert.Equal(BillingStates.Cancelled, customer.BillingState);
        Assert.Equal(0, await stack.Database.CountAsync($"select count(*) from provisioning_steps where customer_id = '{customerId}' and step = 'create_database'"));
        Assert.Empty(stack.Neon.BranchNames);
        Assert.Empty(stack.Railway.ServiceNames);
        Assert.Equal(0, await stack.Database.CountAsync("select count(*) from parked_stripe_events"));
    }

    [Fact]
    public async Task UpgradeWithoutMetadata_BeforeTheCheckout_ProvisionsOnTheNewPlan_AnotherSubscriptionStaysParked()
    {
        var customerId = await stack.SignupAsync("omar@example.com", Plan.Starter);
        var paidAt = DateTimeOffset.UtcNow.AddMinutes(-5);
        await stack.SendAsync(StripeEventFactory.SubscriptionUpdated(customerId, SimulatedStack.PriceOf[Plan.Pro], "active", paidAt.AddMinutes(1), withMetadata: false));
        // Another subscription of the same Stripe customer: not the one the checkout binds.
        await stack.SendAsync(StripeEventFactory.SubscriptionDeleted(customerId, paidAt.AddMinutes(2), withMetadata: false, subscriptionId: "sub_1SameStripeCustomerOther"));
        Assert.Equal(2, await stack.Database.CountAsync("select count(*) from parked_stripe_events"));

        await stack.SendAsync(StripeEventFactory.CheckoutCompleted(customerId, "omar@example.com", paidAt));
        await stack.SettledAsync(TimeSpan.FromSeconds(60));

        var customer = (await stack.CustomerAsync(customerId))!;
        Assert.Equal(CustomerStatus.Active, customer.Status);
        Assert.Equal(Plan.Pro, customer.Plan);
        Assert.Equal(1, await stack.Database.CountAsync("select count(*) from parked_stripe_events where subscription_id = 'sub_1SameStripeCustomerOther'"));
        Assert.Equal(1, await stack.Database.CountAsync("select count(*) from parked_stripe_events"));
    }

    [Fact]
    public async Task TheSweep_DropsEventsParkedForThirtyDays()
    {
        await stack.SendAsync(StripeEventFactory.SubscriptionDeleted("cus_00000000000000000001", DateTimeOffset.UtcNow, withMetadata: false, subscriptionId: "sub_1Old"));
        await stack.SendAsync(StripeEventFactory.SubscriptionDeleted("cus_00000000000000000002", DateTimeOffset.UtcNow, withMetadata: false, subscriptionId: "sub_1Recent"));
        await stack.Database.ExecuteAsync("update parked_stripe_events set parked_at = now() - interval '31 days' where subscription_id = 'sub_1Old'");

        await stack.SweepAsync();

        Assert.Equal(0, await stack.Database.CountAsync("select count(*) from parked_stripe_events where subscription_id = 'sub_1Old'"));
        Assert.Equal(1, await stack.Database.CountAsync("select count(*) from parked_stripe_events where subscription_id = 'sub_1Recent'"));
    }

    [Fact]
    public async Task ACustomerWithoutOurSession_IsBoundByTheOperator_ThenTheSameRulesApply()
    {
        // A customer of the mock era: no Checkout Session of ours, an existing subscription in Stripe.
        var customerId = await stack.SignupAsync("vera@example.com", Plan.Starter);
        await stack.Database.ExecuteAsync($"update customers set stripe_checkout_session_id = null where id = '{customerId}'");
        await AssertNoOpAsync(customerId, StripeEventFactory.CheckoutCompleted(customerId, "vera@example.com", DateTimeOffset.UtcNow), "foreign_session");
        using (var parked = await stack.SendAsync(StripeEventFactory.SubscriptionUpdated(customerId, SimulatedStack.PriceOf[Plan.Pro], "active",
                   DateTimeOffset.UtcNow, withMetadata: false, subscriptionId: "sub_1MockEraVera")))
        {
            Assert.Equal("parked", await OutcomeAsync(parked));
        }

        using (var unsigned = await BindAsync(customerId, "{\"subscriptionId\": \"sub_1MockEraVera\"}", adminKey: null))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, unsigned.StatusCode);
        }

        using (var malformed = await BindAsync(customerId, "{\"subscriptionId\": \"not a subscription\"}"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
            Assert.Equal("application/problem+json", malformed.Content.Headers.ContentType?.MediaType);
        }

        Assert.Null((await stack.CustomerAsync(customerId))!.StripeSubscriptionId);
        using (var bound = await BindAsync(customerId, "{\"subscriptionId\": \"sub_1MockEraVera\"}"))
        {
            Assert.Equal(HttpStatusCode.OK, bound.StatusCode);
            Assert.Contains("1 parked applied", await OutcomeAsync(bound), StringComparison.Ordinal);
        }

        await stack.SettledAsync(TimeSpan.FromSeconds(60));
        var customer = (await stack.CustomerAsync(customerId))!;
        Assert.Equal(CustomerStatus.Active, customer.Status);
        Assert.Equal(Plan.Pro, customer.Plan);
        Assert.Equal("sub_1MockEraVera", customer.StripeSubscriptionId);

        // Bound now: another subscription can neither be bound nor change it.
        using (var second = await BindAsync(customerId, "{\"subscriptionId\": \"sub_1Another\"}"))
        {
            Assert.Equal(HttpStatusCode.Conflict, second.StatusCode);
        }

        await AssertNoOpAsync(customerId, StripeEventFactory.SubscriptionDeleted(customerId, DateTimeOffset.UtcNow.AddMinutes(1), subscriptionId: "sub_1Another"), "foreign_subscription");
    }

    private async Task<HttpResponseMessage> BindAsync(string customerId, string json, string? adminKey = SimulatedStack.AdminKey)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/operator/customers/{customerId}/subscription")
        {
            Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json"),
        };
        if (adminKey is not null)
        {
            request.Headers.Add("X-Admin-Key", adminKey);
        }

        return await stack.Http.SendAsync(request);
    }

    private async Task<string> ActiveCustomerAsync(string email, string plan)
    {
        var customerId = await stack.SignupAsync(email, plan);
        await stack.SendAsync(StripeEventFactory.CheckoutCompleted(customerId, email, DateTimeOffset.UtcNow.AddMinutes(-1)));
        await stack.SettledAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(CustomerStatus.Active, (await stack.CustomerAsync(customerId))!.Status);
        return customerId;
    }

    /// <summary>The event is acknowledged with <paramref name="outcome"/>, recorded, starts no run and changes no billing fact.</summary>
    private async Task AssertNoOpAsync(string customerId, string payload, string outcome)
    {
        var before = (await stack.CustomerAsync(customerId))!;
        var runsBefore = await stack.Database.CountAsync($"select lifecycle_runs from customers where id = '{customerId}'");
        using var response = await stack.SendAsync(payload);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(outcome, await OutcomeAsync(response));
        var eventId = JsonDocument.Parse(payload).RootElement.GetProperty("id").GetString();
        Assert.Equal(1, await stack.Database.CountAsync($"select count(*) from stripe_events where id = '{eventId}' and outcome = '{outcome}'"));

        var after = (await stack.CustomerAsync(customerId))!;
        Assert.Equal(runsBefore, await stack.Database.CountAsync($"select lifecycle_runs from customers where id = '{customerId}'"));
        Assert.Equal(before.Status, after.Status);
        Assert.Equal(before.BillingState, after.BillingState);
        Assert.Equal(before.DesiredVersion, after.DesiredVersion);
        Assert.Equal(before.StripeSubscriptionId, after.StripeSubscriptionId);
        Assert.Equal(before.StripeCheckoutSessionId, after.StripeCheckoutSessionId);
    }

    private static async Task<string> OutcomeAsync(HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("outcome").GetString()!;
}

/// <summary>With a Stripe key, the checkout that binds a subscription reads it from Stripe (a local stand-in here) and stores Stripe's current word.</summary>
[Collection(SimulatedLoadCollection.Name)]
public sealed class StripeReadTests : IAsyncLifetime
{
    private SimulatedStack stack = null!;

    private StripeSimulator Stripe => stack.Stripe!;

    public async Task InitializeAsync() => stack = await SimulatedStack.StartAsync(await StripeSimulator.StartAsync());

    public async Task DisposeAsync()
    {
        var violations = stack.Stripe!.Violations.ToList();
        await stack.DisposeAsync();
        Assert.Empty(violations);
    }

    [Fact]
    public async Task Signup_CreatesARealCheckoutSession_AndStoresItsId()
    {
        var (customerId, sessionId, checkoutUrl) = await stack.SignupForCheckoutAsync("pia@example.com", Plan.Pro);

        Assert.StartsWith("cs_test_", sessionId, StringComparison.Ordinal);
        Assert.Equal("https://checkout.stripe.com/c/pay/" + sessionId, checkoutUrl);
        Assert.Equal((customerId, SimulatedStack.PriceOf[Plan.Pro]), Stripe.Sessions[sessionId]);
        Assert.Equal(sessionId, (await stack.CustomerAsync(customerId))!.StripeCheckoutSessionId);
    }

    [Fact]
    public async Task Checkout_WhoseSubscriptionStripeSaysIsCancelledNow_ProvisionsNothing()
    {
        var (customerId, sessionId, _) = await stack.SignupForCheckoutAsync("quinn@example.com", Plan.Pro);
        var subscriptionId = Stripe.Pay(sessionId, status: "canceled");

        await stack.SendAsync(StripeEventFactory.CheckoutCompleted(customerId, "quinn@example.com", DateTimeOffset.UtcNow.AddSeconds(-30), sessionId, subscriptionId: subscriptionId));
        await stack.SettledAsync(TimeSpan.FromSeconds(60));

        var customer = (await stack.CustomerAsync(customerId))!;
        Assert.Equal(CustomerStatus.Deprovisioned, customer.Status);
        Assert.Equal(subscriptionId, customer.StripeSubscriptionId);
        Assert.Empty(stack.Neon.BranchNames);
        Assert.Empty(stack.Railway.ServiceNames);
    }

    [Fact]
    public async Task Checkout_TakesThePlanOfTheSubscriptionsPriceNow()
    {
        var (customerId, sessionId, _) = await stack.SignupForCheckoutAsync("rosa@example.com", Plan.Starter);
        var subscriptionId = Stripe.Pay(sessionId);
        // Upgraded in Stripe right after paying; that event is still on its way.
        Stripe.Subscriptions[subscriptionId] = Stripe.Subscriptions[subscriptionId] with { PriceId = SimulatedStack.PriceOf[Plan.Team] };

        await stack.SendAsync(StripeEventFactory.CheckoutCompleted(customerId, "rosa@example.com", DateTimeOffset.UtcNow.AddSeconds(-30), sessionId, subscriptionId: subscriptionId));
        await stack.SettledAsync(TimeSpan.FromSeconds(60));

        var customer = (await stack.CustomerAsync(customerId))!;
        Assert.Equal(CustomerStatus.Active, customer.Status);
        Assert.Equal(Plan.Team, customer.Plan);
    }

    [Fact]
    public async Task ManageBilling_OpensAStripeCustomerPortalSession_ForTheCustomersStripeCustomer_ReturningToTheDashboard()
    {
        var (customerId, sessionId, _) = await stack.SignupForCheckoutAsync("tess@example.com", Plan.Pro);
        var subscriptionId = Stripe.Pay(sessionId);
        await stack.SendAsync(StripeEventFactory.CheckoutCompleted(customerId, "tess@example.com", DateTimeOffset.UtcNow.AddSeconds(-30), sessionId, subscriptionId: subscriptionId));
        await stack.SettledAsync(TimeSpan.FromSeconds(60));
        var customer = (await stack.CustomerAsync(customerId))!;
        Assert.Equal(CustomerStatus.Active, customer.Status);
        Stripe.Customers[customer.StripeCustomerId!] = true;

        var session = await stack.App.Services.GetRequiredService<SetupClaw.Dashboard.CustomerSessions>().StartAsync(customerId, TimeSpan.FromHours(1), default);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/dashboard/billing") { Content = JsonContent.Create(new { }) };
        request.Headers.Add("Cookie", "claw_session=" + session);
        request.Headers.Add("X-CSRF-Token", SetupClaw.Dashboard.CustomerSessions.CsrfTokenOf(session));
        using var answer = await stack.Http.SendAsync(request);
        var body = await answer.Content.ReadAsStringAsync();
        Assert.True(answer.IsSuccessStatusCode, body);

        var url = JsonDocument.Parse(body).RootElement.GetProperty("url").GetString();
        Assert.StartsWith("https://billing.stripe.com/p/session/test_", url, StringComparison.Ordinal);
        var portal = Assert.Single(Stripe.PortalSessions);
        Assert.Equal(customer.StripeCustomerId, portal.Customer);
        Assert.Equal(new Uri(stack.Http.BaseAddress!, "/dashboard").ToString(), portal.ReturnUrl);
        // With Stripe configured there is no stand-in portal.
        Assert.Equal(HttpStatusCode.NotFound, (await stack.Http.GetAsync("/billing/portal")).StatusCode);
    }

    [Fact]
    public async Task StripeUnreachable_TheParkedEventsDecide()
    {
        var (customerId, sessionId, _) = await stack.SignupForCheckoutAsync("sam@example.com", Plan.Starter);
        var subscriptionId = Stripe.Pay(sessionId);
        Stripe.FaultFor = (method, path, _) => method == "GET" && path.StartsWith("/v1/subscriptions/", StringComparison.Ordinal) ? Fault.ServerError : null;
        var paidAt = DateTimeOffset.UtcNow.AddMinutes(-2);
        await stack.SendAsync(StripeEventFactory.SubscriptionUpdated(customerId, SimulatedStack.PriceOf[Plan.Pro], "active", paidAt.AddSeconds(30), withMetadata: false, subscriptionId: subscriptionId));

        await stack.SendAsync(StripeEventFactory.CheckoutCompleted(customerId, "sam@example.com", paidAt, sessionId, subscriptionId: subscriptionId));
        await stack.SettledAsync(TimeSpan.FromSeconds(60));

        Assert.True(Stripe.FaultsInjected > 0, "the subscription was never asked for");
        var customer = (await stack.CustomerAsync(customerId))!;
        Assert.Equal(CustomerStatus.Active, customer.Status);
        Assert.Equal(Plan.Pro, customer.Plan);
    }
}

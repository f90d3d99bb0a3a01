using System.Net.Mail;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SetupClaw.Billing;
using SetupClaw.Credentials;
using SetupClaw.Customers;
using SetupClaw.Http;
using SetupClaw.Plans;
using SetupClaw.Providers;

namespace SetupClaw.Signup;

public sealed record SignupRequest(string? Email, string? Plan, string? Name, string? AssistantName);

public sealed record SignupResponse(string CustomerId, string CheckoutUrl, string CheckoutSessionId, string StatusUrl, string StatusToken);

/// <summary><c>POST /api/signup</c>: a pending customer and the checkout that will pay for it. Nothing is written for bad input.</summary>
public sealed partial class SignupHandler(
    ICustomerStore store, ICheckoutGateway checkout, RequestLimits limits, IOptions<AppOptions> app, ILogger<SignupHandler> logger)
{
    public const int MaxBodyBytes = 16 * 1024;

    public async Task<IResult> HandleAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (limits.RefuseSignup(request) is { } tooMany)
        {
            return tooMany;
        }

        if (!RequestBodies.IsJson(request))
        {
            return Problems.UnsupportedMediaType("application/json");
        }

        var body = await RequestBodies.ReadLimitedAsync(request, MaxBodyBytes, cancellationToken);
        if (body is null)
        {
            return Problems.TooLarge(MaxBodyBytes);
        }

        SignupRequest? input;
        try
        {
            input = JsonSerializer.Deserialize<SignupRequest>(body, RequestBodies.Json);
        }
        catch (JsonException e)
        {
            return Problems.BadRequest("Malformed JSON", $"The body is not valid JSON ({e.Message}).");
        }

        if (Validate(input) is { } problem)
        {
            return problem;
        }

        var plan = PlanCatalog.Get(input!.Plan!);
        var email = input.Email!.Trim();
        var customerId = CustomerIds.New();
        var statusToken = Secrets.NewStatusToken();

        // Checkout first: if it fails, nothing has been written. The session's id is stored with the customer, so only
        // the completion of this session (not any other paid session naming the customer) can provision it.
        StartedCheckout started;
        try
        {
            started = await checkout.CreateCheckoutAsync(customerId, email, plan, cancellationToken);
        }
        catch (Exception e) when (e is Stripe.StripeException or HttpRequestException)
        {
            // The operator reads Stripe's words in the log; the customer gets a reason they can act on.
            LogCheckoutFailed(logger, customerId, e.Message);
            return Results.Problem("We could not start the payment just now. Nothing was charged and nothing was saved; please try again in a minute.",
                statusCode: 502, title: "Checkout unavailable");
        }

        await store.CreateAsync(
            new NewCustomer(customerId, email, Clean(input.Name), Clean(input.AssistantName), plan.Name, Secrets.Hash(statusToken), started.SessionId),
            cancellationToken);
        LogSignup(logger, customerId, plan.Name);

        var statusUrl = new Uri(app.Value.PublicBaseUrl, $"/api/provisioning/{customerId}").ToString();
        return Results.Created(statusUrl, new SignupResponse(customerId, started.Url, started.SessionId, statusUrl, statusToken));
    }

    private static IResult? Validate(SignupRequest? input)
    {
        if (input is null)
        {
            return Problems.BadRequest("Missing body", "Send {\"email\": \"…\", \"plan\": \"starter|pro|team\"}.");
        }

        if (!IsEmail(input.Email))
        {
            return Problems.BadRequest("Invalid email", $"'{Truncate(input.Email)}' is not an email address we can send to. Use the form name@example.com.");
        }

        if (!PlanCatalog.TryGet(input.Plan, out _))
        {
            return Problems.BadRequest("Unknown plan",
                $"'{Truncate(input.Plan)}' is not a plan. Choose one of: {string.Join(", ", Plan.All.Select(p => p.Name))}.");
        }

        if (input.Name?.Length > 100 || input.AssistantName?.Length > 50)
        {
            return Problems.BadRequest("Name too long", "name may have up to 100 characters and assistantName up to 50.");
        }

        return null;
    }

    private static bool IsEmail(string? value)
    {
        if (string.IsNullOrWhiteSpace(value) || value.Length > 254)
        {
            return false;
        }

        var trimmed = value.Trim();
        return MailAddress.TryCreate(trimmed, out var address) &&
               address.Address == trimmed &&
               address.Host.Contains('.', StringComparison.Ordinal) &&
               !trimmed.Any(char.IsWhiteSpace);
    }

    private static string? Clean(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    private static string Truncate(string? value) => value is null ? "(missing)" : value.Length <= 60 ? value : value[..60] + "…";

    [LoggerMessage(Level = LogLevel.Warning, Message = "Signup {CustomerId}: Stripe Checkout could not be created: {Reason}")]
    private static partial void LogCheckoutFailed(ILogger logger, string customerId, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Signup {CustomerId} on {Plan}")]
    private static partial void LogSignup(ILogger logger, string customerId, string plan);
}

using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using SetupClaw.Billing;
using SetupClaw.Operations;
using SetupClaw.Provisioning;
using SetupClaw.Signup;

namespace SetupClaw.Functions;

/// <summary>
/// Thin HTTP triggers over the core handlers the local host uses too. Each handler returns an
/// <see cref="IResult"/>, executed on the request's own HttpContext (ASP.NET Core integration).
/// </summary>
public sealed class HttpFunctions(
    SignupHandler signup, StripeWebhookHandler webhook, ProvisioningStatusHandler status, OrchestrationStatusHandler orchestrations)
{
    [Function("Signup")]
    public Task<IActionResult> SignupAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "signup")] HttpRequest request, CancellationToken cancellationToken) =>
        ExecuteAsync(request, signup.HandleAsync(request, cancellationToken));

    [Function("StripeWebhook")]
    public Task<IActionResult> StripeWebhookAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "stripe/webhook")] HttpRequest request,
        [DurableClient] DurableTaskClient durable,
        CancellationToken cancellationToken) =>
        ExecuteAsync(request, webhook.HandleAsync(request, durable, cancellationToken));

    [Function("ProvisioningStatus")]
    public Task<IActionResult> ProvisioningStatusAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "provisioning/{customerId}")] HttpRequest request,
        string customerId,
        CancellationToken cancellationToken) =>
        ExecuteAsync(request, status.HandleAsync(request, customerId, cancellationToken));

    [Function("OrchestrationStatus")]
    public Task<IActionResult> OrchestrationStatusAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "orchestrations/{instanceId}")] HttpRequest request,
        string instanceId,
        [DurableClient] DurableTaskClient durable,
        CancellationToken cancellationToken) =>
        ExecuteAsync(request, orchestrations.HandleAsync(request, instanceId, durable, cancellationToken));

    /// <summary>Runs a core handler's result on the trigger's own HttpContext (ASP.NET Core integration).</summary>
    internal static async Task<IActionResult> ExecuteAsync(HttpRequest request, Task<IResult> handling)
    {
        await (await handling).ExecuteAsync(request.HttpContext);
        return new EmptyResult();
    }
}

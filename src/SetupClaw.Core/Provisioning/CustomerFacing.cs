using System.Globalization;

namespace SetupClaw.Provisioning;

/// <summary>
/// What a customer is told, in plain words. Provider detail (log tails, project ids, setting names) stays in the
/// operator log and the operator API: a customer gets the step, what happens next and a reference the operator
/// can find (the run's operation id).
/// </summary>
public static class CustomerFacing
{
    public static string StepLabel(string? step) => step switch
    {
        Steps.ReserveCredentials => "preparing your credentials",
        Steps.ClaimInstance => "taking a ready instance",
        Steps.Resize => "sizing your instance to your plan",
        Steps.CreateDatabase => "creating your database",
        Steps.SeedWorkspace => "writing your assistant's workspace",
        Steps.CreateService => "creating your assistant's service",
        Steps.Deploy => "starting your assistant",
        Steps.HealthCheck => "checking your assistant answers",
        Steps.Activate => "switching your assistant on",
        _ => "setting up your assistant",
    };

    /// <summary>The short reference a customer quotes and an operator looks up (<c>GET /api/operator/customers/{id}</c>, the logs).</summary>
    public static string Reference(string customerId, string? operationId) =>
        operationId is { Length: > 0 } ? operationId : customerId;

    /// <summary>A date as customers read it in pages and emails: <c>2 December 2026</c> (UTC).</summary>
    public static string Day(DateTimeOffset at) => at.UtcDateTime.ToString("d MMMM yyyy", CultureInfo.InvariantCulture);

    public static string SetupFailed(string? step, string reference) =>
        $"Setup failed while {StepLabel(step)}. We have been told and will retry it; you do not need to pay or sign up again. " +
        $"If you write to us, quote reference {reference}.";
}

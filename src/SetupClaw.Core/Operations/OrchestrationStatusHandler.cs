using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Options;
using SetupClaw.Credentials;
using SetupClaw.Http;

namespace SetupClaw.Operations;

/// <summary>
/// <c>GET /api/orchestrations/{instanceId}</c> for the operator (<c>X-Admin-Key</c>): runtime status, custom status,
/// timestamps and failure details. Durable's own management URLs carry a system key and are never handed out.
/// </summary>
public sealed class OrchestrationStatusHandler(RequestLimits limits)
{
    public async Task<IResult> HandleAsync(HttpRequest request, string instanceId, DurableTaskClient durable, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(durable);
        if (limits.RefuseAdmin(request) is { } refused)
        {
            return refused;
        }

        if (instanceId.Length > 100)
        {
            return Problems.BadRequest("Invalid instance id", "Instance ids are at most 100 characters.");
        }

        var instance = await durable.GetInstanceAsync(instanceId, getInputsAndOutputs: true, cancellationToken);
        if (instance is null)
        {
            return Problems.NotFound($"No orchestration has the instance id '{instanceId}'.");
        }

        return Results.Ok(new
        {
            instance.InstanceId,
            instance.Name,
            runtimeStatus = instance.RuntimeStatus.ToString(),
            instance.CreatedAt,
            instance.LastUpdatedAt,
            customStatus = Parse(instance.SerializedCustomStatus),
            output = Parse(instance.SerializedOutput),
            failure = instance.FailureDetails is { } f ? new { f.ErrorType, f.ErrorMessage } : null,
        });
    }

    /// <summary>The operator's routes answer only to <c>X-Admin-Key: {Security:AdminKey}</c>; null when the key is right.</summary>
    private static JsonElement? Parse(string? json) => string.IsNullOrEmpty(json) ? null : JsonSerializer.Deserialize<JsonElement>(json);
}

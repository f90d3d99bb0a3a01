using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Stripe;

namespace SetupClaw.Billing;

/// <summary>
/// Reads objects from Stripe when a Stripe key is configured: Stripe's advice for events that arrive out of order is
/// to fetch the object's current state rather than trust the event's copy. Null when offline or when Stripe cannot
/// be reached (then the events parked for the subscription decide).
/// </summary>
public sealed partial class StripeReader(IServiceProvider services, IOptions<StripeOptions> options, ILogger<StripeReader> logger)
{
    public async Task<Subscription?> SubscriptionAsync(string subscriptionId, CancellationToken cancellationToken)
    {
        if (options.Value.IsOffline)
        {
            return null;
        }

        try
        {
            var client = services.GetRequiredService<IStripeClient>();
            return await new SubscriptionService(client).GetAsync(subscriptionId, cancellationToken: cancellationToken);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            LogUnreadable(logger, subscriptionId, e is StripeException s ? $"{(int)s.HttpStatusCode} {s.StripeError?.Code}" : e.GetType().Name);
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not read subscription {SubscriptionId} from Stripe ({Reason}); the events parked for it decide")]
    private static partial void LogUnreadable(ILogger logger, string subscriptionId, string reason);
}

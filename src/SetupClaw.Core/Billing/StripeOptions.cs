namespace SetupClaw.Billing;

public sealed class StripeOptions
{
    public const string Section = "Stripe";

    /// <summary>Empty: offline billing (a local checkout page that sends signed, Stripe-shaped events).</summary>
    public string? SecretKey { get; set; }

    /// <summary>The endpoint's <c>whsec_…</c> secret. Required in both modes: offline events are signed with it too.</summary>
    public string WebhookSecret { get; set; } = "";

    /// <summary>Stripe's API address; only a local Stripe stand-in (tests) changes it.</summary>
    public Uri? ApiBase { get; set; }

    public bool IsOffline => string.IsNullOrWhiteSpace(SecretKey);

    /// <summary>Stripe.net's client for this key and address: the hosts and the doctor build it the same way.</summary>
    public Stripe.StripeClient CreateClient() => new(SecretKey, apiBase: ApiBase?.ToString().TrimEnd('/'));
}

public sealed class AppOptions
{
    public const string Section = "App";

    /// <summary>The public address of this control plane: checkout, success and status URLs are built from it.</summary>
    public Uri PublicBaseUrl { get; set; } = new("http://127.0.0.1:7071");

    /// <summary>
    /// This installation's id ([a-z0-9-], up to 40), tagged on every database and service it creates (a Neon
    /// annotation, a Railway variable, a local database's comment), so its sweep can tell its own leftovers from
    /// another installation's in a shared Neon project, Railway project or PostgreSQL server. Set one per installation.
    /// </summary>
    public string InstallationId { get; set; } = DefaultInstallationId;

    /// <summary>The id when none is set: resources are still tagged, but its sweep never calls a pool leftover its own.</summary>
    public const string DefaultInstallationId = "setupclaw";
}

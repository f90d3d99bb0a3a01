using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Options;

namespace SetupClaw.Plans;

/// <summary>Price and Stripe price id of one plan, bound from <c>Plans:{Name}</c>.</summary>
public sealed class PlanPriceOptions
{
    public string? StripePriceId { get; set; }

    public decimal MonthlyPriceUsd { get; set; }

    /// <summary>Overrides the plan's monthly model-token budget.</summary>
    public long? MonthlyTokens { get; set; }

    /// <summary>Overrides whether the plan's assistants sleep when idle (Railway's application sleeping).</summary>
    public bool? SleepWhenIdle { get; set; }

    /// <summary>Overrides after how many idle seconds the plan's database compute suspends (Neon; -1 never, 60 to 604800).</summary>
    public int? DatabaseSuspendSeconds { get; set; }
}

public sealed class PlansOptions
{
    public const string Section = "Plans";

    public PlanPriceOptions Starter { get; set; } = new();

    public PlanPriceOptions Pro { get; set; } = new();

    public PlanPriceOptions Team { get; set; } = new();

    /// <summary>
    /// Older Stripe price ids (the prototype's) → plan names, <c>Plans:LegacyPrices:{priceId}=pro</c>: a mock-era
    /// subscription still on one is understood by the webhook and the migration as that plan.
    /// </summary>
    public Dictionary<string, string> LegacyPrices { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>Looks plans up by name or Stripe price id. Exact, case-insensitive matches only: no prototype fallback to Starter.</summary>
public sealed class PlanCatalog(IOptions<PlansOptions> options)
{
    public IReadOnlyList<Plan> Plans => Plan.All;

    public static bool TryGet(string? name, [NotNullWhen(true)] out Plan? plan)
    {
        plan = Plan.All.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase));
        return plan is not null;
    }

    /// <summary>The plan named, or Starter when no plan has that name: what a customer-facing page shows rather than failing.</summary>
    public static Plan GetOrStarter(string? name) => TryGet(name, out var plan) ? plan : Plan.StarterPlan;

    public static Plan Get(string name) =>
        TryGet(name, out var plan) ? plan : throw new ArgumentException($"Unknown plan '{name}'.", nameof(name));

    public PlanPriceOptions PriceOf(Plan plan) => plan.Name switch
    {
        Plan.Starter => options.Value.Starter,
        Plan.Pro => options.Value.Pro,
        Plan.Team => options.Value.Team,
        _ => throw new ArgumentOutOfRangeException(nameof(plan), plan.Name, "Unknown plan."),
    };

    /// <summary>The plan's monthly model-token budget: <c>Plans:{Plan}:MonthlyTokens</c>, else the plan's default.</summary>
    public long TokenBudgetOf(Plan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        return PriceOf(plan).MonthlyTokens is { } configured && configured > 0 ? configured : plan.MonthlyTokens;
    }

    /// <summary>
    /// How the plan's idle assistants rest: whether the service sleeps, and after how many idle seconds the database
    /// compute suspends (-1 never). The plan's defaults unless <c>Plans:{Plan}:SleepWhenIdle</c> or
    /// <c>:DatabaseSuspendSeconds</c> say otherwise.
    /// </summary>
    public (bool Sleep, int DatabaseSuspendSeconds) IdleOf(Plan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var configured = PriceOf(plan);
        var suspend = configured.DatabaseSuspendSeconds ?? plan.DatabaseSuspendSeconds;
        return (configured.SleepWhenIdle ?? plan.SleepWhenIdle, suspend is -1 or (>= 60 and <= 604_800) ? suspend : plan.DatabaseSuspendSeconds);
    }

    public bool TryGetByPriceId(string? priceId, [NotNullWhen(true)] out Plan? plan)
    {
        plan = string.IsNullOrEmpty(priceId)
            ? null
            : Plan.All.FirstOrDefault(p => string.Equals(PriceOf(p).StripePriceId, priceId, StringComparison.Ordinal));
        if (plan is null && priceId is not null && options.Value.LegacyPrices.TryGetValue(priceId, out var legacy))
        {
            TryGet(legacy, out plan);
        }

        return plan is not null;
    }
}

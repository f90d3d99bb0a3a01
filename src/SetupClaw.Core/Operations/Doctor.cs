using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;
using Refit;
using SetupClaw.Billing;
using SetupClaw.Providers;
using SetupClaw.Providers.Neon;
using SetupClaw.Providers.Railway;
using SetupClaw.Provisioning;

namespace SetupClaw.Operations;

/// <summary>One finding of the doctor: what was checked, whether it is fine, what was seen, and the fix when it is not.</summary>
public sealed record DoctorFinding(string Check, bool Ok, string Detail, string? Fix = null);

/// <summary>
/// Checks the configuration the way production will use it, before a customer pays: the control database, the
/// durable backend, Stripe's keys, the Neon key and project (with branch headroom), the Railway token (who it
/// belongs to, the project and environment), and the model settings. Each failure says how to fix it.
/// </summary>
public sealed class Doctor(IConfiguration configuration)
{
    public async Task<IReadOnlyList<DoctorFinding>> RunAsync(CancellationToken cancellationToken)
    {
        var findings = new List<DoctorFinding>
        {
            await ControlDatabaseAsync(cancellationToken),
            await AttentionAsync(cancellationToken),
            DurableBackend(),
            Stripe(),
            Model(),
            WarmPool(),
        };
        findings.AddRange(await StripeAccountAsync(cancellationToken));
        var database = configuration["Providers:Database"] ?? "Local";
        var compute = configuration["Providers:Compute"] ?? "Local";
        findings.Add(string.Equals(database, "Neon", StringComparison.OrdinalIgnoreCase)
            ? await WithProviderAsync("neon", "Providers:Compute", NeonAsync, cancellationToken)
            : new DoctorFinding("database provider", true, $"{database}: customer databases in the control PostgreSQL server"));
        findings.Add(string.Equals(compute, "Railway", StringComparison.OrdinalIgnoreCase)
            ? await WithProviderAsync("railway", "Providers:Database", RailwayAsync, cancellationToken)
            : new DoctorFinding("compute provider", true, $"{compute}: runtimes as child processes of the local host"));
        return findings;
    }

    /// <summary>
    /// Builds one provider as the hosts do (the other one set to Local, so each is checked on its own) and runs its
    /// check; missing settings are a finding, not a crash.
    /// </summary>
    private async Task<DoctorFinding> WithProviderAsync(
        string check, string otherProvider, Func<IServiceProvider, CancellationToken, Task<DoctorFinding>> run, CancellationToken cancellationToken)
    {
        var alone = new ConfigurationBuilder().AddConfiguration(configuration)
            .AddInMemoryCollection(new Dictionary<string, string?> { [otherProvider] = "Local" }).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton(TimeProvider.System);
        try
        {
            SetupClawServices.AddProviders(services, alone, configuration.GetConnectionString("ControlDatabase") ?? "Host=unset");
        }
        catch (OptionsValidationException e)
        {
            return new DoctorFinding(check, false, e.Message, "Add the settings named above (docs/operations.md, Configuration).");
        }

        await using var providers = services.BuildServiceProvider();
        return await run(providers, cancellationToken);
    }

    private async Task<DoctorFinding> ControlDatabaseAsync(CancellationToken cancellationToken)
    {
        if (configuration.GetConnectionString("ControlDatabase") is not { Length: > 0 } connectionString)
        {
            return new DoctorFinding("control database", false, "ConnectionStrings:ControlDatabase is not set",
                "Set ConnectionStrings__ControlDatabase, or use ./setupclaw, which starts a local PostgreSQL and sets it.");
        }

        try
        {
            await using var connection = new NpgsqlConnection(Data.PostgresConnectionStrings.Normalize(connectionString));
            await connection.OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand("select count(*) from information_schema.tables where table_name in ('customers', 'stripe_events', 'provisioning_steps')", connection);
            var tables = (long)(await command.ExecuteScalarAsync(cancellationToken))!;
            return tables == 3
                ? new DoctorFinding("control database", true, $"{connection.Host}:{connection.Port}/{connection.Database}, migrated")
                : new DoctorFinding("control database", true, $"{connection.Host}:{connection.Port}/{connection.Database} reachable; migrations run at the first start");
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or ArgumentException or FormatException)
        {
            return new DoctorFinding("control database", false, e.Message,
                "Check ConnectionStrings:ControlDatabase (host, port, user, password) and that PostgreSQL is running.");
        }
    }

    /// <summary>What waits for the operator: customers whose lifecycle gave up, and orphans the sweep has not removed.</summary>
    private async Task<DoctorFinding> AttentionAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = new NpgsqlConnection(Data.PostgresConnectionStrings.Normalize(configuration.GetConnectionString("ControlDatabase") ?? ""));
            await connection.OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand(
                """
                select (select count(*) from customers where lifecycle_error is not null),
                       (select count(*) from orphans where removed_at is null)
                """, connection);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            var (stuck, orphans) = (reader.GetInt64(0), reader.GetInt64(1));
            return stuck == 0 && orphans == 0
                ? new DoctorFinding("lifecycle", true, "no customer waits for the operator; no open orphans")
                : new DoctorFinding("lifecycle", false, $"{stuck} customer(s) with a lifecycle error, {orphans} open orphan(s)",
                    "GET /api/operator/orphans and customers.lifecycle_error say why; fix the cause, then POST /api/operator/customers/{id}/retry or /api/operator/sweep.");
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or ArgumentException or InvalidOperationException or FormatException)
        {
            return new DoctorFinding("lifecycle", true, "not checked: the control database is not reachable or not migrated yet");
        }
    }

    private DoctorFinding DurableBackend()
    {
        var backend = configuration["Durable:Backend"] ?? "InMemory";
        return backend switch
        {
            "InMemory" => new DoctorFinding("durable backend", true, "InMemory: fine for one machine; sagas are resumed from the control database after a restart"),
            "AzureStorage" when configuration["Durable:AzureStorage:ConnectionString"] is { Length: > 0 } => new DoctorFinding("durable backend", true, "AzureStorage, connection string set"),
            "AzureStorage" => new DoctorFinding("durable backend", false, "Durable:Backend is AzureStorage but Durable:AzureStorage:ConnectionString is not set",
                "Set Durable__AzureStorage__ConnectionString (UseDevelopmentStorage=true for Azurite)."),
            _ => new DoctorFinding("durable backend", false, $"Durable:Backend '{backend}' is unknown", "Use InMemory or AzureStorage."),
        };
    }

    private DoctorFinding Stripe()
    {
        var stripe = configuration.GetSection(StripeOptions.Section).Get<StripeOptions>() ?? new StripeOptions();
        if (!stripe.WebhookSecret.StartsWith("whsec_", StringComparison.Ordinal))
        {
            return new DoctorFinding("stripe", false, "Stripe:WebhookSecret is not a whsec_… signing secret",
                "Copy the signing secret of the webhook endpoint from the Stripe dashboard (Developers → Webhooks) into Stripe__WebhookSecret.");
        }

        if (stripe.IsOffline)
        {
            return new DoctorFinding("stripe", true, "offline billing (no Stripe:SecretKey): the local checkout page signs events with the webhook secret");
        }

        return stripe.SecretKey!.StartsWith("sk_", StringComparison.Ordinal) || stripe.SecretKey.StartsWith("rk_", StringComparison.Ordinal)
            ? new DoctorFinding("stripe", true, $"{(stripe.SecretKey.Contains("_live_", StringComparison.Ordinal) ? "live" : "test")} secret key and webhook secret set")
            : new DoctorFinding("stripe", false, "Stripe:SecretKey is not an sk_… or rk_… key",
                "Use a secret (sk_…) or restricted (rk_…) key from the Stripe dashboard; a publishable pk_… key cannot create Checkout sessions.");
    }

    /// <summary>
    /// With a Stripe key: the settings a paying host needs, each plan's price (exists, recurring, active), and a webhook
    /// endpoint on this control plane's public address enabled for every event type the handler reads.
    /// </summary>
    private async Task<IReadOnlyList<DoctorFinding>> StripeAccountAsync(CancellationToken cancellationToken)
    {
        var stripe = configuration.GetSection(StripeOptions.Section).Get<StripeOptions>() ?? new StripeOptions();
        if (stripe.IsOffline || !(stripe.SecretKey!.StartsWith("sk_", StringComparison.Ordinal) || stripe.SecretKey.StartsWith("rk_", StringComparison.Ordinal)))
        {
            return [];
        }

        var findings = new List<DoctorFinding>();
        var problems = ProductionSettings.Problems(configuration, reachable: false);
        findings.Add(problems.Count == 0
            ? new DoctorFinding("production settings", true, "every plan has a price id, the admin key is long enough, no secret has its sample value")
            : new DoctorFinding("production settings", false, string.Join(" ", problems), "Set each named setting (docs/deployment.md lists them); the host refuses to start until then."));

        var client = stripe.CreateClient();
        var plans = new Plans.PlanCatalog(Options.Create(configuration.GetSection(Plans.PlansOptions.Section).Get<Plans.PlansOptions>() ?? new Plans.PlansOptions()));
        var priceProblems = new List<string>();
        var prices = new List<string>();
        try
        {
            foreach (var plan in Plans.Plan.All)
            {
                var id = plans.PriceOf(plan).StripePriceId;
                if (string.IsNullOrWhiteSpace(id))
                {
                    continue; // named by the production settings finding
                }

                try
                {
                    var price = await new global::Stripe.PriceService(client).GetAsync(id, cancellationToken: cancellationToken);
                    if (price.Type != "recurring" || price.Recurring is null)
                    {
                        priceProblems.Add($"{plan.DisplayName}'s price {id} is one-time, not recurring");
                    }
                    else if (!price.Active)
                    {
                        priceProblems.Add($"{plan.DisplayName}'s price {id} is archived (not active)");
                    }
                    else
                    {
                        prices.Add($"{plan.DisplayName} {id} ({price.Recurring.Interval}ly)");
                    }
                }
                catch (global::Stripe.StripeException e) when (e.HttpStatusCode == HttpStatusCode.NotFound)
                {
                    priceProblems.Add($"{plan.DisplayName}'s price {id} does not exist in this Stripe account");
                }
            }

            findings.Add(priceProblems.Count == 0
                ? new DoctorFinding("stripe prices", true, string.Join(", ", prices))
                : new DoctorFinding("stripe prices", false, string.Join("; ", priceProblems),
                    "In the Stripe dashboard (Product catalog) create an active monthly price for each plan and set Plans__<Plan>__StripePriceId to its price_… id."));

            var url = new Uri(configuration.GetSection(AppOptions.Section).Get<AppOptions>()?.PublicBaseUrl ?? new AppOptions().PublicBaseUrl, "/" + Http.SiteRoutes.StripeWebhookPath).ToString();
            var endpoints = await new global::Stripe.WebhookEndpointService(client).ListAsync(new global::Stripe.WebhookEndpointListOptions { Limit = 100 }, cancellationToken: cancellationToken);
            var endpoint = endpoints.Data.FirstOrDefault(e => string.Equals(e.Url, url, StringComparison.OrdinalIgnoreCase));
            var missing = endpoint is null ? [] : StripeWebhookHandler.HandledEventTypes
                .Where(t => !endpoint.EnabledEvents.Contains(t) && !endpoint.EnabledEvents.Contains("*")).ToList();
            findings.Add(endpoint switch
            {
                null => new DoctorFinding("stripe webhook", false, $"no webhook endpoint of this Stripe account sends to {url}",
                    $"Add an endpoint for {url} (Developers → Webhooks) with the events {string.Join(", ", StripeWebhookHandler.HandledEventTypes)}, and put its signing secret in Stripe__WebhookSecret."),
                { Status: not "enabled" } => new DoctorFinding("stripe webhook", false, $"the endpoint for {url} is {endpoint.Status}", "Enable it in the Stripe dashboard (Developers → Webhooks)."),
                _ when missing.Count > 0 => new DoctorFinding("stripe webhook", false, $"the endpoint for {url} does not send {string.Join(", ", missing)}",
                    "Add those events to the endpoint in the Stripe dashboard (Developers → Webhooks)."),
                _ => new DoctorFinding("stripe webhook", true, $"{url} enabled for every event SetupClaw reads"),
            });
        }
        catch (Exception e) when (e is global::Stripe.StripeException or HttpRequestException)
        {
            findings.Add(new DoctorFinding("stripe account", false, $"Stripe answered: {e.Message}",
                "Check Stripe__SecretKey (a secret sk_… or restricted rk_… key with read access to prices and webhook endpoints)."));
        }

        return findings;
    }

    /// <summary>The warm pool's size and what it costs while idle; an installation id of its own when the providers are shared.</summary>
    private DoctorFinding WarmPool()
    {
        var pool = configuration.GetSection(Pool.PoolOptions.Section).Get<Pool.PoolOptions>() ?? new Pool.PoolOptions();
        var installation = configuration["App:InstallationId"] ?? AppOptions.DefaultInstallationId;
        if (pool.Size <= 0)
        {
            return new DoctorFinding("warm pool", true, "none (Pool:Size 0): every customer is provisioned cold, in about a Railway deploy (30 s to 2 min)");
        }

        var cost = Pool.PoolCost.Describe(pool.Size, pool.HealthCheckSeconds);
        return installation == AppOptions.DefaultInstallationId
            ? new DoctorFinding("warm pool", false, $"{pool.Size} member(s) on {pool.Plan}; {cost}; App:InstallationId is the default, so the sweep never removes leftover pool members",
                "Set App__InstallationId to a name of this installation's own (a-z, 0-9, '-'): its sweep then removes its own pool leftovers and leaves other installations' alone.")
            : new DoctorFinding("warm pool", true, $"{pool.Size} member(s) on {pool.Plan}, installation {installation}; {cost}");
    }

    private DoctorFinding Model()
    {
        var llm = configuration.GetSection(LlmOptions.Section).Get<LlmOptions>() ?? new LlmOptions();
        return llm.Provider switch
        {
            null or "" => new DoctorFinding("model", true, "none configured: assistants run, and chat answers 503 naming Llm__Provider until one is set"),
            "anthropic" or "openai" when string.IsNullOrWhiteSpace(llm.Model) => new DoctorFinding("model", false, $"Llm:Provider is {llm.Provider} but Llm:Model is not set", "Set Llm__Model to the model id your provider lists."),
            "anthropic" or "openai" => new DoctorFinding("model", true, $"{llm.Provider} {llm.Model}{(llm.BaseUrl is { Length: > 0 } url ? " at " + url : "")}"),
            _ => new DoctorFinding("model", false, $"Llm:Provider '{llm.Provider}' is not supported", "Use anthropic, or openai for any OpenAI-compatible endpoint."),
        };
    }

    private static async Task<DoctorFinding> NeonAsync(IServiceProvider providers, CancellationToken cancellationToken)
    {
        var options = providers.GetRequiredService<IOptions<NeonOptions>>().Value;
        var api = providers.GetRequiredService<INeonApi>();
        try
        {
            var project = (await api.GetProjectAsync(options.ProjectId!, cancellationToken)).Project;
            var branches = (await api.ListBranchesAsync(options.ProjectId!, "", cancellationToken)).Branches;
            var customers = branches.Count(b => b.Name.StartsWith("cus-", StringComparison.Ordinal));
            var limit = project.Owner?.BranchesLimit;
            var free = limit - branches.Count;
            var detail = $"project {project.Name} ({project.Id}): {customers} customer branches, {branches.Count} in all"
                + (limit is { } l ? $", limit {l} ({free} free)" : "");
            if (free <= 0)
            {
                return new DoctorFinding("neon", false, detail + " — the branch limit is reached: the next customer cannot be provisioned",
                    "Each customer needs one branch: delete unused branches, or move the Neon project to a plan with more branches (Free allows 10, Launch and Scale 5,000).");
            }

            return await NeonTemplateAsync(api, options, branches, detail, cancellationToken);
        }
        catch (ApiException e) when (e.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
        {
            return new DoctorFinding("neon", false, $"authentication failed (HTTP {(int)e.StatusCode})",
                "Create an API key in the Neon console (Account or Organization settings → API keys) with access to the project, and set Providers__Neon__ApiKey.");
        }
        catch (ApiException e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return new DoctorFinding("neon", false, $"project {options.ProjectId} not found", "Set Providers__Neon__ProjectId to the id in the Neon console's project settings.");
        }
        catch (Exception e) when (e is HttpRequestException or ApiException or TaskCanceledException)
        {
            return new DoctorFinding("neon", false, $"Neon did not answer: {e.Message}", $"Check Providers:Neon:BaseUrl ({options.BaseUrl}) and the network.");
        }
    }

    /// <summary>The template branch customer branches copy: it must exist, not be the default branch, and hold no database and no role.</summary>
    private static async Task<DoctorFinding> NeonTemplateAsync(INeonApi api, NeonOptions options, IReadOnlyList<Branch> branches, string detail, CancellationToken cancellationToken)
    {
        const string Fix = "Create an empty template branch (Neon console → Branches → New branch from the default branch, then delete its databases and roles there) and set Providers__Neon__ParentBranchId to its id (br-…).";
        var template = branches.FirstOrDefault(b => b.Id == options.ParentBranchId);
        if (template is null)
        {
            return new DoctorFinding("neon", false, $"{detail} — the template branch {options.ParentBranchId} does not exist", Fix);
        }

        if (template.Default == true)
        {
            return new DoctorFinding("neon", false, $"{detail} — the template {template.Name} is the project's default branch: every customer would copy its data and roles", Fix);
        }

        var databases = (await api.ListDatabasesAsync(options.ProjectId!, template.Id, cancellationToken)).Databases;
        var roles = (await api.ListRolesAsync(options.ProjectId!, template.Id, cancellationToken)).Roles;
        return databases.Count + roles.Count == 0
            ? new DoctorFinding("neon", true, $"{detail}; template {template.Name} ({template.Id}) is empty")
            : new DoctorFinding("neon", false,
                $"{detail} — the template {template.Name} is not empty ({string.Join(", ", databases.Select(d => "database " + d.Name).Concat(roles.Select(r => "role " + r.Name)))}): every customer branch would copy it",
                "Delete those databases and roles on the template branch (its customers' branches are not affected), or point Providers__Neon__ParentBranchId at an empty one.");
    }

    private static async Task<DoctorFinding> RailwayAsync(IServiceProvider providers, CancellationToken cancellationToken)
    {
        var options = providers.GetRequiredService<RailwayOptions>();
        var railway = providers.GetRequiredService<RailwayClient>();
        try
        {
            var who = string.Equals(options.TokenKind, "Account", StringComparison.OrdinalIgnoreCase)
                ? "account " + (await railway.ExecuteAsync("Me", null, cancellationToken))["me"]!["email"]!.GetValue<string>()
                : options.TokenKind.ToLowerInvariant() + " token";
            var project = (await railway.ExecuteAsync("Project", new { id = options.ProjectId }, cancellationToken))["project"]!;
            var environments = project["environments"]!["edges"]!.AsArray().Select(e => e!["node"]!).ToList();
            var environment = environments.FirstOrDefault(e => options.EnvironmentId is { Length: > 0 } id
                ? e["id"]!.GetValue<string>() == id
                : string.Equals(e["name"]!.GetValue<string>(), options.EnvironmentName, StringComparison.OrdinalIgnoreCase));
            if (environment is null)
            {
                return new DoctorFinding("railway", false, $"project {project["name"]} has no environment {options.EnvironmentId ?? options.EnvironmentName}",
                    $"Set Providers__Railway__EnvironmentName to one of: {string.Join(", ", environments.Select(e => e["name"]!.GetValue<string>()))}.");
            }

            var services = project["services"]!["edges"]!.AsArray().Count(e => e!["node"]!["name"]!.GetValue<string>().StartsWith("claw-cus-", StringComparison.Ordinal));
            return new DoctorFinding("railway", true, $"{who}; project {project["name"]}, environment {environment["name"]}, {services} customer services");
        }
        catch (PermanentProvisioningException e)
        {
            return new DoctorFinding("railway", false, "authentication failed: " + e.Message.Split(": check", 2)[0],
                "Check Providers__Railway__Token and Providers__Railway__TokenKind: workspace and account tokens go as 'Authorization: Bearer', project tokens as 'Project-Access-Token' (TokenKind Project).");
        }
        catch (Exception e) when (e is HttpRequestException or RailwayException or TaskCanceledException)
        {
            return new DoctorFinding("railway", false, $"Railway did not answer as expected: {e.Message}", $"Check Providers:Railway:Endpoint ({options.Endpoint}) and Providers:Railway:ProjectId.");
        }
    }

    /// <summary>Prints the findings, one line each, with the fix under every failure; true when all are fine.</summary>
    public static bool Print(IReadOnlyList<DoctorFinding> findings, TextWriter output)
    {
        foreach (var finding in findings)
        {
            output.WriteLine($"{(finding.Ok ? "ok  " : "FAIL")}  {finding.Check,-18} {finding.Detail}");
            if (!finding.Ok && finding.Fix is not null)
            {
                output.WriteLine($"      {"",-18} fix: {finding.Fix}");
            }
        }

        var failed = findings.Count(f => !f.Ok);
        output.WriteLine(failed == 0 ? "All checks passed." : $"{failed} check(s) failed.");
        return failed == 0;
    }
}

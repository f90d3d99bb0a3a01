using System.ClientModel;
using System.ClientModel.Primitives;
using Microsoft.Extensions.AI;
using OpenAI;

namespace SetupClaw.Runtime.Chat;

/// <summary>
/// The model behind the assistant, through Microsoft.Extensions.AI: any OpenAI-compatible endpoint. In production that
/// is the SetupClaw control plane's model gateway (which speaks to Anthropic or OpenAI with the platform's key); a
/// runtime run on its own can point at OpenAI, Anthropic's OpenAI-compatible API, Ollama, vLLM or OpenRouter. When
/// the settings are missing or wrong the gateway holds no client and <see cref="ConfigurationProblem"/> says which setting to add; chat then answers 503.
/// </summary>
public sealed class ModelGateway : IDisposable
{
    private static readonly AsyncLocal<CallRecord?> CurrentCall = new();
    private readonly HttpClient http;
    private readonly string? apiKey;

    public ModelGateway(LlmSettings settings)
    {
        apiKey = settings.ApiKey;
        Model = settings.Model ?? "none";
        MaxOutputTokens = settings.MaxOutputTokens;
        // Only the control plane's gateway is ever given the gateway token: an endpoint deployed with no key of its own
        // (a runtime given a provider's key talks to that provider, and the token never leaves for it).
        var endpoint = settings.Provider == "openai" && settings.ApiKey is null && settings.BaseUrl is { } baseUrl ? baseUrl.TrimEnd('/') + "/" : null;
        http = new HttpClient(new StatusRecorder(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }, endpoint))
        {
            Timeout = TimeSpan.FromMinutes(2),
        };
        ConfigurationProblem = Validate(settings);
        Provider = ConfigurationProblem is null ? settings.Provider! : settings.Provider is null ? "none" : "misconfigured";
        Client = ConfigurationProblem is null ? Create(settings) : null;
    }

    /// <summary><c>openai</c>, <c>none</c> or <c>misconfigured</c>: what /health reports.</summary>
    public string Provider { get; }

    public string Model { get; }

    public int MaxOutputTokens { get; }

    public IChatClient? Client { get; }

    public string? ConfigurationProblem { get; }

    /// <summary>
    /// Starts recording the upstream HTTP status of the model calls made from here on (this async flow). With a
    /// <paramref name="gatewayToken"/> (the runtime's own token for the control plane's gateway, read from its
    /// database) those calls present it instead of any configured key.
    /// </summary>
    public static CallRecord BeginCall(string? gatewayToken = null) => CurrentCall.Value = new CallRecord(gatewayToken);

    /// <summary>Removes the configured key and this call's gateway token from text that may have come back from the model (an error message).</summary>
    public string Redact(string text)
    {
        foreach (var secret in new[] { apiKey, CurrentCall.Value?.GatewayToken })
        {
            if (!string.IsNullOrEmpty(secret))
            {
                text = text.Replace(secret, "[redacted]", StringComparison.Ordinal);
            }
        }

        return text;
    }

    public void Dispose()
    {
        Client?.Dispose();
        http.Dispose();
    }

    private static string? Validate(LlmSettings settings)
    {
        const string Fix = "on the SetupClaw control plane (environment Llm__Provider, Llm__Model, Llm__ApiKey, Llm__BaseUrl), then redeploy the assistant";
        if (settings.Provider is null)
        {
            return $"No model is configured for this assistant. Set Llm:Provider to 'openai' with Llm:Model and Llm:ApiKey (and Llm:BaseUrl for the gateway, Anthropic's OpenAI-compatible API, Ollama, vLLM or OpenRouter) {Fix}.";
        }

        if (settings.Provider != "openai")
        {
            return settings.Provider == "anthropic"
                ? $"The runtime speaks only OpenAI-compatible APIs: set Llm:Provider 'anthropic' on the control plane (its model gateway speaks to Anthropic), or here use 'openai' with Llm:BaseUrl https://api.anthropic.com/v1/, {Fix}."
                : $"Llm:Provider '{settings.Provider}' is not supported: use 'openai' for any OpenAI-compatible endpoint, {Fix}.";
        }

        if (settings.Model is null)
        {
            return $"Llm:Model is not set: name the model to use (for example the id your provider lists) {Fix}.";
        }

        if (settings.BaseUrl is not null && !(Uri.TryCreate(settings.BaseUrl, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"))
        {
            return $"Llm:BaseUrl '{settings.BaseUrl}' is not an http(s) URL {Fix}.";
        }

        // An OpenAI-compatible server of one's own (Ollama, vLLM) may need no key; the public APIs always do.
        if (settings.ApiKey is null && settings.BaseUrl is null)
        {
            return $"Llm:ApiKey is not set for the '{settings.Provider}' provider {Fix}.";
        }

        return null;
    }

    private IChatClient Create(LlmSettings settings)
    {
        var options = new OpenAIClientOptions
        {
            Transport = new HttpClientPipelineTransport(http),
            NetworkTimeout = TimeSpan.FromSeconds(90),
        };
        if (settings.BaseUrl is not null)
        {
            options.Endpoint = new Uri(settings.BaseUrl);
        }

        // Servers such as Ollama take any key; the SDK insists on one, so a placeholder stands in.
        return new OpenAIClient(new ApiKeyCredential(settings.ApiKey ?? "no-key"), options).GetChatClient(settings.Model!).AsIChatClient();
    }

    /// <summary>The last HTTP status the provider answered within one chat call.</summary>
    public sealed class CallRecord(string? gatewayToken)
    {
        public string? GatewayToken { get; } = gatewayToken;

        public int? LastStatus { get; set; }

        /// <summary>When the SetupClaw gateway refused for the monthly token budget: the day it resets.</summary>
        public string? BudgetResetsOn { get; set; }
    }

    private sealed class StatusRecorder(HttpMessageHandler inner, string? endpoint) : DelegatingHandler(inner)
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            // The gateway token goes to the configured endpoint only (the control plane's gateway), never elsewhere.
            if (CurrentCall.Value?.GatewayToken is { } token && endpoint is not null &&
                request.RequestUri?.AbsoluteUri.StartsWith(endpoint, StringComparison.OrdinalIgnoreCase) == true)
            {
                request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            }

            var response = await base.SendAsync(request, cancellationToken);
            if (CurrentCall.Value is { } call)
            {
                call.LastStatus = (int)response.StatusCode;
                call.BudgetResetsOn = response.Headers.TryGetValues("X-Budget-Resets-At", out var resets) ? resets.FirstOrDefault() : null;
            }

            return response;
        }
    }
}

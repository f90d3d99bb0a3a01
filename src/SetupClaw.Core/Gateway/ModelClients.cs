using System.ClientModel;
using System.ClientModel.Primitives;
using Anthropic;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using OpenAI;
using SetupClaw.Provisioning;

namespace SetupClaw.Gateway;

/// <summary>
/// The one model client the gateway forwards to, through Microsoft.Extensions.AI: Anthropic (the official SDK) or any
/// OpenAI-compatible endpoint, built from <c>Llm:*</c>. The provider key lives here, in the control plane, only. Null
/// when no model is configured. The last upstream HTTP status of a call is recorded for the answer's reason.
/// </summary>
public sealed class ModelClients : IDisposable
{
    private static readonly AsyncLocal<UpstreamCall?> Current = new();
    private readonly HttpClient http = new(new StatusRecorder(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }))
    {
        Timeout = TimeSpan.FromMinutes(2),
    };

    public ModelClients(IOptions<LlmOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var llm = options.Value;
        Provider = llm.Provider?.Trim().ToLowerInvariant();
        Model = llm.Model?.Trim();
        Client = Provider switch
        {
            "anthropic" when Model is not null && llm.ApiKey is not null => new AnthropicClient
            {
                ApiKey = llm.ApiKey,
                HttpClient = http,
                MaxRetries = 2,
                Timeout = TimeSpan.FromSeconds(90),
                BaseUrl = string.IsNullOrWhiteSpace(llm.BaseUrl) ? "https://api.anthropic.com" : llm.BaseUrl,
            }.AsIChatClient(Model, llm.MaxOutputTokens ?? 1024),
            "openai" when Model is not null => new OpenAIClient(
                new ApiKeyCredential(llm.ApiKey ?? "no-key"),
                new OpenAIClientOptions
                {
                    Transport = new HttpClientPipelineTransport(http),
                    NetworkTimeout = TimeSpan.FromSeconds(90),
                    Endpoint = string.IsNullOrWhiteSpace(llm.BaseUrl) ? null : new Uri(llm.BaseUrl),
                }).GetChatClient(Model).AsIChatClient(),
            _ => null,
        };
    }

    public string? Provider { get; }

    public string? Model { get; }

    public IChatClient? Client { get; }

    /// <summary>Starts recording the upstream status of the calls made from here on (this async flow).</summary>
    public static UpstreamCall Begin() => Current.Value = new UpstreamCall();

    public void Dispose()
    {
        Client?.Dispose();
        http.Dispose();
    }

    public sealed class UpstreamCall
    {
        public int? LastStatus { get; set; }
    }

    private sealed class StatusRecorder(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            if (Current.Value is { } call)
            {
                call.LastStatus = (int)response.StatusCode;
            }

            return response;
        }
    }
}

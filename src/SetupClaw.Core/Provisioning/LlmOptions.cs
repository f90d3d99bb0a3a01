namespace SetupClaw.Provisioning;

/// <summary>
/// The model every provisioned assistant uses, bound from <c>Llm</c> (environment <c>Llm__Provider</c>, ...). Only the
/// control plane's model gateway uses them: each runtime is told the gateway's address and a token of its own
/// (<see cref="GatewayVariables"/>), never the provider key. With none set, the assistants run and their chat says
/// which setting to add.
/// </summary>
public sealed class LlmOptions
{
    public const string Section = "Llm";

    /// <summary><c>anthropic</c> or <c>openai</c> (any OpenAI-compatible endpoint: OpenAI, Ollama, vLLM, OpenRouter).</summary>
    public string? Provider { get; set; }

    /// <summary>For OpenAI-compatible servers, the URL up to and including <c>/v1</c> (Ollama: http://127.0.0.1:11434/v1).</summary>
    public string? BaseUrl { get; set; }

    public string? ApiKey { get; set; }

    public string? Model { get; set; }

    public int? MaxOutputTokens { get; set; }

    /// <summary>Most messages one request may carry (history included).</summary>
    public int MaxMessages { get; set; } = 100;

    /// <summary>Most characters of message text one request may carry (about a quarter of that in tokens).</summary>
    public int MaxPromptCharacters { get; set; } = 400_000;

    public bool IsConfigured => !string.IsNullOrWhiteSpace(Provider);

    /// <summary>
    /// A runtime's model settings: the gateway as an OpenAI-compatible endpoint (the runtime's token for it is in its
    /// database, not a variable). None when no model is configured (the runtime's chat then says which setting to add).
    /// </summary>
    public IEnumerable<KeyValuePair<string, string>> GatewayVariables(Uri gateway)
    {
        ArgumentNullException.ThrowIfNull(gateway);
        if (!IsConfigured)
        {
            yield break;
        }

        yield return KeyValuePair.Create("Llm__Provider", "openai");
        yield return KeyValuePair.Create("Llm__BaseUrl", gateway.ToString().TrimEnd('/'));
        yield return KeyValuePair.Create("Llm__Model", string.IsNullOrWhiteSpace(Model) ? "default" : Model.Trim());
        if (MaxOutputTokens is { } max)
        {
            yield return KeyValuePair.Create("Llm__MaxOutputTokens", max.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }
}

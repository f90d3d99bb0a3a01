namespace SetupClaw.Provisioning;

/// <summary>
/// The model every provisioned assistant uses, bound from <c>Llm</c> (environment <c>Llm__Provider</c>, ...). The
/// control plane passes these settings to each runtime as service variables of the same names; with none set, the
/// assistants run and their chat says which setting to add.
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

    /// <summary>The runtime's variables for these settings: only the ones that are set.</summary>
    public IEnumerable<KeyValuePair<string, string>> RuntimeVariables()
    {
        var values = new (string Key, string? Value)[]
        {
            ("Llm__Provider", Provider),
            ("Llm__BaseUrl", BaseUrl),
            ("Llm__ApiKey", ApiKey),
            ("Llm__Model", Model),
            ("Llm__MaxOutputTokens", MaxOutputTokens?.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        };
        return values.Where(v => !string.IsNullOrWhiteSpace(v.Value)).Select(v => KeyValuePair.Create(v.Key, v.Value!.Trim()));
    }
}

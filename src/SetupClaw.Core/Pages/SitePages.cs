using Microsoft.AspNetCore.Http;
using SetupClaw.Data;
using SetupClaw.Http;

namespace SetupClaw.Pages;

/// <summary>
/// The site's pages and their one stylesheet and scripts, embedded in the core and served by SetupClaw itself: no
/// external font, script or style. Pages carry a Content-Security-Policy that allows nothing else (no inline script).
/// </summary>
public static class SitePages
{
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

    private static readonly Dictionary<string, string> AssetTypes = new(StringComparer.Ordinal)
    {
        [".css"] = "text/css; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
    };

    private static readonly Lazy<Dictionary<string, string>> Assets = new(() => ControlDatabase.ReadResources("assets/")
        .ToDictionary(r => r.Name["assets/".Length..], r => r.Text, StringComparer.Ordinal));

    public static IResult Html(string name) => Page(Load(name));

    /// <summary>An HTML page with the site's security headers.</summary>
    public static IResult Page(string html) => Answers.WithHeaders(Results.Content(html, "text/html; charset=utf-8"),
        ("Content-Security-Policy", ContentSecurityPolicy), ("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "same-origin"));

    /// <summary><c>GET /assets/{name}</c>: one of the embedded stylesheets or scripts, or 404.</summary>
    public static IResult Asset(string name) =>
        Assets.Value.TryGetValue(name, out var text) && AssetTypes.TryGetValue(Path.GetExtension(name), out var type)
            ? Answers.WithHeaders(Results.Content(text, type), ("Cache-Control", "public, max-age=300"), ("X-Content-Type-Options", "nosniff"))
            : Problems.NotFound($"There is no asset named '{Problems.Echo(name)}'.");

    internal static string Load(string name) => ControlDatabase.ReadResource(typeof(SitePages).Assembly, $"pages/{name}.html");
}

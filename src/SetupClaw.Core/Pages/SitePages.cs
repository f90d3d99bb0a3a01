using Microsoft.AspNetCore.Http;
using SetupClaw.Data;

namespace SetupClaw.Pages;

/// <summary>The site's HTML pages (signup form, success page, offline checkout), embedded in the core.</summary>
public static class SitePages
{
    public static IResult Html(string name) => Results.Content(Load(name), "text/html; charset=utf-8");

    internal static string Load(string name) => ControlDatabase.ReadResource(typeof(SitePages).Assembly, $"pages/{name}.html");
}

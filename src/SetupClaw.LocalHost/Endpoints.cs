using Microsoft.DurableTask.Client;
using SetupClaw.Http;

namespace SetupClaw.LocalHost;

/// <summary>The core's route table (<see cref="SiteRoutes"/>), the same one the Functions app's triggers follow, and the sidecar.</summary>
internal static class Endpoints
{
    public static void MapSetupClawEndpoints(this WebApplication app)
    {
        app.MapDurableSidecar();
        foreach (var route in SiteRoutes.All)
        {
            Func<HttpContext, Task<IResult>> handle = context => route.Handle(new RouteCall(
                context.Request,
                context.Request.RouteValues.ToDictionary(v => v.Key, v => v.Value?.ToString()),
                route.UsesDurable ? context.RequestServices.GetRequiredService<DurableTaskClient>() : null,
                context.RequestServices,
                context.RequestAborted));
            app.MapMethods("/" + route.Path, [route.Method.ToUpperInvariant()], handle).WithName(route.Name);
        }
    }
}

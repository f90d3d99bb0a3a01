using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using SetupClaw.Customers;
using SetupClaw.Provisioning;
using SetupClaw.Tests.Infrastructure;

namespace SetupClaw.Tests.Runtime;

/// <summary>Skills follow the plan; workspace files can be read and edited, and the seed step never overwrites an edit.</summary>
public sealed class SkillsAndWorkspaceTests(OpenAiRuntimeFixture fixture) : IClassFixture<OpenAiRuntimeFixture>
{
    private readonly RuntimeInstance runtime = fixture.Runtime;
    private readonly StubModelServer model = fixture.Model;

    [Fact]
    public async Task Skills_StarterPlan_ListsEveryShippedSkillWithWhatThePlanAllows()
    {
        using var client = runtime.CreateClient();

        var skills = (await (await client.GetAsync(new Uri("/api/skills", UriKind.Relative))).JsonAsync()).GetProperty("skills").EnumerateArray()
            .ToDictionary(s => s.GetProperty("name").GetString()!, s => (Available: s.GetProperty("available").GetBoolean(), Enabled: s.GetProperty("enabled").GetBoolean()));

        Assert.Equal(7, skills.Count);
        Assert.Equal((true, true), skills["note-taker"]);
        Assert.Equal((true, true), skills["writing-helper"]);
        Assert.Equal((false, false), skills["meeting-prep"]);
        Assert.Equal((false, false), skills["team-handoff"]);
    }

    [Fact]
    public async Task Skills_EnablingOneOutsideThePlan_403WithTheReason_UnknownIs404()
    {
        using var client = runtime.CreateClient();

        using var refused = await client.PostAsync(new Uri("/api/skills/email-drafter/enable", UriKind.Relative), null);
        using var unknown = await client.PostAsync(new Uri("/api/skills/crypto-miner/enable", UriKind.Relative), null);

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        var problem = await refused.JsonAsync();
        Assert.Contains("not included in the Starter plan", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(0, await runtime.CountAsync("select count(*) from skills where name in ('email-drafter', 'crypto-miner')"));
    }

    [Fact]
    public async Task Skills_Disabled_LeavesThePrompt_ReEnabled_ComesBack()
    {
        using var client = runtime.CreateClient();

        (await client.PostAsync(new Uri("/api/skills/writing-helper/disable", UriKind.Relative), null)).EnsureSuccessStatusCode();
        var before = model.Requests.Count;
        (await client.PostJsonAsync("/api/chat", new { message = "Rewrite this sentence" })).EnsureSuccessStatusCode();
        Assert.DoesNotContain("## Skill: writing-helper", model.Requests.Skip(before).Single().System, StringComparison.Ordinal);

        using var enabled = await client.PostAsync(new Uri("/api/skills/writing-helper/enable", UriKind.Relative), null);
        Assert.True((await enabled.JsonAsync()).GetProperty("enabled").GetBoolean());
        before = model.Requests.Count;
        (await client.PostJsonAsync("/api/chat", new { message = "Rewrite this sentence" })).EnsureSuccessStatusCode();
        Assert.Contains("## Skill: writing-helper", model.Requests.Skip(before).Single().System, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Workspace_ListsTheFiveFilesRenderedForTheCustomer()
    {
        using var client = runtime.CreateClient();

        var files = (await (await client.GetAsync(new Uri("/api/workspace/files", UriKind.Relative))).JsonAsync()).GetProperty("files")
            .EnumerateArray().Select(f => f.GetProperty("name").GetString()).ToList();
        var user = await (await client.GetAsync(new Uri("/api/workspace/files/USER.md", UriKind.Relative))).JsonAsync();

        Assert.Equal(["IDENTITY.md", "SOUL.md", "USER.md", "AGENTS.md", "MEMORY.md"], files);
        Assert.Contains("ada@example.com", user.GetProperty("content").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("{{", user.GetProperty("content").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Workspace_PutJsonOrMarkdown_ReadBackBothWays_AndTheSeedStepNeverOverwritesIt()
    {
        using var client = runtime.CreateClient();
        (await client.PutAsJsonAsync(new Uri("/api/workspace/files/AGENTS.md", UriKind.Relative), new { content = "# AGENTS\nCall me Countess." })).EnsureSuccessStatusCode();
        using var markdown = new StringContent("# IDENTITY\nName: Difference Engine", Encoding.UTF8, "text/markdown");
        (await client.PutAsync(new Uri("/api/workspace/files/identity.md", UriKind.Relative), markdown)).EnsureSuccessStatusCode();

        // A redeploy or re-run of provisioning seeds again: edited files stay as the customer wrote them.
        var customer = new Customer { Id = "cus_runtime_test", Email = "ada@example.com", Plan = "starter", StatusTokenHash = "x", Status = "active" };
        await new WorkspaceSeeder(TimeProvider.System).SeedAsync(runtime.ConnectionString, customer, "ws_again", CancellationToken.None);

        var json = await (await client.GetAsync(new Uri("/api/workspace/files/AGENTS.md", UriKind.Relative))).JsonAsync();
        Assert.Equal("# AGENTS\nCall me Countess.", json.GetProperty("content").GetString());
        Assert.True(json.GetProperty("edited").GetBoolean());
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/api/workspace/files/IDENTITY.md", UriKind.Relative));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/markdown"));
        using var raw = await client.SendAsync(request);
        Assert.Equal("text/markdown", raw.Content.Headers.ContentType?.MediaType);
        Assert.Equal("# IDENTITY\nName: Difference Engine", await raw.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("/api/workspace/files/SECRETS.md", "{\"content\": \"x\"}", "application/json", HttpStatusCode.NotFound)]
    [InlineData("/api/workspace/files/..%2F..%2Fetc%2Fpasswd", "{\"content\": \"x\"}", "application/json", HttpStatusCode.NotFound)]
    [InlineData("/api/workspace/files/SOUL.md", "{\"text\": \"x\"}", "application/json", HttpStatusCode.BadRequest)]
    [InlineData("/api/workspace/files/SOUL.md", "{\"content\": [1]}", "application/json", HttpStatusCode.BadRequest)]
    [InlineData("/api/workspace/files/SOUL.md", "", "application/json", HttpStatusCode.BadRequest)]
    [InlineData("/api/workspace/files/SOUL.md", "<soul/>", "application/xml", HttpStatusCode.UnsupportedMediaType)]
    public async Task Workspace_BadPut_ProblemAndTheFileUnchanged(string path, string body, string contentType, HttpStatusCode expected)
    {
        using var client = runtime.CreateClient();
        var before = await runtime.CountAsync("select count(*) from workspace_files where edited");
        var soul = await (await client.GetAsync(new Uri("/api/workspace/files/SOUL.md", UriKind.Relative))).Content.ReadAsStringAsync();

        using var response = await client.PutAsync(new Uri(path, UriKind.Relative), new StringContent(body, Encoding.UTF8, contentType));

        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(before, await runtime.CountAsync("select count(*) from workspace_files where edited"));
        Assert.Equal(soul, await (await client.GetAsync(new Uri("/api/workspace/files/SOUL.md", UriKind.Relative))).Content.ReadAsStringAsync());
        Assert.Equal(5, await runtime.CountAsync("select count(*) from workspace_files"));
    }

    [Fact]
    public async Task Workspace_OversizedFile_413()
    {
        using var client = runtime.CreateClient();

        using var json = await client.PutAsJsonAsync(new Uri("/api/workspace/files/MEMORY.md", UriKind.Relative), new { content = new string('x', 65_537) });
        using var markdown = await client.PutAsync(new Uri("/api/workspace/files/MEMORY.md", UriKind.Relative), new StringContent(new string('x', 65_537), Encoding.UTF8, "text/markdown"));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, json.StatusCode);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, markdown.StatusCode);
    }
}

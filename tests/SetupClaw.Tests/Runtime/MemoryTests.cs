using System.Net;
using System.Text;
using SetupClaw.Tests.Infrastructure;

namespace SetupClaw.Tests.Runtime;

public sealed class MemoryRuntimeFixture : IAsyncLifetime
{
    public RuntimeInstance Runtime { get; private set; } = null!;

    public Dictionary<string, long> Ids { get; } = [];

    public async Task InitializeAsync()
    {
        Runtime = await RuntimeInstance.StartAsync();
        await Runtime.ExecuteAsync("delete from memories");
        using var client = Runtime.CreateClient();
        foreach (var (key, content) in new[]
        {
            ("dentist", "Dentist appointment with Dr Molar on Friday"),
            ("dentist-bill", "Paid the dentist bill, 120 euros"),
            ("tyres", "The car needs new winter tyres"),
            ("percent", "Sales grew 50% in March"),
            ("quote", "Her favourite quote: 'stay hungry'"),
        })
        {
            var created = await (await client.PostJsonAsync("/api/memory", new { content, metadata = new { key } })).JsonAsync();
            Ids[key] = created.GetProperty("id").GetInt64();
        }
    }

    public async Task DisposeAsync() => await Runtime.DisposeAsync();
}

/// <summary>Memories: stored, paged, deleted, and found by ranked full-text search that hostile text cannot bend.</summary>
public sealed class MemoryTests(MemoryRuntimeFixture fixture) : IClassFixture<MemoryRuntimeFixture>
{
    private readonly RuntimeInstance runtime = fixture.Runtime;

    private async Task<(HttpStatusCode Status, long[] Ids)> SearchAsync(string query, string extra = "")
    {
        using var client = runtime.CreateClient();
        using var response = await client.GetAsync(new Uri($"/api/memory/search?query={Uri.EscapeDataString(query)}{extra}", UriKind.Relative));
        if (response.StatusCode != HttpStatusCode.OK)
        {
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            return (response.StatusCode, []);
        }

        var body = await response.JsonAsync();
        return (response.StatusCode, [.. body.GetProperty("memories").EnumerateArray().Select(m => m.GetProperty("id").GetInt64())]);
    }

    [Fact]
    public async Task Search_RanksMatchesAndNeedsEveryWord()
    {
        var (status, ids) = await SearchAsync("dentist");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(new[] { fixture.Ids["dentist"], fixture.Ids["dentist-bill"] }.Order(), ids.Order());

        // Stemming: "appointments" finds "appointment"; every word must match.
        Assert.Equal([fixture.Ids["dentist"]], (await SearchAsync("dentist appointments")).Ids);
        Assert.Empty((await SearchAsync("dentist tyres")).Ids);
        Assert.Single((await SearchAsync("dentist", "&limit=1")).Ids);
    }

    [Theory]
    [InlineData("%")]
    [InlineData("_")]
    [InlineData("\\")]
    [InlineData("'")]
    [InlineData("\"")]
    [InlineData("*")]
    [InlineData("the and or")]
    public async Task Search_QueryWithNoWords_400AndNothingMatched(string query)
    {
        var (status, ids) = await SearchAsync(query);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Empty(ids);
    }

    [Theory]
    [InlineData("dentist' OR 'x'='x", new string[0])]
    [InlineData("dentist | tyres", new string[0])]
    [InlineData("!dentist", new[] { "dentist", "dentist-bill" })]
    [InlineData("-dentist", new[] { "dentist", "dentist-bill" })]
    [InlineData("dentist:*", new[] { "dentist", "dentist-bill" })]
    [InlineData("dentist); drop table memories; --", new string[0])]
    [InlineData("50%", new[] { "percent" })]
    [InlineData("'stay hungry'", new[] { "quote" })]
    [InlineData("tyre\\s", new[] { "tyres" })]
    [InlineData("' OR '1'='1", new string[0])]
    public async Task Search_HostileText_IsPlainWords_NeverAnOperator(string query, string[] expected)
    {
        var (status, ids) = await SearchAsync(query);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(expected.Select(k => fixture.Ids[k]).Order(), ids.Order());
        Assert.Equal(5, await runtime.CountAsync("select count(*) from memories where id in (" + string.Join(",", fixture.Ids.Values) + ")"));
    }

    [Theory]
    [InlineData("", "")]
    [InlineData("dentist", "&limit=0")]
    [InlineData("dentist", "&limit=51")]
    [InlineData("dentist", "&limit=ten")]
    public async Task Search_MissingQueryOrBadLimit_400(string query, string extra)
    {
        Assert.Equal(HttpStatusCode.BadRequest, (await SearchAsync(query, extra)).Status);
    }

    [Fact]
    public async Task Search_QueryOverTheLimit_413()
    {
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await SearchAsync(new string('a', 257))).Status);
    }

    [Fact]
    public async Task AddListPageDelete_RoundTrip()
    {
        using var client = runtime.CreateClient();
        using var created = await client.PostJsonAsync("/api/memory", new { content = "Temporary note", metadata = new { kind = "scratch" } });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var memory = await created.JsonAsync();
        var id = memory.GetProperty("id").GetInt64();
        Assert.Equal("scratch", memory.GetProperty("metadata").GetProperty("kind").GetString());
        Assert.Equal($"/api/memory/{id}", created.Headers.Location?.ToString());

        var page = await (await client.GetAsync(new Uri("/api/memory?limit=2", UriKind.Relative))).JsonAsync();
        Assert.Equal(2, page.GetProperty("memories").GetArrayLength());
        Assert.Equal(id, page.GetProperty("memories")[0].GetProperty("id").GetInt64());
        var next = page.GetProperty("next").GetString()!;
        var second = await (await client.GetAsync(new Uri(next, UriKind.Relative))).JsonAsync();
        Assert.True(second.GetProperty("memories")[0].GetProperty("id").GetInt64() < page.GetProperty("memories")[1].GetProperty("id").GetInt64());

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync(new Uri($"/api/memory/{id}", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.DeleteAsync(new Uri($"/api/memory/{id}", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await client.DeleteAsync(new Uri("/api/memory/abc", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await client.GetAsync(new Uri("/api/memory?limit=500", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await client.GetAsync(new Uri("/api/memory?before=x", UriKind.Relative))).StatusCode);
    }

    [Theory]
    [InlineData("", "application/json", HttpStatusCode.BadRequest)]
    [InlineData("{\"content\": \"\"}", "application/json", HttpStatusCode.BadRequest)]
    [InlineData("{\"content\": 12}", "application/json", HttpStatusCode.BadRequest)]
    [InlineData("{\"content\": \"ok\", \"metadata\": [1]}", "application/json", HttpStatusCode.BadRequest)]
    [InlineData("{\"content\": \"ok\", \"metadata\": \"text\"}", "application/json", HttpStatusCode.BadRequest)]
    [InlineData("{\"content\": \"nul\\u0000byte\"}", "application/json", HttpStatusCode.BadRequest)]
    [InlineData("remember this", "text/plain", HttpStatusCode.UnsupportedMediaType)]
    [InlineData("{\"content\": \"unterminated", "application/json", HttpStatusCode.BadRequest)]
    public async Task Add_BadInput_ProblemAndNothingStored(string body, string contentType, HttpStatusCode expected)
    {
        using var client = runtime.CreateClient();
        var before = await runtime.CountAsync("select count(*) from memories");

        using var response = await client.PostAsync(new Uri("/api/memory", UriKind.Relative), new StringContent(body, Encoding.UTF8, contentType));

        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(before, await runtime.CountAsync("select count(*) from memories"));
    }

    [Fact]
    public async Task Add_Oversized_413AndNothingStored()
    {
        using var client = runtime.CreateClient();
        // Expect: 100-continue lets the runtime refuse the oversized body before the client sends it.
        client.DefaultRequestHeaders.ExpectContinue = true;
        var before = await runtime.CountAsync("select count(*) from memories");

        using var content = await client.PostJsonAsync("/api/memory", new { content = new string('m', 8_001) });
        using var metadata = await client.PostJsonAsync("/api/memory", new { content = "ok", metadata = new { blob = new string('x', 5_000) } });
        using var body = await client.PostAsync(new Uri("/api/memory", UriKind.Relative),
            new StringContent("{\"content\": \"" + new string('b', 1_100_000) + "\"}", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, content.StatusCode);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, metadata.StatusCode);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, body.StatusCode);
        Assert.Equal(before, await runtime.CountAsync("select count(*) from memories"));
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Npgsql;
using NpgsqlTypes;
using SetupClaw.Providers.Local;
using SetupClaw.Tests.Deployment;
using SetupClaw.Tests.Infrastructure;
using SetupClaw.Tests.Runtime;

namespace SetupClaw.Benchmarks;

/// <summary>
/// One customer's assistant runtime, as a real process on a real PostgreSQL database, talking to the stub model:
/// time from process start to healthy, resident memory idle and under 50 concurrent chats, and memory search
/// latency over HTTP with many memories, for the managed build and (when published) the native one, side by side.
/// Prints figures; asserts nothing. Usage: ./setupclaw bench runtime [memories]
/// </summary>
internal static class RuntimeFootprintBenchmark
{
    private const int Concurrency = 50;
    private const int ChatRounds = 4;
    private const int Searches = 1_000;

    public static async Task RunAsync(int memoryCount)
    {
        await using var model = await StubModelServer.StartAsync(streamPieces: 8, streamPause: TimeSpan.FromMilliseconds(10));
        var llm = Llm.OpenAi(model);
        foreach (var setting in (Environment.GetEnvironmentVariable("BENCH_RUNTIME_ENV") ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            llm[setting.Split('=')[0]] = setting.Split('=')[1];
        }

        var wall = Stopwatch.StartNew();

        // A fresh database: the first start also creates the schema and the seed step's workspace.
        var managed = RuntimeBinary.Resolve(new LocalProviderOptions { Runtime = "managed" });
        var first = await RuntimeInstance.StartAsync(llm: llm, binary: managed);
        var database = first.Database;
        await first.StopAsync();
        var vocabulary = Vocabulary();
        var inserted = Stopwatch.StartNew();
        await InsertMemoriesAsync(first.ConnectionString, memoryCount, vocabulary);
        inserted.Stop();

        var builds = new List<RuntimeBinary> { managed };
        if (RuntimeInstance.Binary.Native)
        {
            builds.Add(RuntimeInstance.Binary);
        }

        // Each build on the same database, one after the other, with the same queries and chats.
        var figures = new List<Figures>();
        try
        {
            foreach (var build in builds)
            {
                figures.Add(await MeasureAsync(build, llm, database, vocabulary));
            }
        }
        finally
        {
            await first.DropDatabaseAsync();
        }

        Console.WriteLine($"Runtime footprint benchmark: one assistant, {memoryCount:N0} memories, stub model (OpenAI wire format, {model.StreamPieces} pieces x {model.StreamPause.TotalMilliseconds:0} ms), {Environment.ProcessorCount} cores");
        if (!RuntimeInstance.Binary.Native)
        {
            Console.WriteLine($"  (managed only: {RuntimeInstance.Binary.Why})");
        }

        Console.WriteLine();
        Row("", figures.Select(f => f.Build));
        Row("start to healthy, median", figures.Select(f => $"{f.StartMedian:0} ms"));
        Row("start to healthy, max", figures.Select(f => $"{f.StartMax:0} ms"));
        Row("resident memory, just started (3 s)", figures.Select(f => $"{f.Started:0.0} MiB"));
        Row("resident memory, idle (16 s)", figures.Select(f => $"{f.IdleFresh:0.0} MiB"));
        Row("resident memory, 50 chats (peak)", figures.Select(f => $"{f.Peak:0.0} MiB"));
        Row("resident memory, right after", figures.Select(f => $"{f.BusyAfter:0.0} MiB"));
        Row("resident memory, idle again (16 s)", figures.Select(f => $"{f.IdleAfter:0.0} MiB"));
        Row("threads, idle / after the chats", figures.Select(f => $"{f.ThreadsFresh} / {f.ThreadsAfter}"));
        Row("memory search p50", figures.Select(f => $"{f.SearchP50:0.00} ms"));
        Row("memory search p95", figures.Select(f => $"{f.SearchP95:0.00} ms"));
        Row("chat, 50 at once: p50", figures.Select(f => $"{f.ChatP50:0} ms"));
        Row("chat, 50 at once: p95", figures.Select(f => $"{f.ChatP95:0} ms"));
        Row("chat throughput", figures.Select(f => $"{f.ChatsPerSecond:0} chats/s"));
        Row("chats failed", figures.Select(f => $"{f.Failures}"));
        Row("on disk", figures.Select(f => f.Size));
        Console.WriteLine();
        Console.WriteLine($"  {Searches:N0} searches ({figures[0].ResultsPerSearch:0.0} results each) and {Concurrency * ChatRounds} chats ({Concurrency} at once, half streamed) per build; " +
            $"{memoryCount:N0} memories inserted in {inserted.Elapsed.TotalSeconds:0.0} s; {wall.Elapsed.TotalSeconds:0} s wall");
    }

    private static void Row(string label, IEnumerable<string> values) =>
        Console.WriteLine($"  {label,-36}" + string.Concat(values.Select(v => $"{v,16}")));

    private static async Task<Figures> MeasureAsync(RuntimeBinary build, Dictionary<string, string> llm, string database, string[] vocabulary)
    {
        var starts = new List<double>();
        RuntimeInstance? runtime = null;
        for (var i = 0; i < 5; i++)
        {
            if (runtime is not null)
            {
                await runtime.StopAsync();
            }

            runtime = await RuntimeInstance.StartAsync(llm: llm, database: database, seed: false, binary: build);
            starts.Add(runtime.StartedIn.TotalMilliseconds);
        }

        try
        {
            await Task.Delay(TimeSpan.FromSeconds(3));
            var started = runtime!.ResidentMiB();
            // An idle runtime trims its heap once nothing arrived for 10 s (IdleTrimmer, checked every 5 s): its steady state.
            await Task.Delay(TimeSpan.FromSeconds(13));
            var idleFresh = runtime.ResidentMiB();
            var threadsFresh = runtime.Threads();
            using var client = runtime.CreateClient();

            // Search: one- and two-word queries drawn like real text (common words more often than rare ones).
            var random = new Random(7);
            var latencies = new List<double>(Searches);
            var found = 0L;
            for (var i = 0; i < Searches + 50; i++)
            {
                var query = random.Next(3) == 0 ? $"{Pick(vocabulary, random)} {Pick(vocabulary, random)}" : Pick(vocabulary, random);
                var clock = Stopwatch.StartNew();
                var result = await client.GetFromJsonAsync<SearchResult>(new Uri($"/api/memory/search?query={Uri.EscapeDataString(query)}&limit=10", UriKind.Relative));
                if (i >= 50)
                {
                    latencies.Add(clock.Elapsed.TotalMilliseconds);
                    found += result!.Memories.Length;
                }
            }

            // 50 concurrent chats, half of them streamed, for a few rounds, sampling resident memory as they run.
            var peak = 0.0;
            using var sampling = new CancellationTokenSource();
            var sampler = Task.Run(async () =>
            {
                while (!sampling.IsCancellationRequested)
                {
                    peak = Math.Max(peak, runtime.ResidentMiB());
                    await Task.Delay(25);
                }
            });
            var chatLatencies = new List<double>();
            var failures = 0;
            var chatClock = Stopwatch.StartNew();
            for (var round = 0; round < ChatRounds; round++)
            {
                var results = await Task.WhenAll(Enumerable.Range(0, Concurrency).Select(i => ChatAsync(runtime, i % 2 == 0, $"Round {round}: what do I know about {Pick(vocabulary, random)} and {Pick(vocabulary, random)}?")));
                chatLatencies.AddRange(results.Where(r => r.Ok).Select(r => r.Milliseconds));
                failures += results.Count(r => !r.Ok);
            }

            var chatWall = chatClock.Elapsed;
            await sampling.CancelAsync();
            await sampler;
            var busyAfter = runtime.ResidentMiB();
            // The runtime trims its heap after 10 s without requests (IdleTrimmer); give it that and one check.
            await Task.Delay(TimeSpan.FromSeconds(16));
            var idleAfter = runtime.ResidentMiB();
            var threadsAfter = runtime.Threads();
            if (failures > 0)
            {
                Console.WriteLine(string.Join("\n", runtime.Output.Split('\n').SkipWhile(l => !l.StartsWith("fail", StringComparison.Ordinal)).Take(30)));
            }

            return new Figures(
                build.Native ? "native" : "managed",
                Stats.Percentile(starts, 50), starts.Max(), started, idleFresh, peak, busyAfter, idleAfter, threadsFresh, threadsAfter,
                Stats.Percentile(latencies, 50), Stats.Percentile(latencies, 95), found / (double)Searches,
                Stats.Percentile(chatLatencies, 50), Stats.Percentile(chatLatencies, 95), chatLatencies.Count / chatWall.TotalSeconds, failures,
                SizeOf(build));
        }
        finally
        {
            // The database stays for the next build; RunAsync drops it at the end.
            await runtime!.StopAsync();
        }
    }

    /// <summary>
    /// What the build needs on disk: the native binary alone; the managed runtime's assemblies plus the shared
    /// frameworks it runs on (the aspnet base image carries those).
    /// </summary>
    private static string SizeOf(RuntimeBinary build)
    {
        if (build.Native)
        {
            return $"{new FileInfo(build.Path).Length / 1048576.0:0.0} MiB";
        }

        // The runtime's own build output: its assembly and its packages' (what a framework-dependent publish ships).
        var output = Path.Combine(Bicep.RepositoryRoot, "runtime", "SetupClaw.Runtime", "bin", "Release", "net10.0");
        var app = Directory.GetFiles(output, "*.dll").Sum(f => new FileInfo(f).Length);
        var netcore = new DirectoryInfo(System.Runtime.InteropServices.RuntimeEnvironment.GetRuntimeDirectory());
        var aspnet = new DirectoryInfo(Path.Combine(netcore.Parent!.Parent!.FullName, "Microsoft.AspNetCore.App", netcore.Name));
        var frameworks = new[] { netcore, aspnet }.Where(d => d.Exists).Sum(d => d.EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length));
        return $"{app / 1048576.0:0.0} + {frameworks / 1048576.0:0} MiB";
    }

    private sealed record Figures(
        string Build, double StartMedian, double StartMax, double Started, double IdleFresh, double Peak, double BusyAfter, double IdleAfter, int ThreadsFresh, int ThreadsAfter,
        double SearchP50, double SearchP95, double ResultsPerSearch, double ChatP50, double ChatP95, double ChatsPerSecond, int Failures, string Size);

    private static async Task<(bool Ok, double Milliseconds)> ChatAsync(RuntimeInstance runtime, bool stream, string message)
    {
        using var client = runtime.CreateClient();
        var clock = Stopwatch.StartNew();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/api/chat", UriKind.Relative)) { Content = JsonContent.Create(new { message }) };
        if (stream)
        {
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        }

        using var response = await client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode || !body.Contains("Stub reply", StringComparison.Ordinal))
        {
            Console.WriteLine($"  chat failed: {(int)response.StatusCode} {body[..Math.Min(body.Length, 300)]}");
        }

        return (response.IsSuccessStatusCode && body.Contains("Stub reply", StringComparison.Ordinal), clock.Elapsed.TotalMilliseconds);
    }

    /// <summary>Memories of 8-20 words drawn from the vocabulary with a Zipf-like skew, written with binary COPY.</summary>
    private static async Task InsertMemoriesAsync(string connectionString, int count, string[] vocabulary)
    {
        var random = new Random(42);
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using (var writer = await connection.BeginBinaryImportAsync("copy memories (content, metadata) from stdin (format binary)"))
        {
            for (var i = 0; i < count; i++)
            {
                var words = Enumerable.Range(0, random.Next(8, 21)).Select(_ => Pick(vocabulary, random));
                await writer.StartRowAsync();
                await writer.WriteAsync(string.Join(' ', words), NpgsqlDbType.Text);
                await writer.WriteAsync("{\"kind\":\"bench\"}", NpgsqlDbType.Jsonb);
            }

            await writer.CompleteAsync();
        }

        await using var analyze = new NpgsqlCommand("analyze memories", connection);
        await analyze.ExecuteNonQueryAsync();
    }

    /// <summary>Word i is drawn with weight 1/(i+1): a few words are common, most are rare, as in real notes.</summary>
    private static string Pick(string[] vocabulary, Random random)
    {
        var harmonic = Math.Log(vocabulary.Length) + 0.5772;
        var target = random.NextDouble() * harmonic;
        var sum = 0.0;
        for (var i = 0; i < vocabulary.Length; i++)
        {
            sum += 1.0 / (i + 1);
            if (sum >= target)
            {
                return vocabulary[i];
            }
        }

        return vocabulary[^1];
    }

    private static string[] Vocabulary()
    {
        string[] topics =
        [
            "meeting", "dentist", "invoice", "flight", "birthday", "project", "deadline", "report", "call", "lunch", "garden", "car",
            "insurance", "school", "recipe", "doctor", "budget", "holiday", "contract", "client", "email", "train", "hotel", "gift",
            "book", "movie", "gym", "rent", "tax", "bank", "password", "plumber", "vet", "concert", "wedding", "conference", "review",
        ];
        var syllables = new[] { "ka", "lo", "mi", "ren", "to", "sa", "vel", "dor", "qui", "zan", "pe", "lu", "mar", "tis", "no", "bri" };
        var made = Enumerable.Range(0, 3_000).Select(i => syllables[i % 16] + syllables[(i / 16) % 16] + syllables[(i / 256) % 16] + (i / 4096 > 0 ? "x" : ""));
        return [.. topics, .. made.Distinct()];
    }

    private sealed record SearchResult(SearchHit[] Memories);

    private sealed record SearchHit(long Id);
}

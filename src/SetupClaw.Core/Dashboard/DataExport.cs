using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SetupClaw.Dashboard;

/// <summary>
/// "Download my data": an assistant's export (<c>setupclaw-archive/1</c>, gzip JSON, the same whether read live or
/// from the archive kept after a cancellation) as a <c>.zip</c> a person can open: the workspace files as files,
/// memories and conversations (each with its messages) as JSON, and the whole export as it was stored.
/// </summary>
public static class DataExport
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static byte[] ToZip(byte[] gzipJson, string assistantName, DateTimeOffset exportedAt)
    {
        string json;
        using (var gzip = new GZipStream(new MemoryStream(gzipJson), CompressionMode.Decompress))
        using (var reader = new StreamReader(gzip, Encoding.UTF8))
        {
            json = reader.ReadToEnd();
        }

        var root = JsonNode.Parse(json)?.AsObject() ?? throw new InvalidDataException("The export is not a JSON object.");
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            Add(zip, "README.txt",
                $"""
                The data of your assistant {assistantName}, exported by SetupClaw on {exportedAt:yyyy-MM-dd HH:mm} UTC.

                workspace/           the assistant's workspace files (its identity, memory notes, your edits)
                memories.json        everything it was asked to remember
                conversations.json   every conversation, each with its messages
                skills.json          its skills and whether each is on
                setupclaw-archive.json   all of it in one file, as SetupClaw stores it
                """);
            foreach (var file in Items(root, "workspace_files"))
            {
                Add(zip, "workspace/" + SafeName(file["name"]?.GetValue<string>() ?? "unnamed"), file["content"]?.GetValue<string>() ?? "");
            }

            Add(zip, "memories.json", (root["memories"] ?? new JsonArray()).ToJsonString(Indented));
            var messages = Items(root, "messages").ToLookup(m => m["conversation_id"]?.ToString() ?? "");
            var conversations = new JsonArray(Items(root, "conversations").Select(c =>
            {
                var copy = c.DeepClone().AsObject();
                copy["messages"] = new JsonArray(messages[c["id"]?.ToString() ?? ""].Select(m => m.DeepClone()).ToArray());
                return (JsonNode)copy;
            }).ToArray());
            Add(zip, "conversations.json", conversations.ToJsonString(Indented));
            Add(zip, "skills.json", (root["skills"] ?? new JsonArray()).ToJsonString(Indented));
            Add(zip, "setupclaw-archive.json", json);
        }

        return buffer.ToArray();
    }

    private static IEnumerable<JsonObject> Items(JsonObject root, string name) =>
        root[name] is JsonArray array ? array.OfType<JsonObject>() : [];

    /// <summary>A workspace file's name as a path inside the zip: no absolute paths, no climbing out with "..".</summary>
    internal static string SafeName(string name)
    {
        var parts = name.Replace('\\', '/').Split('/', StringSplitOptions.RemoveEmptyEntries)
            .Where(p => p is not "." and not "..")
            .Select(p => string.Concat(p.Select(ch => char.IsControl(ch) || ch == ':' ? '_' : ch)));
        var joined = string.Join('/', parts);
        return joined.Length == 0 ? "unnamed" : joined;
    }

    private static void Add(ZipArchive zip, string name, string content)
    {
        var entry = zip.CreateEntry(name, CompressionLevel.Optimal);
        using var stream = entry.Open();
        stream.Write(Encoding.UTF8.GetBytes(content));
    }
}

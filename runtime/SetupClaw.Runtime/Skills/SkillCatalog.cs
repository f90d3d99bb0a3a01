using System.Text.RegularExpressions;

namespace SetupClaw.Runtime.Skills;

/// <summary>
/// A skill (AgentSkills format, as OpenClaw uses): a folder under <c>runtime/skills</c> holding a <c>SKILL.md</c> with
/// YAML front matter (<c>name</c>, <c>description</c>) and then the instructions the model follows when it is enabled.
/// </summary>
public sealed record Skill(string Name, string Description, string Instructions);

/// <summary>The skills shipped in this image (embedded at build time), read once at start.</summary>
public sealed partial class SkillCatalog
{
    public SkillCatalog(IEnumerable<(string Folder, string Text)> files)
    {
        All = files.Select(file => Parse(file.Folder, file.Text)).OrderBy(s => s.Name, StringComparer.Ordinal).ToList();
    }

    public IReadOnlyList<Skill> All { get; }

    public static SkillCatalog LoadEmbedded()
    {
        var assembly = typeof(SkillCatalog).Assembly;
        var files = new List<(string, string)>();
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith("skills/", StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            files.Add((resource.Split('/')[1], reader.ReadToEnd()));
        }

        return new SkillCatalog(files);
    }

    public Skill? Find(string name) => All.FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.Ordinal));

    /// <summary>
    /// Parses the front matter: <c>key: value</c> lines (values optionally quoted) between two <c>---</c> lines.
    /// A skill that breaks the format fails the runtime's start, not a customer's chat.
    /// </summary>
    public static Skill Parse(string folder, string text)
    {
        var lines = text.ReplaceLineEndings("\n").Split('\n');
        if (lines.Length < 3 || lines[0].Trim() != "---")
        {
            throw new FormatException($"skills/{folder}/SKILL.md must start with '---' and YAML front matter.");
        }

        var end = Array.FindIndex(lines, 1, l => l.Trim() == "---");
        if (end < 0)
        {
            throw new FormatException($"skills/{folder}/SKILL.md: the front matter has no closing '---'.");
        }

        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in lines[1..end].Where(l => l.Trim().Length > 0 && !l.TrimStart().StartsWith('#')))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                throw new FormatException($"skills/{folder}/SKILL.md: '{line}' is not a 'key: value' line.");
            }

            var value = line[(colon + 1)..].Trim();
            if (value.Length >= 2 && (value[0] == '"' || value[0] == '\'') && value[^1] == value[0])
            {
                value = value[1..^1];
            }

            fields[line[..colon].Trim()] = value;
        }

        var name = fields.GetValueOrDefault("name") ?? "";
        if (name != folder || !NamePattern().IsMatch(name))
        {
            throw new FormatException($"skills/{folder}/SKILL.md: name '{name}' must equal the folder name and use 1-64 lowercase letters, digits or hyphens.");
        }

        var description = fields.GetValueOrDefault("description");
        if (string.IsNullOrWhiteSpace(description))
        {
            throw new FormatException($"skills/{folder}/SKILL.md: 'description' is required.");
        }

        return new Skill(name, description, string.Join('\n', lines[(end + 1)..]).Trim());
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,63}$")]
    private static partial Regex NamePattern();
}

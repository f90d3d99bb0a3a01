using System.Globalization;
using System.Text;
using SetupClaw.Runtime.Http;
using SetupClaw.Runtime.Memory;
using SetupClaw.Runtime.Skills;
using SetupClaw.Runtime.Workspace;

namespace SetupClaw.Runtime.Chat;

/// <summary>
/// The system prompt of every chat: the workspace files (as the customer last edited them), the memories most
/// relevant to the message, and the enabled skills' instructions. Read fresh for each message, so an edit applies to
/// the very next chat.
/// </summary>
public sealed class PromptComposer(WorkspaceFiles workspace, MemoryStore memories, SkillStore skills, TimeProvider clock)
{
    public async Task<string> ComposeAsync(string message, CancellationToken cancellationToken)
    {
        var files = workspace.ListAsync(cancellationToken);
        var relevant = memories.RelevantToAsync(message, Limits.PromptMemories, cancellationToken);
        var enabled = skills.EnabledAsync(cancellationToken);
        await Task.WhenAll(files, relevant, enabled);
        return Compose(await files, await relevant, await enabled, clock.GetUtcNow());
    }

    public static string Compose(IReadOnlyList<WorkspaceFile> files, IReadOnlyList<MemoryItem> relevant, IReadOnlyList<Skill> enabled, DateTimeOffset now)
    {
        var prompt = new StringBuilder(4096);
        prompt.Append("You are a personal AI assistant hosted by SetupClaw. The workspace files below say who you are, ")
            .Append("who you help and how you work; follow them. Memories and skills follow. Today is ")
            .Append(now.ToString("dddd yyyy-MM-dd", CultureInfo.InvariantCulture)).Append(" (UTC).\n");

        foreach (var file in files)
        {
            prompt.Append("\n<workspace-file name=\"").Append(file.Name).Append("\">\n")
                .Append(file.Content.Trim()).Append("\n</workspace-file>\n");
        }

        if (relevant.Count > 0)
        {
            prompt.Append("\n# Memories relevant to this message\n");
            foreach (var memory in relevant)
            {
                prompt.Append("- [").Append(memory.CreatedAt.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)).Append("] ")
                    .Append(memory.Content.ReplaceLineEndings(" ")).Append('\n');
            }
        }

        if (enabled.Count > 0)
        {
            prompt.Append("\n# Enabled skills\n");
            foreach (var skill in enabled)
            {
                prompt.Append("\n## Skill: ").Append(skill.Name).Append(" - ").Append(skill.Description).Append('\n')
                    .Append(skill.Instructions).Append('\n');
            }
        }

        return prompt.ToString();
    }
}

using Npgsql;

namespace SetupClaw.Runtime.Skills;

public sealed record SkillState(Skill Skill, bool Available, bool Enabled);

/// <summary>
/// Which shipped skills this customer may use (the plan's list in <see cref="RuntimeIdentity"/>) and which they turned on (the
/// <c>skills</c> table). A skill outside the plan never counts as enabled, so after a downgrade the skills the new plan
/// lacks stop reaching the model while the customer's choice stays recorded.
/// </summary>
public sealed class SkillStore(NpgsqlDataSource db, SkillCatalog catalog, RuntimeIdentity identity)
{
    public bool IsAvailable(Skill skill) => identity.Skills.Contains(skill.Name, StringComparer.Ordinal);

    public async Task<IReadOnlyList<SkillState>> ListAsync(CancellationToken cancellationToken)
    {
        var enabled = new HashSet<string>(StringComparer.Ordinal);
        await using (var command = db.CreateCommand("select name from skills where enabled"))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                enabled.Add(reader.GetString(0));
            }
        }

        return [.. catalog.All.Select(skill => new SkillState(skill, IsAvailable(skill), IsAvailable(skill) && enabled.Contains(skill.Name)))];
    }

    public async Task<IReadOnlyList<Skill>> EnabledAsync(CancellationToken cancellationToken) =>
        [.. (await ListAsync(cancellationToken)).Where(s => s.Enabled).Select(s => s.Skill)];

    public async Task SetEnabledAsync(Skill skill, bool enabled, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand(
            "insert into skills (name, enabled) values ($1, $2) on conflict (name) do update set enabled = excluded.enabled");
        command.Parameters.Add(new NpgsqlParameter { Value = skill.Name });
        command.Parameters.Add(new NpgsqlParameter { Value = enabled });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}

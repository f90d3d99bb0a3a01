using SetupClaw.Plans;
using SetupClaw.Runtime.Skills;

namespace SetupClaw.Tests.Runtime;

public sealed class SkillCatalogTests
{
    [Fact]
    public void ShippedSkills_AllParse_AndEveryPlanSkillIsShipped()
    {
        var catalog = SkillCatalog.LoadEmbedded();

        Assert.Equal(7, catalog.All.Count);
        Assert.All(catalog.All, skill => Assert.False(string.IsNullOrWhiteSpace(skill.Instructions)));
        foreach (var plan in Plan.All)
        {
            Assert.All(plan.Skills, name => Assert.NotNull(catalog.Find(name)));
        }

        // Each plan includes the one below it: a downgrade only ever removes skills.
        Assert.Superset(Plan.StarterPlan.Skills.ToHashSet(), Plan.ProPlan.Skills.ToHashSet());
        Assert.Superset(Plan.ProPlan.Skills.ToHashSet(), Plan.TeamPlan.Skills.ToHashSet());
    }

    [Fact]
    public void Parse_ReadsFrontMatterAndInstructions()
    {
        var skill = SkillCatalog.Parse("trip-planner", "---\nname: trip-planner\ndescription: \"Plans trips: flights, hotels\"\n---\nAsk for dates first.\n");

        Assert.Equal("trip-planner", skill.Name);
        Assert.Equal("Plans trips: flights, hotels", skill.Description);
        Assert.Equal("Ask for dates first.", skill.Instructions);
    }

    [Theory]
    [InlineData("no front matter")]
    [InlineData("---\nname: trip-planner\n")]
    [InlineData("---\nname: other-name\ndescription: x\n---\nbody")]
    [InlineData("---\nname: trip-planner\n---\nbody")]
    [InlineData("---\nname trip-planner\ndescription: x\n---\nbody")]
    public void Parse_BrokenSkill_FailsWithTheFileNamed(string text)
    {
        var error = Assert.Throws<FormatException>(() => SkillCatalog.Parse("trip-planner", text));

        Assert.Contains("skills/trip-planner/SKILL.md", error.Message, StringComparison.Ordinal);
    }
}

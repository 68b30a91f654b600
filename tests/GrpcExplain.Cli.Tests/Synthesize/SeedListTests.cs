using GrpcExplain.Cli.Synthesize;

namespace GrpcExplain.Cli.Tests.Synthesize;

public sealed class SeedListTests
{
    [Theory]
    [InlineData("0", new uint[] { 0 })]
    [InlineData("0-7", new uint[] { 0, 1, 2, 3, 4, 5, 6, 7 })]
    [InlineData("0-3,10,12-13", new uint[] { 0, 1, 2, 3, 10, 12, 13 })]
    [InlineData(" 5 , 2-3 ", new uint[] { 5, 2, 3 })]
    [InlineData("4-4", new uint[] { 4 })]
    [InlineData("4294967294-4294967295", new uint[] { 4294967294, 4294967295 })]
    public void ParsesListsAndRanges(string text, uint[] expected) => Assert.Equal(expected, SeedList.Parse(text));

    [Theory]
    [InlineData("", "an empty item")]
    [InlineData("1,", "an empty item")]
    [InlineData("1,,2", "an empty item")]
    [InlineData("-1", "'-1' is not a seed")]
    [InlineData("a-3", "'a' is not a seed")]
    [InlineData("1-", "'' is not a seed")]
    [InlineData("1-2-3", "'2-3' is not a seed")]
    [InlineData("+3", "'+3' is not a seed")]
    [InlineData("1.5", "'1.5' is not a seed")]
    [InlineData("4294967296", "'4294967296' is not a seed")]
    [InlineData("7-3", "the range 7-3 runs backwards")]
    [InlineData("1,0-2", "seed 1 is listed twice")]
    [InlineData("0-999999,5000000", "more than 1,000,000 seeds")] // one million is the limit
    [InlineData("0-4294967295", "more than 1,000,000 seeds")]
    public void RejectsWhatIsNotASeedList(string text, string expected)
    {
        var e = Assert.Throws<UsageException>(() => SeedList.Parse(text));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Contains("0-7,10,12-13", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FormatsCompactly() => Assert.Equal("0-3,10,12-13", SeedList.Format([0, 1, 2, 3, 10, 12, 13]));
}

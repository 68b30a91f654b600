namespace GrpcExplain.Kernels.Tests.Support;

/// <summary>
/// Which gradient outputs a backward call is given: first all of them, then each one alone, because
/// a backward with some outputs null must still fill the others correctly.
/// </summary>
public static class GradientSubsets
{
    public static IEnumerable<(string Label, bool[] Wanted)> Of(params string[] names)
    {
        yield return ("all gradients", [.. names.Select(_ => true)]);
        if (names.Length == 1) yield break;
        for (int i = 0; i < names.Length; i++)
            yield return ($"only {names[i]}", [.. names.Select((_, j) => j == i)]);
    }
}

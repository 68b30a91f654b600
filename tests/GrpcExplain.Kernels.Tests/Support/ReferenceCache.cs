using System.Collections.Concurrent;

namespace GrpcExplain.Kernels.Tests.Support;

/// <summary>
/// Reference results by case, computed once and shared by every backend: a case's data is fixed by
/// its name, and the double-precision references are the slowest part of the large cases.
/// </summary>
public static class ReferenceCache
{
    private static readonly ConcurrentDictionary<string, Lazy<object>> Results = new();

    public static T Get<T>(string key, Func<T> compute) where T : notnull =>
        (T)Results.GetOrAdd(key, _ => new Lazy<object>(() => compute())).Value;
}

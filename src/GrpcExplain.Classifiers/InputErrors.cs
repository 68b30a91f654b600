namespace GrpcExplain.Classifiers;

/// <summary>One thing wrong with a request, named by the field that holds it (google.rpc.BadRequest's vocabulary).</summary>
public sealed record InputViolation(string Field, string Description);

/// <summary>Input that cannot be run: wrong names, types, shapes, sizes or values. Hosts answer INVALID_ARGUMENT.</summary>
public sealed class InvalidInputException : Exception
{
    public InvalidInputException(IReadOnlyList<InputViolation> violations)
        : base(Summarize(violations))
    {
        Violations = violations;
    }

    public IReadOnlyList<InputViolation> Violations { get; }

    private static string Summarize(IReadOnlyList<InputViolation> violations) =>
        violations.Count == 1
            ? $"{violations[0].Field}: {violations[0].Description}"
            : $"{violations.Count} problems: " + string.Join("; ", violations.Select(v => $"{v.Field}: {v.Description}"));
}

/// <summary>A model or version the repository does not have. Hosts answer NOT_FOUND.</summary>
public sealed class ModelNotFoundException(string message) : Exception(message);

namespace GrpcExplain.Classifiers;

/// <summary>Class probabilities of a batch of images, row-major [Count, ClassLabels.Count].</summary>
public sealed class Predictions
{
    public Predictions(float[] probabilities, int count, IReadOnlyList<string> classLabels)
    {
        ArgumentNullException.ThrowIfNull(probabilities);
        ArgumentNullException.ThrowIfNull(classLabels);
        if ((long)count * classLabels.Count != probabilities.Length)
        {
            throw new ArgumentException($"{probabilities.Length} probabilities do not make {count} rows of {classLabels.Count} classes.", nameof(probabilities));
        }
        Probabilities = probabilities;
        Count = count;
        ClassLabels = classLabels;
    }

    public float[] Probabilities { get; }

    public int Count { get; }

    public IReadOnlyList<string> ClassLabels { get; }

    public ReadOnlySpan<float> Of(int image) => Probabilities.AsSpan(image * ClassLabels.Count, ClassLabels.Count);

    public float Probability(int image, int classIndex) => Probabilities[image * ClassLabels.Count + classIndex];

    /// <summary>The most probable class of one image (the first on a tie).</summary>
    public int PredictedClass(int image)
    {
        var row = Of(image);
        int best = 0;
        for (int k = 1; k < row.Length; k++)
        {
            if (row[k] > row[best])
            {
                best = k;
            }
        }
        return best;
    }
}

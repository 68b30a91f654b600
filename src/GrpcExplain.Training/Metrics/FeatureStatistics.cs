using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace GrpcExplain.Training.Metrics;

/// <summary>
/// The mean and covariance (unbiased, divided by n - 1, as numpy.cov) of n feature vectors of dimension d,
/// in double: what FID compares. Saved and loaded as a small binary file so that the statistics of a
/// real set are computed once.
/// </summary>
public sealed class FeatureStatistics
{
    private static readonly byte[] Magic = "GXFEAT01"u8.ToArray();

    public FeatureStatistics(int count, double[] mean, double[] covariance)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(covariance);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 2);
        if (covariance.Length != mean.Length * mean.Length)
            throw new ArgumentException($"a covariance of dimension {mean.Length} has {mean.Length * mean.Length} values, got {covariance.Length}.", nameof(covariance));
        Count = count;
        Mean = mean;
        Covariance = covariance;
    }

    /// <summary>How many vectors the statistics summarise.</summary>
    public int Count { get; }

    public int Dimension => Mean.Length;

    public double[] Mean { get; }

    /// <summary>Row-major, Dimension x Dimension, symmetric.</summary>
    public double[] Covariance { get; }

    /// <summary>Statistics of <paramref name="count"/> row vectors of <paramref name="dimension"/> floats, one after another.</summary>
    public static FeatureStatistics FromFeatures(ReadOnlySpan<float> features, int count, int dimension)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(dimension, 1);
        if (features.Length != count * dimension)
            throw new ArgumentException($"{count} vectors of {dimension} need {count * dimension} floats, got {features.Length}.", nameof(features));
        int d = dimension;
        var mean = new double[d];
        for (int i = 0; i < count; i++)
            for (int j = 0; j < d; j++)
                mean[j] += features[i * d + j];
        for (int j = 0; j < d; j++) mean[j] /= count;

        var centred = new double[count * d];
        for (int i = 0; i < count; i++)
            for (int j = 0; j < d; j++)
                centred[i * d + j] = features[i * d + j] - mean[j];

        // Upper triangle of X^T X over centred rows, one output row per task; mirrored below.
        var cov = new double[d * d];
        Parallel.For(0, d, r =>
        {
            var row = cov.AsSpan(r * d, d);
            for (int i = 0; i < count; i++)
            {
                double a = centred[i * d + r];
                if (a == 0) continue;
                DenseMath.Axpy(a, centred.AsSpan(i * d + r, d - r), row[r..]);
            }
        });
        double scale = 1.0 / (count - 1);
        for (int r = 0; r < d; r++)
            for (int c = r; c < d; c++)
            {
                double x = cov[r * d + c] * scale;
                cov[r * d + c] = x;
                cov[c * d + r] = x;
            }
        return new FeatureStatistics(count, mean, cov);
    }

    public void Save(string path)
    {
        string full = Path.GetFullPath(path);
        string temporary = full + $".{Guid.NewGuid():N}.tmp";
        try
        {
            using (var stream = File.Create(temporary))
            {
                stream.Write(Magic);
                Span<byte> header = stackalloc byte[8];
                BinaryPrimitives.WriteInt32LittleEndian(header, Count);
                BinaryPrimitives.WriteInt32LittleEndian(header[4..], Dimension);
                stream.Write(header);
                stream.Write(MemoryMarshal.AsBytes(Mean.AsSpan()));
                stream.Write(MemoryMarshal.AsBytes(Covariance.AsSpan()));
            }
            File.Move(temporary, full, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    public static FeatureStatistics Load(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        if (bytes.Length < 16 || !bytes.AsSpan(0, 8).SequenceEqual(Magic))
            throw new InvalidDataException($"{path}: not a feature statistics file (no GXFEAT01 magic).");
        int count = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(8));
        int d = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(12));
        if (d < 1 || d > 1 << 14 || bytes.Length != 16 + 8L * (d + (long)d * d))
            throw new InvalidDataException($"{path}: {bytes.Length} bytes do not hold statistics of dimension {d}.");
        var mean = MemoryMarshal.Cast<byte, double>(bytes.AsSpan(16, 8 * d)).ToArray();
        var cov = MemoryMarshal.Cast<byte, double>(bytes.AsSpan(16 + 8 * d)).ToArray();
        return new FeatureStatistics(count, mean, cov);
    }
}

using GrpcExplain.Kernels;
using System.Text;
using GrpcExplain.Cli.IO;
using GrpcExplain.StyleGan.Weights;

namespace GrpcExplain.Cli.Tests.IO;

/// <summary>The .npy reader and writer against files NumPy 1.24 wrote (Fixtures/, made by Fixtures/make_npy.py).</summary>
public sealed class NpyTests : IDisposable
{
    private static readonly float[] TwoByThree = [-0.625f, -0.375f, -0.125f, 0.125f, 0.375f, 0.625f];
    private readonly string _dir = Directory.CreateTempSubdirectory("npy-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", name);

    private string Temp(byte[] bytes)
    {
        var path = Path.Combine(_dir, $"{Guid.NewGuid():N}.npy");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static string ReadError(string path) => Assert.Throws<InvalidDataException>(() => Npy.Read(path)).Message;

    [Theory]
    [InlineData("f4_2x3.npy", new[] { 2, 3 })]
    [InlineData("f4_2x3_v2.npy", new[] { 2, 3 })]
    [InlineData("f4_2x1x3.npy", new[] { 2, 1, 3 })]
    public void ReadsWhatNumPyWrote(string name, int[] shape)
    {
        var t = Npy.Read(Fixture(name));
        Assert.Equal(shape, t.Shape);
        Assert.Equal(TwoByThree, t.Data);
    }

    [Fact]
    public void ReadsOneDimensionalAndScalarArrays()
    {
        Assert.Equal([3], Npy.Read(Fixture("f4_1d.npy")).Shape);
        Assert.Equal([1f, 2f, 3f], Npy.Read(Fixture("f4_1d.npy")).Data);
        var scalar = Npy.Read(Fixture("f4_scalar.npy"));
        Assert.Empty(scalar.Shape);
        Assert.Equal([1.5f], scalar.Data);
    }

    [Theory]
    [InlineData("f4_2x3.npy")]
    [InlineData("f4_1d.npy")]
    [InlineData("f4_scalar.npy")]
    [InlineData("f4_2x1x3.npy")]
    public void WritesTheBytesNumPyWrites(string name)
    {
        var path = Path.Combine(_dir, name);
        Npy.Write(path, Npy.Read(Fixture(name)));
        Assert.Equal(File.ReadAllBytes(Fixture(name)), File.ReadAllBytes(path));
    }

    [Theory]
    [InlineData(new[] { 0, 8 })]
    [InlineData(new[] { 1, 512 })]
    [InlineData(new[] { 3, 12, 512 })]
    [InlineData(new[] { 2, 3, 64, 64 })]
    [InlineData(new[] { 123456789, 0 })]
    public void RoundTripsAnyShapeWithDataAligned(int[] shape)
    {
        var rng = new Random(shape.Sum());
        var data = new float[HostTensor.Count(shape)];
        for (int i = 0; i < data.Length; i++) data[i] = (float)(rng.NextDouble() - 0.5) * 1e3f;
        var path = Path.Combine(_dir, "x.npy");
        Npy.Write(path, new HostTensor(shape, data));
        var back = Npy.Read(path);
        Assert.Equal(shape, back.Shape);
        Assert.Equal(data, back.Data);
        Assert.Equal(0, (new FileInfo(path).Length - data.Length * 4) % 64); // the data starts on a 64-byte boundary
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));
    }

    [Fact]
    public void RefusesFloat64AndSaysHowToConvert()
    {
        var message = ReadError(Fixture("f8_2x3.npy"));
        Assert.Contains("dtype '<f8' (little-endian float64) is not supported", message, StringComparison.Ordinal);
        Assert.Contains("astype('<f4')", message, StringComparison.Ordinal);
    }

    [Fact]
    public void RefusesBigEndian() =>
        Assert.Contains("dtype '>f4' (big-endian float32)", ReadError(Fixture("f4_big_endian.npy")), StringComparison.Ordinal);

    [Fact]
    public void RefusesFortranOrder() =>
        Assert.Contains("Fortran order", ReadError(Fixture("f4_fortran.npy")), StringComparison.Ordinal);

    [Theory]
    [InlineData("")]
    [InlineData("NUMPY")]
    [InlineData("PK\u0003\u0004 a zip file, as np.savez writes")]
    public void RefusesWhatIsNotAnNpyFile(string content) =>
        Assert.Contains("not a NumPy .npy file", ReadError(Temp(Encoding.Latin1.GetBytes(content))), StringComparison.Ordinal);

    [Theory]
    [InlineData(3, 0)]
    [InlineData(1, 1)]
    [InlineData(0, 9)]
    public void RefusesOtherFormatVersions(byte major, byte minor)
    {
        var bytes = File.ReadAllBytes(Fixture("f4_2x3.npy"));
        (bytes[6], bytes[7]) = (major, minor);
        Assert.Contains($"unsupported .npy format version {major}.{minor}", ReadError(Temp(bytes)), StringComparison.Ordinal);
    }

    [Fact]
    public void RefusesTruncatedData()
    {
        var bytes = File.ReadAllBytes(Fixture("f4_2x3.npy"));
        var message = ReadError(Temp(bytes[..^5]));
        Assert.Contains("truncated: shape [2, 3] needs 24 bytes of float32 data, the file has 19", message, StringComparison.Ordinal);
    }

    [Fact]
    public void RefusesTruncatedHeader() =>
        Assert.Contains("truncated inside its header", ReadError(Temp(File.ReadAllBytes(Fixture("f4_2x3.npy"))[..40])), StringComparison.Ordinal);

    [Fact]
    public void RefusesTrailingBytes()
    {
        var bytes = File.ReadAllBytes(Fixture("f4_2x3.npy"));
        Assert.Contains("4 bytes follow the [2, 3] float32 data", ReadError(Temp([.. bytes, 0, 0, 0, 0])), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{'descr': '<f4', 'fortran_order': False}", "no 'shape'")]
    [InlineData("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,), }", "expected True or False")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }", "expected a non-negative dimension")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}", "unexpected key 'extra'")]
    [InlineData("['descr', '<f4']", "expected '{'")]
    public void RefusesMalformedHeadersAndNamesTheProblem(string dict, string expected)
    {
        var header = Encoding.Latin1.GetBytes(dict.PadRight(117) + "\n");
        byte[] bytes = [0x93, .. "NUMPY"u8, 1, 0, (byte)header.Length, 0, .. header, .. new byte[8]];
        var message = ReadError(Temp(bytes));
        Assert.Contains("malformed .npy header", message, StringComparison.Ordinal);
        Assert.Contains(expected, message, StringComparison.Ordinal);
    }

    [Fact]
    public void ErrorsNameTheFile()
    {
        var path = Temp([1, 2, 3]);
        Assert.StartsWith(path + ":", ReadError(path), StringComparison.Ordinal);
    }
}

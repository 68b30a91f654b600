using Google.Protobuf;
using GrpcExplain.Protos.V1;
using GrpcExplain.StyleGan;
using GrpcExplain.StyleGan.Projection;

namespace GrpcExplain.Generator;

/// <summary>The projector's progress and result as ProjectProgress and ProjectResult.</summary>
internal static class ProjectionMessages
{
    public static ProjectProgress Progress(ProjectionProgress p, GeneratorConfig config)
    {
        var message = new ProjectProgress { Step = p.Step, NumSteps = p.NumSteps, Loss = p.Loss, ElapsedSeconds = p.Elapsed.TotalSeconds };
        if (p.Reconstruction is { } image) message.ReconstructionPng = Png(image, config);
        return message;
    }

    public static ProjectResult Result(ProjectionResult r, GeneratorConfig config)
    {
        int c = config.ImgChannels, res = config.ImgResolution;
        var message = new ProjectResult
        {
            Ws = r.LatentSpace == StyleGan.Projection.LatentSpace.W ? TensorCodec.ToProto(r.Ws, 1, config.WDim) : TensorCodec.ToProto(r.Ws, 1, config.NumWs, config.WDim),
            Reconstruction = TensorCodec.ToProto(r.Reconstruction, 1, c, res, res),
            Loss = r.Loss, MeanSquaredError = r.MeanSquaredError, NumSteps = r.NumSteps, ElapsedSeconds = r.Elapsed.TotalSeconds,
            PsnrDb = (float)r.PsnrDb, Ssim = (float)r.Ssim, MsSsim = (float)r.MsSsim,
            Start = r.Start == StyleGan.Projection.ProjectionStart.Encoder ? Protos.V1.ProjectionStart.Encoder : Protos.V1.ProjectionStart.WAvg,
        };
        if (PngImages.CanEncode(c)) message.ReconstructionPng = Png(r.Reconstruction, config);
        if (r.NoiseMaps is { } maps)
            foreach (var (layer, map) in maps)
            {
                int side = (int)Math.Round(Math.Sqrt(map.Length));
                message.NoiseMaps[layer] = TensorCodec.ToProto(map, 1, 1, side, side);
            }
        return message;
    }

    private static ByteString Png(float[] image, GeneratorConfig config) =>
        UnsafeByteOperations.UnsafeWrap(PngImages.Encode(image, config.ImgChannels, config.ImgResolution, config.ImgResolution));
}

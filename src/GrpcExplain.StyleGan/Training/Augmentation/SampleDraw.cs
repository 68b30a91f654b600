namespace GrpcExplain.StyleGan.Training.Augmentation;

/// <summary>
/// One sample's augmentation, the parameters ADA draws per sample: the image is flipped, then rotated
/// by Rotation·90° counter-clockwise, then shifted by (TranslateX, TranslateY) pixels; then Brightness
/// is added, Contrast scales around the image's mean, Saturation scales the colour away from the grey
/// axis. A transform not applied has its identity value (false, 0, 1).
/// </summary>
internal readonly record struct SampleDraw(bool XFlip, int Rotation, int TranslateX, int TranslateY,
    float Brightness, float Contrast, float Saturation)
{
    public static readonly SampleDraw Identity = new(false, 0, 0, 0, 0f, 1f, 1f);

    public bool HasGeometry => XFlip || Rotation != 0 || TranslateX != 0 || TranslateY != 0;
    public bool HasColor => Brightness != 0f || Contrast != 1f || Saturation != 1f;

    /// <summary>
    /// ADA's draw: each transform is applied with probability p, and its parameter drawn as
    /// augment.py does. Every uniform is consumed whether or not its transform is enabled or applied,
    /// so the draws of one seed are nested: raising p or enabling a transform adds augmentations
    /// without changing the ones the other transforms drew.
    /// </summary>
    public static SampleDraw Draw(AugmentOptions o, double p, int seed, int sample, int size)
    {
        var r = new AugmentRandom(seed, sample);
        bool flipApplied = r.NextUniform() < p, flip = r.NextUniform() < 0.5;
        bool rotateApplied = r.NextUniform() < p;
        int k = Math.Min((int)(r.NextUniform() * 4), 3);
        bool translateApplied = r.NextUniform() < p;
        double ux = r.NextUniform() * 2 - 1, uy = r.NextUniform() * 2 - 1;
        bool brightnessApplied = r.NextUniform() < p;
        double b = r.NextGaussian() * o.BrightnessStd;
        bool contrastApplied = r.NextUniform() < p;
        double c = Math.Pow(2, r.NextGaussian() * o.ContrastStd);
        bool saturationApplied = r.NextUniform() < p;
        double s = Math.Pow(2, r.NextGaussian() * o.SaturationStd);

        // torch.round rounds halves to even, as Math.Round does by default.
        double range = o.TranslationStd * size;
        return new SampleDraw(
            XFlip: o.XFlip && flipApplied && flip,
            Rotation: o.Rotate90 && rotateApplied ? k : 0,
            TranslateX: o.IntegerTranslation && translateApplied ? (int)Math.Round(ux * range) : 0,
            TranslateY: o.IntegerTranslation && translateApplied ? (int)Math.Round(uy * range) : 0,
            Brightness: o.Color && brightnessApplied ? (float)b : 0f,
            Contrast: o.Color && contrastApplied ? (float)c : 1f,
            Saturation: o.Color && saturationApplied ? (float)s : 1f);
    }
}

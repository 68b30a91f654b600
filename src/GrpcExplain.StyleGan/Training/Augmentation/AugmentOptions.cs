namespace GrpcExplain.StyleGan.Training.Augmentation;

/// <summary>
/// Which of StyleGAN2-ADA's transforms the <see cref="AugmentPipe"/> uses and how strong they are: its
/// 'bgc' set without the general geometry (arbitrary rotation, scaling, fractional translation), so
/// every geometric step is an exact pixel permutation (plus reflect padding) and every colour step is
/// affine per sample: both have exact vector-Jacobian products.
/// </summary>
/// <param name="XFlip">Mirror left-right (when applied, flipped or not with equal chance, as ADA draws it).</param>
/// <param name="Rotate90">Rotate by k·90°, k uniform in 0..3 when applied.</param>
/// <param name="IntegerTranslation">Shift by whole pixels with reflect padding.</param>
/// <param name="Color">Brightness, contrast and (RGB only) saturation, each drawn and applied on its own.</param>
/// <param name="TranslationStd">ADA's xint_max: each shift is uniform in ±TranslationStd·size, rounded (a range, not a standard deviation; the name is the API's).</param>
/// <param name="BrightnessStd">Standard deviation of the offset added to every pixel.</param>
/// <param name="ContrastStd">Contrast factor 2^N(0, ContrastStd), i.e. lognormal(0, ContrastStd·ln 2).</param>
/// <param name="SaturationStd">Saturation factor 2^N(0, SaturationStd).</param>
public sealed record AugmentOptions(bool XFlip = true, bool Rotate90 = true, bool IntegerTranslation = true, bool Color = true,
    double TranslationStd = 0.125, double BrightnessStd = 0.2, double ContrastStd = 0.5, double SaturationStd = 1.0)
{
    internal void Validate()
    {
        Check(TranslationStd, nameof(TranslationStd));
        if (TranslationStd > 1) // a shift beyond the image's size only folds back through the reflections
            throw new ArgumentOutOfRangeException(nameof(TranslationStd), TranslationStd, "AugmentOptions.TranslationStd is a fraction of the image size and must be at most 1.");
        Check(BrightnessStd, nameof(BrightnessStd));
        Check(ContrastStd, nameof(ContrastStd));
        Check(SaturationStd, nameof(SaturationStd));
    }

    private static void Check(double value, string name)
    {
        if (!(value >= 0) || !double.IsFinite(value))
            throw new ArgumentOutOfRangeException(name, value, $"AugmentOptions.{name} must be a finite number >= 0.");
    }
}

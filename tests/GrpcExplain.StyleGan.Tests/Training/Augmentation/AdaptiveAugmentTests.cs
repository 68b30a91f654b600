using GrpcExplain.StyleGan.Training.Augmentation;

namespace GrpcExplain.StyleGan.Tests.Training.Augmentation;

/// <summary>StyleGAN2-ADA's p controller: steps of batch·interval/(kimg·1000) towards r_t = target, clamped to [0, 1], checkpointable.</summary>
public sealed class AdaptiveAugmentTests
{
    private static readonly float[] Positive = [0.5f, 2f, 0.1f, 3f];
    private static readonly float[] Negative = [-0.5f, -2f, -0.1f, -3f];

    [Fact]
    public void OverfittingRaisesPOncePerInterval()
    {
        var ada = new AdaptiveAugment(target: 0.6, intervalSteps: 4, speedKimg: 500);
        double step = 32.0 * 4 / (500 * 1000);
        for (int interval = 1; interval <= 3; interval++)
        {
            for (int s = 0; s < 3; s++)
            {
                ada.Update(Positive, batchSize: 32);
                Assert.Equal((interval - 1) * step, ada.P, 1e-15); // nothing between adjustments
            }
            ada.Update(Positive, batchSize: 32);
            Assert.Equal(interval * step, ada.P, 1e-15);
            Assert.Equal(1.0, ada.LastRt);
        }
    }

    [Fact]
    public void UnderfittingLowersPAndClampsAtZero()
    {
        var ada = new AdaptiveAugment(intervalSteps: 2, speedKimg: 1, initialP: 0.1);
        Assert.Null(ada.LastRt);
        ada.Update(Negative, 16);
        ada.Update(Negative, 16);
        Assert.Equal(0.1 - 16.0 * 2 / 1000, ada.P, 1e-15);
        Assert.Equal(-1.0, ada.LastRt);
        for (int s = 0; s < 20; s++) ada.Update(Negative, 16);
        Assert.Equal(0, ada.P);
    }

    [Fact]
    public void PClampsAtOne()
    {
        var ada = new AdaptiveAugment(intervalSteps: 1, speedKimg: 0.01, initialP: 0.95);
        ada.Update(Positive, 8);
        Assert.Equal(1, ada.P);
    }

    /// <summary>r_t is the mean sign over the whole interval, not the last step: 3 positive steps and 1 half-negative step give (12 + 0)/16 = 0.75 > 0.6.</summary>
    [Fact]
    public void RtAveragesTheSignsOfTheWholeInterval()
    {
        var ada = new AdaptiveAugment();
        for (int s = 0; s < 3; s++) ada.Update(Positive, 4);
        ada.Update([1f, -1f, 2f, -2f], 4);
        Assert.Equal(0.75, ada.LastRt);
        Assert.True(ada.P > 0);

        var balanced = new AdaptiveAugment(target: 0.5, intervalSteps: 1, initialP: 0.3);
        balanced.Update([1f, 1f, 1f, -1f, 1f, 1f, -1f, 0f], 8); // (5 - 2 + 0)/8 = 0.375 < 0.5
        Assert.Equal(0.375, balanced.LastRt);
        Assert.True(balanced.P < 0.3);
        var atTarget = new AdaptiveAugment(target: 0.5, intervalSteps: 1, initialP: 0.3);
        atTarget.Update([1f, 1f, 1f, -1f], 4);
        Assert.Equal(0.3, atTarget.P); // sign(0): no move
    }

    [Fact]
    public void StateRoundTripsAndContinuesIdentically()
    {
        var rng = new Random(3);
        // Mostly positive (r_t near 0.8, p rises) until step 28, then mostly negative (p falls).
        float[] Logits(double shift) => [.. Enumerable.Range(0, 8).Select(_ => (float)(rng.NextDouble() * 2 - shift))];
        var steps = Enumerable.Range(0, 40).Select(s => Logits(s < 28 ? 0.2 : 1.3)).ToArray();

        var straight = new AdaptiveAugment(intervalSteps: 4, speedKimg: 0.5);
        var first = new AdaptiveAugment(intervalSteps: 4, speedKimg: 0.5);
        for (int s = 0; s < 18; s++) { straight.Update(steps[s], 8); first.Update(steps[s], 8); } // 18: mid-interval
        var saved = first.State;
        Assert.Equal((18, 16), (saved.Steps, saved.Count)); // two steps of 8 logits since the adjustment at step 16
        var resumed = AdaptiveAugment.FromState(saved, intervalSteps: 4, speedKimg: 0.5);
        Assert.Equal(saved, resumed.State);
        double highest = 0;
        for (int s = 18; s < 40; s++)
        {
            straight.Update(steps[s], 8);
            resumed.Update(steps[s], 8);
            Assert.Equal(straight.State, resumed.State);
            highest = Math.Max(highest, straight.P);
        }
        Assert.Equal(straight.LastRt, resumed.LastRt);
        Assert.True(highest > straight.P, $"p should have risen and fallen; highest {highest}, last {straight.P}");
    }

    [Fact]
    public void BadArgumentsThrowWithClearMessages()
    {
        var ada = new AdaptiveAugment();
        Assert.Contains("realLogits[1] is NaN", Assert.Throws<ArgumentException>(() => ada.Update([1f, float.NaN], 2)).Message);
        Assert.Contains("finite", Assert.Throws<ArgumentException>(() => ada.Update([float.PositiveInfinity], 2)).Message);
        Assert.Equal(new AdaptiveAugmentState(0, 0, 0, 0), ada.State); // a rejected update changes nothing
        Assert.Throws<ArgumentException>(() => ada.Update([], 2));
        Assert.Throws<ArgumentNullException>(() => ada.Update(null!, 2));
        Assert.Contains("batchSize", Assert.Throws<ArgumentOutOfRangeException>(() => ada.Update([1f], 0)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdaptiveAugment(intervalSteps: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdaptiveAugment(speedKimg: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdaptiveAugment(initialP: 1.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdaptiveAugment(target: double.NaN));
        Assert.Contains("outside [0, 1]", Assert.Throws<ArgumentException>(() => AdaptiveAugment.FromState(new(2, 0, 0, 0))).Message);
        Assert.Contains("not a sum of 3 signs", Assert.Throws<ArgumentException>(() => AdaptiveAugment.FromState(new(0.1, 5, 3, 1))).Message);
        Assert.Throws<ArgumentException>(() => AdaptiveAugment.FromState(new(0.1, 0, -1, 1)));
    }
}

using HotPage.Engine.Tunables;
using NUnit.Framework;

namespace HotPage.Engine.Tests;

[TestFixture]
public class TunablesTests
{
    [Test]
    public void DefaultsArePghotsDefaults()
    {
        var t = new EngineTunables();
        Assert.That(t["freq_window_ms"], Is.EqualTo(5000));
        Assert.That(t["freq_threshold"], Is.EqualTo(2));
    }

    [TestCase("freq_threshold", 0)]
    [TestCase("freq_threshold", 8)]
    [TestCase("freq_window_ms", 0)]
    [TestCase("freq_window_ms", 1 << 18)]
    [TestCase("promote_batch", 0)]
    public void AValueOutOfRangeIsRejectedNamingTheRangeAndTheOldValueStays(string name, long value)
    {
        var t = new EngineTunables();
        long before = t[name];
        Assert.That(t.TrySet(name, value, out string error), Is.False);
        Assert.That(error, Does.Contain(name).And.Contain(".."));
        Assert.That(t[name], Is.EqualTo(before));
        Assert.Throws<ArgumentOutOfRangeException>(() => t.Set(name, value));
    }

    [Test]
    public void AnUnknownTunableIsRejectedListingTheKnownOnes()
    {
        var t = new EngineTunables();
        Assert.That(t.TrySet("freq_windw_ms=5", out string error), Is.False);
        Assert.That(error, Does.Contain("unknown tunable 'freq_windw_ms'"));
    }

    [Test]
    public void AssignmentTextIsParsed()
    {
        var t = new EngineTunables();
        Assert.That(t.TrySet("promote_batch = 64", out _), Is.True);
        Assert.That(t["promote_batch"], Is.EqualTo(64));
        Assert.That(t.TrySet("promote_batch=lots", out string error), Is.False);
        Assert.That(error, Does.Contain("not an integer"));
    }

    [Test]
    public void StartOnlyTunablesAreFixedOnceTheEngineStarts()
    {
        var tunables = EngineFixture.SmallTunables();
        using HotPageEngine engine = EngineFixture.Create(tunables: tunables);
        Assert.That(tunables.TrySet("ring_capacity", 2048, out string error), Is.False);
        Assert.That(error, Does.Contain("before it starts"));
        Assert.That(tunables.TrySet("freq_threshold", 3, out _), Is.True, "runtime tunables still change");
    }

    [Test]
    public void ThresholdBoundsCannotCross()
    {
        var t = new EngineTunables();
        Assert.That(t.TrySet("freq_threshold_min", 7, out _), Is.True);
        Assert.That(t.TrySet("freq_threshold_max", 6, out string error), Is.False);
        Assert.That(error, Does.Contain("freq_threshold_min"));
    }

    [Test]
    public void AThresholdChangeTakesEffectInTheEngine()
    {
        var tunables = EngineFixture.SmallTunables();
        using HotPageEngine engine = EngineFixture.Create(tunables: tunables);
        tunables.Set("freq_threshold", 3);
        engine.Record(1, 0, 10);
        engine.Record(1, 0, 11);
        engine.Drain();
        Assert.That(engine.CandidateCount, Is.EqualTo(0));
        engine.Record(1, 0, 12);
        engine.Drain();
        Assert.That(engine.CandidateCount, Is.EqualTo(1));
    }
}

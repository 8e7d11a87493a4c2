using HotPage.Engine;
using HotPage.Engine.Counters;
using HotPage.Engine.Promotion;
using HotPage.Engine.Tunables;
using HotPage.Interop.Platform;

namespace HotPage.Hosting;

/// <summary>
/// An engine, its promoter and the platform under them, built from a <see cref="HotPageConfig"/>:
/// what <c>hotpaged run</c> and <c>hotpage_open</c> both start from. On Linux the platform is
/// <see cref="LinuxPlatform"/> (tiers from sysfs, replaced where the config's <c>tiers</c> says);
/// with <c>"residency": "assume-lower"</c> the engine gets no platform for residency, so every
/// registered page is tracked as if it were on a lower tier, while moves still go through the platform.
/// </summary>
public sealed class HotPageHost : IDisposable
{
    private HotPageHost(IMemoryPlatform platform, HotPageEngine engine, Promoter promoter, bool assumeLower, IHugePageInfo? hugePages)
    {
        HugePages = hugePages;
        Platform = platform;
        Engine = engine;
        Promoter = promoter;
        AssumeLowerTier = assumeLower;
    }

    /// <summary>The platform (topology, residency, moves).</summary>
    public IMemoryPlatform Platform { get; }

    /// <summary>The engine.</summary>
    public HotPageEngine Engine { get; }

    /// <summary>The promoter.</summary>
    public Promoter Promoter { get; }

    /// <summary>Folio sizes for the promoter's huge-page decisions (Linux; unavailable without root).</summary>
    public IHugePageInfo? HugePages { get; }

    /// <summary>True when registered pages are tracked without asking where they reside.</summary>
    public bool AssumeLowerTier { get; }

    /// <summary>The topology the engine targets (tier override applied).</summary>
    public NumaTopology Topology => Engine.Topology;

    /// <summary>Engine and promoter counters in one snapshot.</summary>
    public CounterSnapshot GetCounters() => Promoter.GetCounters();

    /// <summary>Creates the platform this OS offers, with the config's tier override.</summary>
    /// <exception cref="ConfigException">The tier override names a node that does not exist.</exception>
    /// <exception cref="PlatformNotSupportedException">Not on Linux.</exception>
    public static IMemoryPlatform CreatePlatform(HotPageConfig? config)
    {
        Dictionary<int, int>? tiers = config is null ? null : ConfigLoader.TierOverride(config);
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("HotPage's binaries run on Linux (move_pages, sysfs, /proc).");
        }

        try
        {
            return new LinuxPlatform(new LinuxPlatformOptions { TierOverride = tiers });
        }
        catch (ArgumentException ex) when (tiers is not null)
        {
            throw new ConfigException($"tiers: {ex.Message}", ex);
        }
    }

    /// <summary>Builds platform, engine and promoter from a config (null: defaults from the machine's topology).</summary>
    /// <exception cref="ConfigException">The config is not valid here (unknown node in tiers, bad tunable).</exception>
    public static HotPageHost Create(HotPageConfig? config)
    {
        config ??= new HotPageConfig();
        ConfigLoader.Validate(config);
        var tunables = new EngineTunables();
        ConfigLoader.ApplyTunables(config, tunables);
        IMemoryPlatform platform = CreatePlatform(config);
        try
        {
            bool assumeLower = config.Residency == "assume-lower";
            var engine = new HotPageEngine(platform.GetTopology(), tunables, assumeLower ? null : platform);
            IHugePageInfo? huge = OperatingSystem.IsLinux() ? new LinuxHugePageInfo() : null;
            try
            {
                return new HotPageHost(platform, engine, new Promoter(engine, platform, hugePages: huge), assumeLower, huge);
            }
            catch
            {
                (huge as IDisposable)?.Dispose();
                engine.Dispose();
                throw;
            }
        }
        catch
        {
            platform.Dispose();
            throw;
        }
    }

    /// <summary>Stops the promoter and frees the engine and platform.</summary>
    public void Dispose()
    {
        Promoter.Dispose();
        (HugePages as IDisposable)?.Dispose();
        Engine.Dispose();
        Platform.Dispose();
    }
}

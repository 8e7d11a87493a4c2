using HotPage.Interop.Platform;

namespace HotPage.Engine.Tables;

/// <summary>What one residency refresh found.</summary>
/// <param name="Queried">Pages asked about.</param>
/// <param name="TopTier">Pages found on a top-tier node (now untracked).</param>
/// <param name="LowerTier">Pages found on a lower-tier node (tracked).</param>
/// <param name="Demoted">Pages that were marked top tier and are on a lower tier again.</param>
/// <param name="Error">The call-level error, if the query failed as a whole.</param>
/// <param name="DemotedUnused">Of <paramref name="Demoted"/>, pages the promoter had moved that were not reported between their move and now (a wasted promotion).</param>
public readonly record struct ResidencyRefresh(int Queried, int TopTier, int LowerTier, int Demoted, Errno Error, int DemotedUnused = 0);

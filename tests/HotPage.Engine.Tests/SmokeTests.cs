using HotPage.Interop.Platform;
using NUnit.Framework;

namespace HotPage.Engine.Tests;

public class SmokeTests
{
    [Test]
    public void PageStatusNamesNodesAndErrors()
    {
        Assert.That(PageStatus.Failed(Errno.EBUSY).Error, Is.EqualTo(Errno.EBUSY));
        Assert.That(PageStatus.OnNode(1).Node, Is.EqualTo(1));
    }
}

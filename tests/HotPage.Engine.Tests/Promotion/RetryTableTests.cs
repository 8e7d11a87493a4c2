using HotPage.Engine.Promotion;
using NUnit.Framework;

namespace HotPage.Engine.Tests.Promotion;

/// <summary>The retry counts' table: the promise <see cref="RetryTable.HasRoomFor"/> makes is what lets the promoter settle removals late.</summary>
[TestFixture]
public class RetryTableTests
{
    [Test]
    public void HasRoomForPromisesExactlyTheInsertsThatCannotFindTheTableFull()
    {
        var table = new RetryTable(16); // full at 12 (three quarters)
        Assert.That(table.HasRoomFor(12), Is.True);
        Assert.That(table.HasRoomFor(13), Is.False);
        for (long page = 0; page < 12; page++)
        {
            Assert.That(table.HasRoomFor(12 - (int)page), Is.True, $"after {page} inserts");
            Assert.That(table.Increment(page * 1000), Is.EqualTo(1));
        }

        Assert.That(table.HasRoomFor(1), Is.False);
        Assert.That(table.HasRoomFor(0), Is.True);
        Assert.That(table.Increment(99_999), Is.EqualTo(-1), "the 13th page finds the table full");
        Assert.That(table.Increment(5000), Is.EqualTo(2), "a page already counted is still counted");
        table.Remove(5000);
        Assert.That(table.HasRoomFor(1), Is.True);
        Assert.That(table.Increment(99_999), Is.EqualTo(1));
    }

    [Test]
    public void RemovingFromAnEmptyTableOrAnAbsentPageChangesNothing()
    {
        var table = new RetryTable(16);
        table.Remove(7);
        Assert.That(table.Count, Is.Zero);
        Assert.That(table.Increment(7), Is.EqualTo(1));
        table.Remove(8);
        Assert.That(table.Count, Is.EqualTo(1));
        Assert.That(table.Increment(7), Is.EqualTo(2));
    }
}

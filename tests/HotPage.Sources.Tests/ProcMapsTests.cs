using HotPage.Engine.Sources;

namespace HotPage.Sources.Tests;

[TestFixture]
public class ProcMapsTests
{
    private const string Fixture =
        "55d0c8a00000-55d0c8a02000 r--p 00000000 08:01 1311234                    /usr/bin/cat\n" +
        "55d0c9e4f000-55d0c9e70000 rw-p 00000000 00:00 0                          [heap]\n" +
        "7f1a2c000000-7f1a2c021000 rw-p 00000000 00:00 0 \n" +
        "7f1a2c021000-7f1a30000000 ---p 00000000 00:00 0 \n" +
        "7f1a30000000-7f1a30400000 rw-s 00000000 00:01 4242                       /dev/zero (deleted)\n" +
        "7f1a31000000-7f1a31200000 rw-p 00000000 00:00 0                          [anon:hotpage test]\n" +
        "7ffd1b2f0000-7ffd1b311000 rw-p 00000000 00:00 0                          [stack]\n" +
        "7ffd1b3c2000-7ffd1b3c6000 r--p 00000000 00:00 0                          [vvar]\n" +
        "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n";

    [Test]
    public void EveryFieldOfAMapsLineIsParsed()
    {
        List<Vma> vmas = ProcMaps.Parse(Fixture);

        Assert.That(vmas, Has.Count.EqualTo(9), "one VMA per line");
        Vma cat = vmas[0];
        Assert.That((cat.Start, cat.End, cat.Offset, cat.Device, cat.Inode, cat.Path), Is.EqualTo((0x55d0c8a00000UL, 0x55d0c8a02000UL, 0UL, "08:01", 1311234UL, "/usr/bin/cat")), "start, end, offset, device, inode and path");
        Assert.That(cat.Permissions, Is.EqualTo(VmaPermissions.Read), "r--p is read-only and private");
        Assert.That(vmas[4].Path, Is.EqualTo("/dev/zero (deleted)"), "a path keeps its spaces");
        Assert.That(vmas[4].Permissions, Is.EqualTo(VmaPermissions.Read | VmaPermissions.Write | VmaPermissions.Shared), "rw-s is shared");
    }

    [Test]
    public void OnlyAnonymousPrivateReadableMappingsAreEligible()
    {
        List<Vma> eligible = ProcMaps.Parse(Fixture).Where(v => v.IsEligible).ToList();

        Assert.That(eligible.Select(v => v.Path), Is.EqualTo(new[] { "[heap]", "", "[anon:hotpage test]", "[stack]" }),
            "heap, anonymous, named anonymous and stack; not files, guard areas, shared memory, vvar or vsyscall");
    }

    [Test]
    public void AMalformedLineIsRejectedWithItsNumber()
    {
        var e = Assert.Throws<FormatException>(() => ProcMaps.Parse("00400000-00452000 r-xp 00000000 08:02 173521 /bin/x\nnot a maps line\n"));

        Assert.That(e!.Message, Does.Contain("line 2"), "the message names the bad line");
    }

    [Test]
    public void TheMapsOfThisProcessParse()
    {
        List<Vma> vmas = ProcMaps.Read(0);

        Assert.That(vmas, Is.Not.Empty, "a running process has mappings");
        Assert.That(vmas.Any(v => v.IsEligible), Is.True, "and some anonymous private memory");
    }

    [Test]
    public void AMissingPidIsNamedInTheError()
    {
        int pid = Tunables.DeadPid();

        var e = Assert.Throws<SourceException>(() => ProcMaps.Read(pid));

        Assert.That(e!.Message, Does.Contain($"pid {pid}").And.Contain("no such process"), "the error names the pid and the reason");
    }
}

using System.Diagnostics;
using System.Globalization;
using HotPage.Engine.Records;
using HotPage.Engine.Sources;
using HotPage.Engine.Tunables;

namespace HotPage.Sources.Tests;

/// <summary>A sink that keeps every report.</summary>
internal sealed class CollectingSink : IAccessSink
{
    public List<(int Pid, AccessRecord Record)> Reports { get; } = [];

    public int Deliver(int pid, ReadOnlySpan<AccessRecord> records)
    {
        foreach (AccessRecord r in records)
        {
            Reports.Add((pid, r));
        }

        return 0;
    }

    public HashSet<ulong> Pages(int pid) => Reports.Where(r => r.Pid == pid).Select(r => r.Record.Address & ~4095UL).ToHashSet();
}

/// <summary>The C child program, compiled once per test run with gcc.</summary>
internal static class ChildProgram
{
    private static readonly Lazy<string> s_binary = new(Compile);

    public static string Binary => s_binary.Value;

    private static string Compile()
    {
        string dir = Path.Combine(Path.GetTempPath(), "hotpage-sources-tests-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        Directory.CreateDirectory(dir);
        string output = Path.Combine(dir, "touch_child");
        string source = Path.Combine(TestContext.CurrentContext.TestDirectory, "Native", "touch_child.c");
        using var gcc = Process.Start(new ProcessStartInfo("gcc", ["-O1", "-o", output, source]) { RedirectStandardError = true })!;
        string errors = gcc.StandardError.ReadToEnd();
        gcc.WaitForExit();
        if (gcc.ExitCode != 0)
        {
            throw new InvalidOperationException("gcc failed to build the child program: " + errors);
        }

        return output;
    }
}

/// <summary>A running child that maps pages and touches them on command.</summary>
internal sealed class Child : IDisposable
{
    private readonly Process _process;

    public Child(long pages)
    {
        _process = Process.Start(new ProcessStartInfo(ChildProgram.Binary, [pages.ToString(CultureInfo.InvariantCulture)])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
        })!;
        string[] first = (_process.StandardOutput.ReadLine() ?? throw new InvalidOperationException("the child printed nothing")).Split(' ');
        Base = ulong.Parse(first[0], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        Pages = long.Parse(first[1], CultureInfo.InvariantCulture);
    }

    public int Pid => _process.Id;

    public ulong Base { get; }

    public long Pages { get; }

    public ulong End => Base + ((ulong)Pages << 12);

    public ulong PageAddress(long page) => Base + ((ulong)page << 12);

    /// <summary>Writes one byte to COUNT pages from FIRST, STEP apart, and waits until the child did it.</summary>
    public void Write(long first, long count, long step = 1) => Command('w', first, count, step);

    /// <summary>Reads COUNT pages from FIRST, STEP apart.</summary>
    public void Read(long first, long count, long step = 1) => Command('r', first, count, step);

    private void Command(char op, long first, long count, long step)
    {
        _process.StandardInput.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{op} {first} {count} {step}"));
        _process.StandardInput.Flush();
        string? answer = _process.StandardOutput.ReadLine();
        if (answer != "ok")
        {
            throw new InvalidOperationException($"the child answered '{answer}'");
        }
    }

    public void Dispose()
    {
        try
        {
            _process.StandardInput.Close();
            if (!_process.WaitForExit(5000))
            {
                _process.Kill();
            }
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
    }
}

internal static class Tunables
{
    /// <summary>Tunables for tests: no initial delay, a short period, the given slice size.</summary>
    public static EngineTunables Fast(long scanSizeMb = 256, long periodMs = 10, long delayMs = 0)
    {
        var t = new EngineTunables();
        t.Set("scan_size_mb", scanSizeMb);
        t.Set("scan_period_ms", periodMs);
        t.Set("scan_delay_ms", delayMs);
        return t;
    }

    /// <summary>A pid that surely names no process now: one that was just reaped.</summary>
    public static int DeadPid()
    {
        using var p = Process.Start(new ProcessStartInfo("true"))!;
        p.WaitForExit();
        return p.Id;
    }
}

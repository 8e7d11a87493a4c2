global using NUnit.Framework;

// The sources are Linux-only; every fixture here runs on Linux (the fixtures carry [Platform("Linux")] where they touch the kernel).
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

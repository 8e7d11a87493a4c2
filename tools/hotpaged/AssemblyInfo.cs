using System.Runtime.Versioning;

// hotpaged is a Linux daemon: /proc, sysfs, move_pages, Unix sockets with file modes.
[assembly: SupportedOSPlatform("linux")]

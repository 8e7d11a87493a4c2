using System.Net.Sockets;
using System.Text;

namespace HotPage.Daemon;

/// <summary>
/// The daemon's control socket: a Unix stream socket, owner-only (0600), one request line per
/// connection, the reply, then close. Requests: <c>stat</c>, <c>stat json</c>, <c>metrics</c>
/// (Prometheus text format 0.0.4), <c>tunables</c>, <c>tune KEY=VALUE</c> (replies <c>ok ...</c>
/// or <c>error: ...</c>).
/// </summary>
internal sealed class ControlServer : IDisposable
{
    private readonly Socket _socket;
    private readonly Func<string, string> _handle;
    private readonly Thread _thread;
    private volatile bool _stopping;

    /// <summary>Binds <paramref name="path"/> (a stale socket file is replaced; a live daemon there is an error) and starts accepting.</summary>
    public ControlServer(string path, Func<string, string> handle)
    {
        Path = path;
        _handle = handle;
        string? dir = System.IO.Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(dir) && !Directory.Exists(dir))
        {
            Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        if (File.Exists(path))
        {
            using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                probe.Connect(new UnixDomainSocketEndPoint(path));
                throw new DaemonException($"another hotpaged answers on {path}; stop it or pass --socket PATH");
            }
            catch (SocketException)
            {
                File.Delete(path); // stale
            }
        }

        _socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            _socket.Bind(new UnixDomainSocketEndPoint(path));
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            _socket.Listen(8);
        }
        catch (Exception ex) when (ex is SocketException or IOException or UnauthorizedAccessException)
        {
            _socket.Dispose();
            throw new DaemonException($"cannot create the control socket {path}: {ex.Message}");
        }

        _thread = new Thread(Loop) { IsBackground = true, Name = "hotpaged-control" };
        _thread.Start();
    }

    /// <summary>The socket's path.</summary>
    public string Path { get; }

    private void Loop()
    {
        var buffer = new byte[4096];
        while (!_stopping)
        {
            Socket client;
            try
            {
                client = _socket.Accept();
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                return;
            }

            using (client)
            {
                try
                {
                    client.ReceiveTimeout = 2000;
                    client.SendTimeout = 2000;
                    int n = 0;
                    while (n < buffer.Length)
                    {
                        int r = client.Receive(buffer, n, buffer.Length - n, SocketFlags.None);
                        if (r <= 0)
                        {
                            break;
                        }

                        n += r;
                        if (Array.IndexOf(buffer, (byte)'\n', 0, n) >= 0)
                        {
                            break;
                        }
                    }

                    string request = Encoding.UTF8.GetString(buffer, 0, n).Trim();
                    string reply = _handle(request);
                    client.Send(Encoding.UTF8.GetBytes(reply.EndsWith('\n') ? reply : reply + "\n"));
                }
                catch (SocketException)
                {
                    // A client that went away or timed out: nothing to answer.
                }
            }
        }
    }

    /// <summary>Stops accepting and removes the socket file.</summary>
    public void Dispose()
    {
        _stopping = true;
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
            // Not connected: a listening socket.
        }

        _socket.Dispose();
        _thread.Join(2000);
        try
        {
            File.Delete(Path);
        }
        catch (IOException)
        {
            // Already gone.
        }
    }
}

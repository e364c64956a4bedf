using System;
using System.Collections.Generic;
using System.Globalization;
using System.Net;

namespace QmailPS.Processes
{
    /// <summary>One line of /proc/net/tcp or /proc/net/tcp6.</summary>
    internal sealed class TcpSocket
    {
        public TcpSocket(IPEndPoint local, IPEndPoint remote, int state, ulong inode)
        {
            Local = local; Remote = remote; State = state; Inode = inode;
        }

        public const int Established = 0x01, Listen = 0x0A;

        public IPEndPoint Local { get; }
        public IPEndPoint Remote { get; }
        /// <summary>TCP state number (include/net/tcp_states.h): 01 ESTABLISHED … 0A LISTEN.</summary>
        public int State { get; }
        public ulong Inode { get; }
    }

    /// <summary>
    /// The TCP sockets of one network namespace by inode, from PROC/PID/net/tcp and tcp6 (the same
    /// files as /proc/net/tcp{,6} for a process in our namespace, the right ones for one in a container).
    /// </summary>
    internal sealed class SocketTable
    {
        private readonly Dictionary<ulong, TcpSocket> _byInode = new Dictionary<ulong, TcpSocket>();

        public static SocketTable Load(ProcTable proc, int pid)
        {
            var t = new SocketTable();
            foreach (string file in new[] { "tcp", "tcp6" })
            {
                string? text = ProcTable.ReadText(proc.PidPath(pid, "net/" + file)) ?? ProcTable.ReadText(proc.Root + "/net/" + file);
                if (text != null) t.AddAll(text);
            }
            return t;
        }

        public void AddAll(string text)
        {
            foreach (string line in text.Split('\n'))
            {
                TcpSocket? s = ParseLine(line);
                if (s != null && s.Inode != 0) _byInode[s.Inode] = s;
            }
        }

        public TcpSocket? Find(ulong inode) => _byInode.TryGetValue(inode, out TcpSocket? s) ? s : null;

        /// <summary>
        /// The connection a delivery talks over: among the given socket inodes, an ESTABLISHED one if
        /// any, else the first that is not listening.
        /// </summary>
        public TcpSocket? Connection(IEnumerable<ulong> inodes)
        {
            TcpSocket? other = null;
            foreach (ulong inode in inodes)
            {
                TcpSocket? s = Find(inode);
                if (s is null || s.State == TcpSocket.Listen) continue;
                if (s.State == TcpSocket.Established) return s;
                other ??= s;
            }
            return other;
        }

        /// <summary>"  0: 0100007F:0019 0100007F:9C40 01 00000000:00000000 00:00000000 00000000  0  0 12345 …"; null for the header or junk.</summary>
        internal static TcpSocket? ParseLine(string line)
        {
            string[] f = line.Split(new[] { ' ', '\t' }, StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 10 || !f[0].EndsWith(":", StringComparison.Ordinal)) return null;
            IPEndPoint? local = ParseEndpoint(f[1]);
            IPEndPoint? remote = ParseEndpoint(f[2]);
            if (local is null || remote is null) return null;
            if (!int.TryParse(f[3], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int state)) return null;
            if (!ulong.TryParse(f[9], NumberStyles.None, CultureInfo.InvariantCulture, out ulong inode)) return null;
            return new TcpSocket(local, remote, state, inode);
        }

        /// <summary>
        /// "0100007F:0019" (IPv4) or 32 hex digits ":PORT" (IPv6). The kernel prints the address as
        /// 32-bit words in host byte order (%08X of each __be32 read as a native int), so on a
        /// little-endian machine each word's bytes come out reversed; the port is plain hex.
        /// An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is given as the IPv4 address.
        /// </summary>
        internal static IPEndPoint? ParseEndpoint(string text)
        {
            int colon = text.IndexOf(':');
            if (colon < 0) return null;
            string hex = text.Substring(0, colon);
            if (hex.Length != 8 && hex.Length != 32) return null;
            if (!int.TryParse(text.Substring(colon + 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int port) || port > 0xFFFF) return null;
            byte[] bytes = new byte[hex.Length / 2];
            for (int word = 0; word < hex.Length / 8; word++)
            {
                if (!uint.TryParse(hex.Substring(word * 8, 8), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out uint v)) return null;
                // v is the word as the CPU read it; its in-memory bytes are the network-order address bytes.
                byte[] mem = BitConverter.GetBytes(v);
                Array.Copy(mem, 0, bytes, word * 4, 4);
            }
            var address = new IPAddress(bytes);
            if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
            return new IPEndPoint(address, port);
        }
    }
}

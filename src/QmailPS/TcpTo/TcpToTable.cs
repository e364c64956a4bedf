using System.Collections.Generic;
using System.IO;

namespace QmailPS.TcpTo
{
    /// <summary>The file fits neither record layout (and none was forced).</summary>
    internal sealed class TcpToFormatException : IOException
    {
        public TcpToFormatException(string path, string reason) : base($"{path}: {reason}")
        {
            Path = path; Reason = reason;
        }

        public string Path { get; }
        public string Reason { get; }
    }

    /// <summary>What one locked read of lock/tcpto saw.</summary>
    internal sealed class TcpToSnapshot
    {
        public TcpToSnapshot(byte[] data, int length, TcpToRecordFormat format, bool detected, string reason, List<TcpToRecord> records)
        {
            Data = data; Length = length; Format = format; Detected = detected; Reason = reason; Records = records;
            Effective = TcpToRecords.Effective(records);
        }

        /// <summary>The bytes read (never more than the format's buffer).</summary>
        public byte[] Data { get; }
        public int Length { get; }
        public TcpToRecordFormat Format { get; }
        /// <summary>The format was detected, not forced.</summary>
        public bool Detected { get; }
        public string Reason { get; }
        public List<TcpToRecord> Records { get; }
        /// <summary>Per slot: qmail-remote would consult this record for its address (the first one).</summary>
        public bool[] Effective { get; }

        /// <summary>Reads the table from a locked file. <paramref name="forced"/> null: detect the layout.</summary>
        public static TcpToSnapshot Read(TcpToFile file, TcpToRecordFormat? forced, bool tolerateUnknown = false)
        {
            // Never trust the size: read into a fixed buffer as qmail does. Detection looks at up to
            // the struct format's 2048 bytes; the classic format then uses only the first 1024.
            int max = forced.HasValue ? TcpToRecords.MaxBytes(forced.Value) : TcpToRecords.StructMaxBytes;
            byte[] data = file.Read(max, out int length);
            TcpToRecordFormat format;
            string reason;
            if (forced.HasValue)
            {
                format = forced.Value;
                reason = "given with -Format";
            }
            else
            {
                TcpToRecords.Detection d = TcpToRecords.Detect(data, length);
                if (d.Format is null)
                {
                    if (!tolerateUnknown) throw new TcpToFormatException(file.Path, d.Reason);
                    format = TcpToRecordFormat.Classic16;
                    reason = "neither layout fits (" + d.Reason + "); treated as classic";
                }
                else
                {
                    format = d.Format.Value;
                    reason = d.Reason;
                }
            }
            return new TcpToSnapshot(data, length, format, !forced.HasValue, reason, TcpToRecords.Parse(data, length, format));
        }
    }
}

using System;
using System.Collections.Generic;
using QmailPS.Posix;

namespace QmailPS.Queue
{
    /// <summary>
    /// qmail-qstat's counts, computed as notqmail's script does (queue-format.md §4.2):
    /// <c>find queue/mess/* -type f | wc -l</c> and <c>find queue/todo -type f | wc -l</c>.
    /// So junk files, orphans and injections in flight count, symlinks do not, the glob skips
    /// dot-names directly under mess/, and a name with a newline counts as two lines, as with wc -l.
    /// </summary>
    public static class Qstat
    {
        public static long CountMess(QueueLayout layout, List<string> problems)
        {
            long count = 0;
            List<DirEntry>? top = layout.Fs.TryList(layout.Dir("mess"), new List<DirEntry>(), out int errno);
            if (top is null) { problems.Add($"find: 'mess': {Errno.QmailText(errno)}"); return 0; }
            foreach (DirEntry e in top)
            {
                string name = e.Name;
                if (name.StartsWith(".", StringComparison.Ordinal)) continue; // the shell glob mess/*
                count += CountPath(layout.Fs, layout.Dir("mess") + "/" + name, e, problems);
            }
            return count;
        }

        public static long CountTodo(QueueLayout layout, List<string> problems)
        {
            string todo = layout.Dir("todo");
            if (!layout.Fs.TryLstat(todo, out FileStatus st, out int errno))
            {
                problems.Add($"find: 'todo': {Errno.QmailText(errno)}");
                return 0;
            }
            return st.Kind == FileKind.Directory ? CountTree(layout.Fs, todo, problems) : st.Kind == FileKind.Regular ? 1 : 0;
        }

        private static long CountPath(IFileSystem fs, string path, DirEntry e, List<string> problems)
        {
            FileKind kind = e.Kind;
            if (kind == FileKind.Unknown && fs.TryLstat(path, out FileStatus st, out _)) kind = st.Kind;
            if (kind == FileKind.Regular) return Lines(e);
            if (kind == FileKind.Directory) return CountTree(fs, path, problems);
            return 0;
        }

        private static long CountTree(IFileSystem fs, string dir, List<string> problems)
        {
            List<DirEntry>? entries = fs.TryList(dir, new List<DirEntry>(), out int errno);
            if (entries is null) { problems.Add($"find: '{dir}': {Errno.QmailText(errno)}"); return 0; }
            long count = 0;
            foreach (DirEntry e in entries) count += CountPath(fs, dir + "/" + e.Name, e, problems);
            return count;
        }

        private static long Lines(DirEntry e)
        {
            if (e.RawName is null) return 1;
            long n = 1;
            foreach (byte b in e.RawName) if (b == (byte)'\n') n++;
            return n;
        }
    }
}

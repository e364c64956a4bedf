using System.IO;
using QmailPS.Posix;

namespace QmailPS.Tests.Support
{
    /// <summary>
    /// The file-system seam the tests set up queues with: one instance (never swapped), trusting
    /// the temporary directory where every test queue and victim lives, so planting and checking
    /// go through the same rules as the module (no write through a symlink there).
    /// </summary>
    internal static class TestFs
    {
        public static readonly IFileSystem Raw = Make();

        /// <summary>No anchor: reads a path as given (a snapshot of whatever a test points it at); refuses every change.</summary>
        public static readonly IFileSystem Plain = new LinuxFileSystem();

        public static System.Collections.Generic.List<DirEntry> List(string path) =>
            Raw.TryList(path, new System.Collections.Generic.List<DirEntry>(), out int errno) ?? throw new IOException($"list {path}: errno {errno}");

        private static IFileSystem Make()
        {
            var fs = new LinuxFileSystem();
            fs.Trust(Path.GetTempPath());
            if (Directory.Exists("/dev/shm")) fs.Trust("/dev/shm"); // the other-file-system tests
            
            return fs;
        }
    }
}

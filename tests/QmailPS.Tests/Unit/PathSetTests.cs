using System.Collections.Generic;
using QmailPS.Posix;
using Xunit;

namespace QmailPS.Tests.Unit
{
    /// <summary>
    /// The paths a repair run has changed (RecordingFileSystem) are kept compactly, numbers by
    /// directory; membership must be exactly that of the strings: a name with a leading zero, an
    /// overflowing number or a non-digit is another file than the canonical number it resembles.
    /// </summary>
    public sealed class PathSetTests
    {
        [Fact]
        public void Membership_is_that_of_the_path_strings()
        {
            string[] added =
            {
                "/q/mess/3/12345", "/q/info/3/12345", "/q/mess/4/0", "/q/bounce/18446744073709551615",
                "/q/mess/3/012345", "/q/mess/3/18446744073709551616", "/q/mess/3/12a45", "/q/mess/3/", "/q/lock/sendmutex", "relative",
                "/q/mess/3/12345.tmp", "12345",
            };
            string[] absent =
            {
                "/q/mess/3/1234", "/q/mess/4/12345", "/q/mess/3/0012345", "/q/mess/3/123450", "/q/mess/4/00", "/q/bounce/18446744073709551614",
                "/q/mess/3/1844674407370955161", "/q/mess//12345", "/q/mess/12345", "/q/lock/trigger", "12346", "/12345",
            };
            var set = new PathSet();
            var strings = new HashSet<string>();
            foreach (string p in added) { set.Add(p); strings.Add(p); }
            set.Add("/q/mess/3/12345"); // twice: counted once
            Assert.Equal(strings.Count, set.Count);
            foreach (string p in added) Assert.True(set.Contains(p), p);
            foreach (string p in absent) Assert.False(set.Contains(p), p);
        }
    }
}

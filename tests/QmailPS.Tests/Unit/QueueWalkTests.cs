using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using QmailPS.Posix;
using QmailPS.Queue;
using QmailPS.Tests.Support;
using Xunit;

namespace QmailPS.Tests.Unit
{
    /// <summary>
    /// The one walk Get-QmailQueueMessage (Qmail depth) and Test-QmailQueue (Every depth) share:
    /// what each name is to qmail, which directories are listed, and in what order.
    /// </summary>
    public sealed class QueueWalkTests
    {
        private static SplitListing List(TempQueue q, WalkDepth depth, int n, IReadOnlyList<ulong>? also = null)
        {
            var listing = new SplitListing();
            var handles = new DirectoryHandle?[QueueLayout.SplitDirectories.Length];
            try { new QueueWalk(q.Layout, depth).ListSplit(n, listing, handles, also); }
            finally { foreach (var h in handles) h?.Dispose(); }
            return listing;
        }

        private static int Bits(SplitListing l, ulong id) => l.BitsOf(id) & 0xF;

        private static void Touch(string path) => File.WriteAllBytes(path, new byte[] { (byte)'F', 0 });

        [Fact]
        public void Names_in_a_split_are_classed_as_qmail_reads_them()
        {
            using var q = TempQueue.Create();
            ulong id = q.AddProcessed("bob@example.test", "ann@example.org");
            int n = q.Layout.SplitOf(id), other = (n + 1) % q.Layout.Split;
            string info = q.PathOf("info", id);
            string dir = Path.GetDirectoryName(info)!;
            Touch(Path.Combine(dir, "x1"));                 // not a number
            Touch(Path.Combine(dir, "0" + id));              // a leading zero: qmail never spells an id so
            File.Copy(info, Path.Combine(q.Root, "info", other.ToString(), id.ToString())); // a queue moved between splits

            foreach (WalkDepth depth in new[] { WalkDepth.Qmail, WalkDepth.Every })
            {
                SplitListing l = List(q, depth, n);
                Assert.Equal(new[] { id }, l.Ids.Take(l.Count));
                int expected = SplitListing.InfoBit | SplitListing.RemoteBit | (depth == WalkDepth.Every ? SplitListing.MessBit : 0);
                Assert.Equal(expected, Bits(l, id));
                Assert.True(SplitListing.ChannelsRegular(l.BitsOf(id)));
                var names = l.Names.Select(x => (x.Rel, x.Place)).OrderBy(x => x.Rel, StringComparer.Ordinal).ToList();
                Assert.Equal(new[] { ($"info/{n}/0{id}", NamePlace.NonCanonical), ($"info/{n}/x1", NamePlace.NotANumber) }, names);
                Assert.Empty(l.Unlisted);

                SplitListing o = List(q, depth, other);
                Assert.Equal(0, o.Count);
                QueueName misplaced = Assert.Single(o.Names);
                Assert.Equal(($"info/{other}/{id}", NamePlace.Misplaced, "info"), (misplaced.Rel, misplaced.Place, misplaced.Top));
            }
        }

        [Fact]
        public void Qmail_depth_keeps_info_in_readdir_order_the_order_qmail_qread_prints()
        {
            using var q = TempQueue.Create(split: 1);
            var ids = Enumerable.Range(0, 40).Select(i => q.AddProcessed("bob@example.test", $"r{i}@example.org")).ToList();
            Touch(Path.Combine(q.Root, "info", "0", "007"));
            var readdir = TestFs.List(Path.Combine(q.Root, "info", "0")).Where(e => e.IsNumeric).Select(e => e.Name).ToList();

            SplitListing l = List(q, WalkDepth.Qmail, 0);
            Assert.Equal(readdir, l.Info.Select(e => e.Name));
            Assert.Contains("007", l.Info.Select(e => e.Name)); // qmail-qread lists it too (under its canonical name)
            Assert.Equal(ids.OrderBy(i => i), l.Ids.Take(l.Count)); // the ids themselves: sorted and merged
        }

        [Fact]
        public void An_empty_info_directory_ends_the_qmail_walk_of_its_split_but_not_the_every_walk()
        {
            using var q = TempQueue.Create();
            ulong id = q.AddProcessed("bob@example.test", "ann@example.org");
            File.Delete(q.PathOf("info", id)); // the remote file is now unreachable for qmail-send
            int n = q.Layout.SplitOf(id);

            SplitListing qmail = List(q, WalkDepth.Qmail, n);
            Assert.Equal(0, qmail.Count);
            Assert.Empty(qmail.Info);

            SplitListing every = List(q, WalkDepth.Every, n);
            Assert.Equal(new[] { id }, every.Ids.Take(every.Count));
            Assert.Equal(SplitListing.MessBit | SplitListing.RemoteBit, Bits(every, id));
        }

        [Fact]
        public void A_missing_directory_is_reported_with_its_errno_and_ids_from_elsewhere_are_merged_in()
        {
            using var q = TempQueue.Create();
            ulong id = q.AddProcessed("bob@example.test", "ann@example.org");
            int n = q.Layout.SplitOf(id);
            Directory.Delete(Path.Combine(q.Root, "local", n.ToString()));
            ulong todoOnly = id + (ulong)q.Layout.Split * 1000;

            SplitListing l = List(q, WalkDepth.Every, n, new[] { todoOnly });
            Unlisted u = Assert.Single(l.Unlisted);
            Assert.Equal((Path.Combine(q.Root, "local", n.ToString()), 2), (u.Path, u.Errno)); // ENOENT
            Assert.Equal(new[] { id, todoOnly }, l.Ids.Take(l.Count));
            Assert.Equal(0, l.BitsOf(todoOnly));
            Assert.Equal(SplitListing.MessBit | SplitListing.InfoBit | SplitListing.RemoteBit, Bits(l, id));
        }

        [Fact]
        public void A_symlinked_split_directory_is_not_followed()
        {
            using var q = TempQueue.Create();
            ulong id = q.AddProcessed("bob@example.test", "ann@example.org");
            int n = q.Layout.SplitOf(id);
            string remote = Path.Combine(q.Root, "remote", n.ToString());
            string elsewhere = Path.Combine(q.Home, "elsewhere");
            Directory.Move(remote, elsewhere);
            File.CreateSymbolicLink(remote, elsewhere);

            SplitListing l = List(q, WalkDepth.Every, n);
            Assert.Contains(l.Unlisted, u => u.Path == remote);
            Assert.Equal(SplitListing.MessBit | SplitListing.InfoBit, Bits(l, id));
        }

        [Fact]
        public void A_vanilla_todo_lists_its_own_names_first_then_a_big_todo_subdirectory_s_files()
        {
            using var q = TempQueue.Create();
            ulong a = q.AddUnprocessed("bob@example.test", "ann@example.org");
            ulong b = q.AddUnprocessed("bob@example.test", "carl@example.org");
            string todo = Path.Combine(q.Root, "todo");
            int nb = q.Layout.SplitOf(b);
            Directory.CreateDirectory(Path.Combine(todo, nb.ToString()));
            File.Move(Path.Combine(todo, b.ToString()), Path.Combine(todo, nb.ToString(), b.ToString())); // as big-todo binaries would have written it
            Touch(Path.Combine(todo, "junk"));
            Touch(Path.Combine(todo, "0" + a));

            FlatListing l = new QueueWalk(q.Layout, WalkDepth.Qmail).ListFlat("todo");
            Assert.Empty(l.Unlisted);
            var own = l.Names.Take(l.OwnCount).Select(x => (x.Rel, x.Place)).OrderBy(x => x.Rel, StringComparer.Ordinal);
            Assert.Equal(new[]
            {
                ($"todo/0{a}", NamePlace.NonCanonical),
                ($"todo/{nb}", NamePlace.Subdirectory),
                ($"todo/{a}", NamePlace.Message),
                ("todo/junk", NamePlace.NotANumber),
            }.OrderBy(x => x.Item1, StringComparer.Ordinal), own);
            QueueName moved = Assert.Single(l.Names.Skip(l.OwnCount));
            Assert.Equal(($"todo/{nb}/{b}", NamePlace.OtherLayout, FileKind.Regular), (moved.Rel, moved.Place, moved.Kind));
            Assert.Equal(FileKind.Directory, l.Names.Single(x => x.Place == NamePlace.Subdirectory).Kind);
        }

        [Fact]
        public void A_big_todo_lists_each_split_then_the_vanilla_place()
        {
            using var q = TempQueue.Create(bigTodo: true);
            ulong a = q.AddUnprocessed("bob@example.test", "ann@example.org");
            ulong b = q.AddUnprocessed("bob@example.test", "carl@example.org");
            int na = q.Layout.SplitOf(a);
            string todo = Path.Combine(q.Root, "todo");
            File.Move(q.PathOf("todo", b), Path.Combine(todo, b.ToString()));                        // the vanilla place
            Touch(Path.Combine(todo, ((na + 1) % q.Layout.Split).ToString(), a.ToString()));     // a second todo in the wrong split

            FlatListing l = new QueueWalk(q.Layout, WalkDepth.Qmail).ListFlat("todo");
            Assert.Empty(l.Unlisted);
            var own = l.Names.Take(l.OwnCount).ToList();
            Assert.Equal(2, own.Count);
            Assert.Contains(own, x => x.Rel == $"todo/{na}/{a}" && x.Place == NamePlace.Message);
            Assert.Contains(own, x => x.Rel == $"todo/{(na + 1) % q.Layout.Split}/{a}" && x.Place == NamePlace.Misplaced);
            var rest = l.Names.Skip(l.OwnCount).ToList();
            // todo/ itself: the split directories (left to the callers as directories) and b's file.
            Assert.Equal(q.Layout.Split, rest.Count(x => x.Kind == FileKind.Directory && x.Place == NamePlace.OtherLayout));
            QueueName vanilla = Assert.Single(rest, x => x.Kind == FileKind.Regular);
            Assert.Equal(($"todo/{b}", NamePlace.OtherLayout), (vanilla.Rel, vanilla.Place));
        }

        [Fact]
        public void Bounce_names_are_classed_and_nothing_else_is_listed()
        {
            using var q = TempQueue.Create();
            ulong id = q.AddProcessed("bob@example.test", "ann@example.org");
            string bounce = Path.Combine(q.Root, "bounce");
            Touch(Path.Combine(bounce, id.ToString()));
            Touch(Path.Combine(bounce, "0" + id));
            Directory.CreateDirectory(Path.Combine(bounce, "5"));

            FlatListing l = new QueueWalk(q.Layout, WalkDepth.Every).ListFlat("bounce");
            Assert.Equal(l.Names.Count, l.OwnCount);
            var names = l.Names.Select(x => (x.Rel, x.Place)).OrderBy(x => x.Rel, StringComparer.Ordinal);
            Assert.Equal(new[] { ($"bounce/0{id}", NamePlace.NonCanonical), ($"bounce/{id}", NamePlace.Message), ("bounce/5", NamePlace.Message) }
                .OrderBy(x => x.Item1, StringComparer.Ordinal), names);
            Assert.Equal(FileKind.Directory, l.Names.Single(x => x.Rel == "bounce/5").Kind); // the rules judge its kind
        }
    }
}

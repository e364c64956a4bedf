#!/usr/bin/perl
# qread-baseline.pl QUEUE [SPLIT]
#
# A baseline for Get-QmailQueueMessage: the reads qmail-qread (notqmail qmail-qread.c) makes for
# every message, done in Perl. chdir to the queue, walk info/0..SPLIT-1 with readdir, and per
# numeric id:
#   stat   mess/N/ID          (size; a failure is "warning: trouble with #ID")
#   stat   bounce/ID          (bouncing or not)
#   open   info/N/ID, read the F record up to its NUL, fstat it (mtime = queued time), close
#   open   local/N/ID, then remote/N/ID; when present, read every record and print the T (and D,
#          "  done") ones
# and print qmail-qread's lines:
#   26 Jun 2024 10:00:00 GMT  #ID  SIZE  <sender>  bouncing
#   \tremote\taddress
# Paths are relative to the queue (as qmail-qread's are after its chdir); files are read with
# sysopen/sysread (no PerlIO layers); output is buffered.
use strict;
use warnings;
use Fcntl qw(O_RDONLY);
use Errno qw(ENOENT);

my $queue = shift @ARGV or die "usage: $0 QUEUE [SPLIT]\n";
my $split = shift @ARGV // 23;
chdir $queue or die "fatal: unable to chdir to $queue: $!\n";

my @mon = qw(Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec);
$| = 0;
binmode STDOUT;

# What out() does: anything outside 32..126 printed as '_'.
sub clean { my $s = shift; $s =~ tr/\x20-\x7e/_/c; return $s; }

sub slurp {
    my ($path) = @_;
    sysopen(my $fh, $path, O_RDONLY) or return (undef, $!);
    my $data = '';
    while (1) {
        my $got = sysread($fh, $data, 4096, length $data);
        last unless $got;
    }
    close $fh;
    return ($data, 0);
}

for my $n (0 .. $split - 1) {
    opendir(my $dh, "info/$n") or die "fatal: unable to opendir info/$n: $!\n";
    while (defined(my $name = readdir $dh)) {
        next unless $name =~ /^[0-9]+$/;   # readsubdir: non-numeric names are skipped
        my $id = $name;

        my @st = stat("mess/$n/$id");
        unless (@st) { print "warning: trouble with #$id: $!\n"; next; }
        my $size = $st[7];
        my $bouncing = stat("bounce/$id") ? 1 : 0;

        sysopen(my $ifh, "info/$n/$id", O_RDONLY) or do { print "warning: trouble with #$id: $!\n"; next; };
        my $info = '';
        sysread($ifh, $info, 1024);        # qmail-qread's inbuf is 1024 bytes; getln stops at the NUL
        my @ist = stat($ifh);              # fstat
        close $ifh;
        my $nul = index($info, "\0");
        my $sender = substr($info, 1, $nul < 0 ? length($info) - 1 : $nul - 1);
        my ($sec, $min, $hour, $mday, $mon, $year) = gmtime($ist[9]);

        my $out = sprintf("%d %s %d %02d:%02d:%02d GMT  #%s  %d  <%s> ",
            $mday, $mon[$mon], $year + 1900, $hour, $min, $sec, $id, $size, $sender);
        $out .= " bouncing" if $bouncing;
        print clean($out), "\n";

        for my $channel ('local', 'remote') {
            my ($data, $err) = slurp("$channel/$n/$id");
            unless (defined $data) {
                print "warning: trouble with #$id: $err\n" unless $err == ENOENT;
                next;
            }
            for my $rec (split /\0/, $data) {
                my $t = substr($rec, 0, 1);
                if ($t eq 'D') { print "  done\t$channel\t", clean(substr($rec, 1)), "\n"; }
                elsif ($t eq 'T') { print "\t$channel\t", clean(substr($rec, 1)), "\n"; }
            }
        }
    }
    closedir $dh;
}
exit 0;

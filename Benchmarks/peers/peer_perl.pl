#!/usr/bin/perl
# The single-threaded scenarios of SDAMScenarios (SingleThreadedSubject), run by the Perl driver
# (Debian's libmongodb-perl): its scans are serial, one server after another, the primary first
# when one is known. Same arguments, same JSON keys; the harness (single_threaded.py) runs the
# simulator:
#
#   peer_perl.pl st-discovery|st-scan|st-failover URI
#
# (st-failover kills the primary rather than stepping it down: this 2020 driver recognises a
# "not writable primary" error by the words "not master", which today's servers no longer send.)
use strict;
use warnings;
use MongoDB;
use Time::HiRes qw(clock_gettime CLOCK_MONOTONIC);

sub now_ms { clock_gettime(CLOCK_MONOTONIC) * 1000 }

sub counts {
    opendir(my $t, "/proc/self/task") or die; my $threads = grep { !/^\./ } readdir($t); closedir($t);
    opendir(my $f, "/proc/self/fd") or die;
    my $sockets = grep { !/^\./ && (readlink("/proc/self/fd/$_") // "") =~ /^socket:/ } readdir($f);
    closedir($f);
    return ($threads, $sockets);
}

my ($scenario, $uri) = @ARGV;
die "usage: peer_perl.pl SCENARIO URI\n" unless defined $uri;
my $client = MongoDB::MongoClient->new(host => $uri);
my $coll = $client->get_database("bench")->get_collection("bench");
my $fields;
if ($scenario eq "st-discovery") {
    my $start = now_ms();
    $coll->insert_one({ x => 1 });
    my $took = now_ms() - $start;
    my $status = $client->topology_status;
    my $known = grep { $_->{type} ne "Unknown" } @{ $status->{servers} };
    $fields = sprintf('"firstWriteMS":%.3f,"membersKnown":%d', $took, $known);
} elsif ($scenario eq "st-scan") {
    my $start = now_ms();
    $coll->insert_one({ x => 1 });
    my $took = now_ms() - $start;
    $fields = sprintf('"scanMS":%.3f,"selectMS":%.3f', $took, $took);
} elsif ($scenario eq "st-failover") {
    $coll->insert_one({ x => 1 });
    $| = 1;
    print "ready\n";
    my $line = <STDIN>;
    my $start = now_ms();
    my $attempts = 0;
    while (1) {
        $attempts++;
        last if eval { $coll->insert_one({ x => 1 }); 1 };
        die "no write within 20 s: $@" if now_ms() - $start > 20000;
    }
    $fields = sprintf('"toWriteMS":%.3f,"attempts":%d', now_ms() - $start, $attempts);
} else {
    die "unknown scenario $scenario\n";
}
my ($threads, $sockets) = counts();
printf("{\"driver\":\"Perl MongoDB %s\",\"scenario\":\"%s\",%s,\"threads\":%d,\"connections\":%d}\n",
       $MongoDB::VERSION, $scenario, $fields, $threads, $sockets);

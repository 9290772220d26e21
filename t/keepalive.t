# One keep-alive connection whose requests all carry a Host header the
# module rejects (a single label of 8,000 bytes, which httpd accepts) must
# not make the serving child grow: the module keeps what it worked out from
# a Host header per connection only when the header is valid.

use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Apache::TestUtil;

use MTO::Test qw(:all);
use MTO::Httpd qw(start_httpd);

use constant REQUESTS => 5000;

# Growth allowed over REQUESTS requests, in KiB. Before the memo was kept
# to valid headers, each request added about 8 KiB.
use constant GROWTH_MAX_KIB => 4096;

my $node = start_httpd(name => 'keepalive', threads => 2,
                       extra => "MaxKeepAliveRequests 0\nLogLevel warn");

# Returns the summed resident memory of the instance's children, in KiB.
sub children_rss {
    my $total = 0;
    opendir my $proc, '/proc' or die "cannot read /proc: $!\n";
    for my $pid (grep { /^\d+$/ } readdir $proc) {
        open my $stat, '<', "/proc/$pid/stat" or next;
        my $line = <$stat>;
        close $stat;
        next unless defined $line && $line =~ /\)\s+\S+\s+(\d+)/;
        next unless $1 == $node->{pid};
        open my $status, '<', "/proc/$pid/status" or next;
        while (<$status>) {
            $total += $1 if /^VmRSS:\s+(\d+)/;
        }
        close $status;
    }
    closedir $proc;
    return $total;
}

my $long_host = 'a' x 8000;
my $one = { host_header => $long_host, path => '/static.txt' };

# A first round lets the child's allocators settle.
my @warm = requests_on_one_connection(vhost => 'keepalive',
                                      requests => [($one) x 200]);
check($warm[-1]->code, 200, 'long Host: served by httpd');
my $before = children_rss();
check($before > 0 ? 1 : 0, 1, 'children found');

my @responses = requests_on_one_connection(vhost => 'keepalive',
                                           requests => [($one) x REQUESTS]);
check(scalar(grep { $_->code == 200 } @responses), REQUESTS,
      'long Host: every request served');
my $growth = children_rss() - $before;
check($growth < GROWTH_MAX_KIB ? 1 : 0, 1,
      "long Host on one connection: child grew $growth KiB");

MTO::Httpd::stop_httpd($node);
done_testing();

# A full shmcb evicts old entries without errors users see: an instance
# with a 32 KiB cache resolves 300 generated tenants, then a normal login
# at a tenant still signs in.

use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Apache::TestRequest ();
use Apache::TestUtil;

use MTO::Test qw(:all);
use MTO::Httpd qw(start_httpd);

Apache::TestRequest::module('mto_main');

my $node = start_httpd(name => 'tiny', threads => 4,
                       cache => 'shmcb:' . Apache::Test::vars('t_logs')
                                . '/instances/tiny-cache(32768)');
my $run = sprintf '%x%x', $$, time;

my %statuses;
for my $index (1 .. 300) {
    my $login = start_login(vhost => 'tiny',
                            host => "gen-fill$index-$run.tenants.test");
    $statuses{ $login->{response}->code }++;
}
check(join(',', sort keys %statuses), '302',
      'full cache: every login redirects');

my $signed = sign_in(vhost => 'tiny', tenant => 'a', sub => 'carl');
check($signed->{response}->code, 303, 'full cache: callback signs in');
check(defined $signed->{session} ? 1 : 0, 1, 'full cache: session cookie');

my $log = MTO::Httpd::log_text($node);
check(scalar(() = $log =~ /\[[^\]]*:(?:error|crit)\]/g), 0,
      'full cache: no errors logged');
MTO::Httpd::stop_httpd($node);

done_testing();

# The used-state record is what makes a state single-use across browsers
# and nodes, so a callback whose state cannot be recorded in the shared
# cache fails with 503 and signs nobody in. The instance here uses a redis
# cache on a loopback port where nothing listens.

use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use IO::Socket::INET ();

use MTO::Test qw(:all);
use MTO::Httpd qw(start_httpd);

# A loopback port that was free a moment ago and has no listener now.
my $closed = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                   Proto => 'tcp', Listen => 1)
    or die "cannot bind a loopback port: $!\n";
my $closed_port = $closed->sockport;
close $closed;

my $node = start_httpd(name => 'deadcache',
                       cache => "redis:127.0.0.1:$closed_port");
my $vhost = $node->{name};

my $login = start_login(vhost => $vhost, host => 'a.tenants.test');
check($login->{response}->code, 302,
      'dead cache: login still redirects to the provider');
check(defined $login->{cookie} ? 1 : 0, 1, 'dead cache: state cookie set');

my $token = mint(tenant => 'a', claims => id_token_claims(
    tenant => 'a', nonce => $login->{nonce}));
my $response = callback(vhost => $vhost, host => 'a.tenants.test',
                        login => $login,
                        fields => [state => $login->{state},
                                   id_token => $token]);
check($response->code, 503, 'dead cache: callback fails with 503');
check(session_cookie_set($response) ? 1 : 0, 0,
      'dead cache: no session cookie');
check_like(MTO::Httpd::log_text($node),
           qr/cannot record the state as used in the shared cache/,
           'dead cache: log names the reason');

MTO::Httpd::stop_httpd($node);
done_testing();

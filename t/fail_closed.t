# A login is accepted at the callback only while its pending entry is in
# the shared cache, so the module fails closed when the cache cannot be
# written or read: a login that cannot be recorded gets 503 and no state
# cookie, and a callback whose state cannot be taken from the cache signs
# nobody in. That callback gets 503 while apr_redis still tries the
# server, and 400 once it has marked the server down and reports every
# key as missing. The dead node uses a redis cache on a loopback
# port where nothing listens. The live node has a shmcb and the same
# passphrase, so a login started there can be posted to the dead node.

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

my $dead = start_httpd(name => 'deadcache',
                       cache => "redis:127.0.0.1:$closed_port");
my $live = start_httpd(name => 'livecache');

my $login = start_login(vhost => $dead->{name}, host => 'a.tenants.test');
check($login->{response}->code, 503, 'dead cache: login fails with 503');
check(scalar(state_cookies($login->{response})), 0,
      'dead cache: no state cookie');
check_like(MTO::Httpd::log_text($dead),
           qr/tenant a\.tenants\.test: login failed: cannot record the login/,
           'dead cache: login log names the reason');

$login = start_login(vhost => $live->{name}, host => 'a.tenants.test');
check($login->{response}->code, 302, 'live cache: login redirects');
my $token = mint(tenant => 'a', claims => id_token_claims(
    tenant => 'a', nonce => $login->{nonce}));
my $response = callback(vhost => $dead->{name}, host => 'a.tenants.test',
                        login => $login,
                        fields => [state => $login->{state},
                                   id_token => $token]);
check_like($response->code, qr/^(?:400|503)$/,
           'dead cache: callback fails with 400 or 503');
check(session_cookie_set($response) ? 1 : 0, 0,
      'dead cache: no session cookie');
check_like(MTO::Httpd::log_text($dead),
           qr/tenant\ a\.tenants\.test:\ callback\ rejected\ \(
              (?:400\):\ state\ not\ found|503\):\ cannot\ take\ the\ state)/x,
           'dead cache: callback log names the reason');

# The same callback at the node that recorded the login signs in.
$response = callback(vhost => $live->{name}, host => 'a.tenants.test',
                     login => $login,
                     fields => [state => $login->{state},
                                id_token => $token]);
check($response->code, 303, 'live cache: callback signs in');

MTO::Httpd::stop_httpd($_) for $dead, $live;
done_testing();

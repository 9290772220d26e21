# Two httpd nodes sharing one cache (redis, then memcached) and one
# passphrase, with server-side sessions: each accepts the other's
# sessions, a logout at one is a logout at both, and a login state used
# at one cannot be used again at the other.

use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Apache::TestRequest ();
use Apache::TestUtil;

use MTO::Test qw(:all);
use MTO::Httpd qw(start_httpd backend_port);

Apache::TestRequest::module('mto_main');

sub user_at {
    my ($node, $session) = @_;
    my $response = request(vhost => $node, host => 'a.tenants.test',
                           path => '/hub/home',
                           headers => [session_header($session)]);
    my @users = echo_header_values($response, 'REMOTE_USER');
    return scalar @users ? "@users" : '';
}

for my $backend (qw(redis memcache)) {
    my $port = backend_port($backend eq 'redis' ? 'redis' : 'memcached');
    SKIP: {
        skip "$backend server not running", 9 unless $port;
        my @nodes;
        for my $number (1, 2) {
            push @nodes, start_httpd(name => "$backend-$number",
                                     cache => "$backend:127.0.0.1:$port",
                                     extra => 'MTOIDCSessionStore cache');
        }
        my ($one, $two) = map { $_->{name} } @nodes;

        my $signed = sign_in(vhost => $one, tenant => 'a', sub => 'nina');
        my $session = $signed->{session};
        check(defined $session ? 1 : 0, 1, "$backend: signed in at node 1");
        $session = 'missing' unless defined $session;
        check(user_at($one, $session), 'nina@a.tenants.test',
              "$backend: session works at node 1");
        check(user_at($two, $session), 'nina@a.tenants.test',
              "$backend: session works at node 2");

        # The callback's state was recorded as used in the shared cache.
        my $login = $signed->{login};
        my $token = mint(tenant => 'a', claims => id_token_claims(
            tenant => 'a', nonce => $login->{nonce}));
        my $replay = callback(vhost => $two, host => 'a.tenants.test',
                              login => $login,
                              fields => [state => $login->{state},
                                         id_token => $token]);
        check($replay->code, 400, "$backend: state replay at node 2 fails");
        check(session_cookie_set($replay) ? 1 : 0, 0,
              "$backend: state replay sets no session");

        my $response = request(vhost => $two, host => 'a.tenants.test',
                               path => '/hub/logout',
                               headers => [session_header($session)]);
        check($response->code, 200, "$backend: logout at node 2");
        check(user_at($two, $session), '',
              "$backend: session ended at node 2");
        check(user_at($one, $session), '',
              "$backend: session ended at node 1");

        my $errors = join '', map { MTO::Httpd::log_text($_) } @nodes;
        check(scalar(() = $errors =~ /\[[^\]]*:(?:error|crit)\]/g), 0,
              "$backend: no errors logged");
        MTO::Httpd::stop_httpd($_) for @nodes;
    }
}

done_testing();

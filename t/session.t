# Sessions: an altered or expired session cookie signs nobody in, logout
# clears the cookie, and AuthType multitenant-oidc makes a session
# mandatory inside its location.

use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Apache::TestRequest ();
use Apache::TestUtil;
use URI ();

use MTO::Test qw(:all);

Apache::TestRequest::module('mto_main');

sub user_seen {
    my ($response) = @_;
    my @users = echo_header_values($response, 'REMOTE_USER');
    return scalar @users ? "@users" : '';
}

my $session = sign_in(tenant => 'a', sub => 'alice')->{session};
check(defined $session ? 1 : 0, 1, 'signed in at a');
$session = 'missing' unless defined $session;

# The session works.
{
    my $response = request(host => 'a.tenants.test', path => '/hub/home',
                           headers => [session_header($session)]);
    check(user_seen($response), 'alice@a.tenants.test', 'valid session: user');
}

# Altered session cookies are ignored and get no error response.
my %altered = (
    'flipped first character' => (substr($session, 0, 1) eq 'A' ? 'B' : 'A')
        . substr($session, 1),
    # The last character of base64url text may carry only padding bits.
    'flipped next to last character' => substr($session, 0, -2)
        . (substr($session, -2, 1) eq 'A' ? 'B' : 'A')
        . substr($session, -1),
    'truncated' => substr($session, 0, int(length($session) / 2)),
    'empty' => '',
    'not base64url' => '!!!' . $session,
);
for my $label (sort keys %altered) {
    my $response = request(host => 'a.tenants.test', path => '/hub/home',
                           headers => [session_header($altered{$label})]);
    check($response->code, 200, "session $label: request reaches the hub");
    check(user_seen($response), '', "session $label: nobody signed in");
}

# mto_short has another passphrase, so the cookie does not open there.
{
    my $response = request(vhost => 'mto_short', host => 'a.tenants.test',
                           path => '/hub/home',
                           headers => [session_header($session)]);
    check($response->code, 200, 'other passphrase: request reaches the hub');
    check(user_seen($response), '', 'other passphrase: nobody signed in');
}

# A session cookie sent under another cookie name is not a session.
{
    my $response = request(host => 'a.tenants.test', path => '/hub/home',
                           headers => [['Cookie', "mto_session=$session"]]);
    check(user_seen($response), '', 'session under another name: ignored');
}

# Logout clears the session cookie and passes the request to the hub.
{
    my $response = request(host => 'a.tenants.test', path => '/hub/logout',
                           headers => [session_header($session)]);
    check($response->code, 200, 'logout: passes through to the hub');
    check((echo_document($response) || {})->{url}, '/echo/hub/logout',
          'logout: hub sees the logout path');
    my $cookie = find_cookie($response, '__Host-mto_session')
        || { attributes => {} };
    check(defined $cookie->{name} ? 1 : 0, 1, 'logout: session cookie set');
    check($cookie->{value}, '', 'logout: session cookie emptied');
    check($cookie->{attributes}->{'max-age'}, 0, 'logout: Max-Age=0');
    check($cookie->{attributes}->{path}, '/', 'logout: Path=/');
    check($cookie->{attributes}->{secure}, 1, 'logout: Secure');
}

# AuthType multitenant-oidc with Require valid-user on /private.
{
    my $response = request(host => 'a.tenants.test',
                           path => '/private/notebook');
    check($response->code, 302, 'private GET without session: redirect');
    my $location = URI->new($response->header('Location') || '', 'http');
    check($location->path, '/hub/login',
          'private GET without session: to the login path');
    my %query = $location->query_form;
    check($query{next}, '/private/notebook',
          'private GET without session: next is the original path');
    if ($location->scheme) {
        check($location->host_port,
              host_header('a.tenants.test', 'mto_main'),
              'private GET without session: same host');
    }

    $response = request(host => 'a.tenants.test', path => '/private/notebook',
                        method => 'POST',
                        headers => [['Content-Type',
                                     'application/x-www-form-urlencoded']],
                        body => 'a=1');
    check($response->code, 401, 'private POST without session: 401');
    check(echo_document($response) ? 1 : 0, 0,
          'private POST without session: not proxied');

    $response = request(host => 'a.tenants.test', path => '/private/notebook',
                        headers => [session_header($session)]);
    check($response->code, 200, 'private GET with session: proxied');
    check(user_seen($response), 'alice@a.tenants.test',
          'private GET with session: user header');

    $response = request(host => 'a.tenants.test', path => '/private/notebook',
                        method => 'POST',
                        headers => [session_header($session),
                                    ['Content-Type',
                                     'application/x-www-form-urlencoded']],
                        body => 'a=1');
    check($response->code, 200, 'private POST with session: proxied');

    $response = request(host => 'b.tenants.test', path => '/private/notebook',
                        headers => [session_header($session)]);
    check($response->code, 302,
          'private GET with the session of another host: redirect');
}

# Keep-alive: every request on one connection is judged by its own Host
# header, whichever host the connection's first request named.
{
    my $port = vhost_port('mto_main');
    my %at = map { $_ => { host => "$_.tenants.test", path => '/hub/home',
                            headers => [session_header($session)] } }
        qw(a b);
    my $unlisted = { host => 'a.other.test', path => '/hub/login' };
    my @sent = ($at{a}, $at{b}, $unlisted, $at{a}, $at{b});
    my @responses = requests_on_one_connection(requests => \@sent);
    my @expected = ('alice@a.tenants.test', '', undef,
                    'alice@a.tenants.test', '');
    for my $i (0 .. $#expected) {
        my $response = $responses[$i];
        if (!defined $expected[$i]) {
            check($response->code, 404,
                  "one connection, request $i: unlisted host gets 404");
            next;
        }
        check(user_seen($response), $expected[$i],
              "one connection, request $i: user");
        my ($api) = echo_header_values($response, 'X-Tenant-API-Base');
        check($api, $expected[$i] eq '' ? undef
                  : "http://$sent[$i]->{host}:$port/api",
              "one connection, request $i: API header");
    }

    @responses = requests_on_one_connection(
        requests => [$unlisted, $at{b}, $at{a}]);
    check($responses[0]->code, 404, 'unlisted host first: 404');
    check(user_seen($responses[1]), '', 'unlisted host first, then b: nobody');
    check(user_seen($responses[2]), 'alice@a.tenants.test',
          'unlisted host first, then a: alice');
}

# Sessions end after MTOIDCSessionTimeout (2 s in mto_short).
{
    my $short = sign_in(vhost => 'mto_short', tenant => 'a', sub => 'dave');
    my $cookie = session_cookie_set($short->{response})
        || { attributes => {} };
    check($cookie->{attributes}->{'max-age'}, 2,
          'short session: Max-Age follows MTOIDCSessionTimeout');
    my $value = defined $short->{session} ? $short->{session} : 'missing';
    my $response = request(vhost => 'mto_short', host => 'a.tenants.test',
                           path => '/hub/home',
                           headers => [session_header($value)]);
    check(user_seen($response), 'dave@a.tenants.test',
          'short session: valid at first');
    sleep 4;
    $response = request(vhost => 'mto_short', host => 'a.tenants.test',
                        path => '/hub/home',
                        headers => [session_header($value)]);
    check(user_seen($response), '', 'short session: expired');
}

done_testing();

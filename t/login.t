# Login path: the redirect to the tenant's authorization endpoint, the
# state cookie, and validation of the return target in "next".

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
my $port = vhost_port('mto_main');

# Tenant a: every endpoint from the tenant information document.
{
    my $login = start_login(host => 'a.tenants.test');
    my $response = $login->{response};
    check($response->code, 302, 'login a: status');

    my $location = URI->new($login->{location} || '');
    check($location->scheme, 'https', 'login a: endpoint scheme');
    check($location->host_port, 'forge.localhost:' . $ENV{MTO_FORGE_PORT},
          'login a: endpoint host');
    check($location->path, '/a/authorize', 'login a: endpoint path');

    my %expected = (
        response_type => 'id_token',
        response_mode => 'form_post',
        scope => 'openid',
        client_id => 'client-a',
        redirect_uri => "http://a.tenants.test:$port/hub/oauth_callback",
    );
    for my $name (sort keys %expected) {
        my $values = $login->{params}->{$name} || [];
        check(scalar @$values, 1, "login a: one $name parameter");
        check($values->[0], $expected{$name}, "login a: $name value");
    }
    for my $name (qw(state nonce)) {
        my $values = $login->{params}->{$name} || [];
        check(scalar @$values, 1, "login a: one $name parameter");
        check_like($values->[0], qr/^[A-Za-z0-9_-]{16,}$/,
                   "login a: $name is random base64url text");
    }
    my @unexpected = grep { !exists $expected{$_} && $_ ne 'state'
                            && $_ ne 'nonce' }
        sort keys %{ $login->{params} };
    check("@unexpected", '', 'login a: no other query parameters');
    check(defined $login->{state} && $login->{state} ne $login->{nonce}
          ? 1 : 0, 1, 'login a: state and nonce differ');

    # The state cookie.
    my @cookies = state_cookies($response);
    check(scalar @cookies, 1, 'login a: one state cookie');
    my $cookie = $login->{cookie} || { attributes => {} };
    check($cookie->{name}, '__Host-mto_state_' . ($login->{state} || ''),
          'state cookie: name carries the state');
    check_like($cookie->{value}, qr/^[A-Za-z0-9_-]{20,}$/,
               'state cookie: sealed base64url value');
    my $attributes = $cookie->{attributes};
    check($attributes->{path}, '/', 'state cookie: Path=/');
    check($attributes->{'max-age'}, 600, 'state cookie: Max-Age=600');
    check($attributes->{secure}, 1, 'state cookie: Secure');
    check($attributes->{httponly}, 1, 'state cookie: HttpOnly');
    check(lc($attributes->{samesite} || ''), 'none',
          'state cookie: SameSite=None');
    check(exists $attributes->{domain} ? 1 : 0, 0,
          'state cookie: no Domain attribute');
    check(index($cookie->{value} || '', $login->{nonce} || 'no nonce'), -1,
          'state cookie: nonce not in plain text');
    check(session_cookie_set($response) ? 1 : 0, 0,
          'login a: no session cookie');
}

# Every login gets its own state and nonce.
{
    my $first = start_login(host => 'a.tenants.test');
    my $second = start_login(host => 'a.tenants.test');
    check(defined $first->{state} && defined $second->{state}
          && $first->{state} ne $second->{state} ? 1 : 0, 1,
          'fresh login: new state');
    check(defined $first->{nonce} && defined $second->{nonce}
          && $first->{nonce} ne $second->{nonce} ? 1 : 0, 1,
          'fresh login: new nonce');
    check(defined $first->{cookie} && defined $second->{cookie}
          && $first->{cookie}->{value} ne $second->{cookie}->{value}
          ? 1 : 0, 1, 'fresh login: new state cookie value');
}

# Tenant b: no clientId (MTOIDCClientID applies) and no jwks_uri in its
# tenant information, so the module reads discovery.
{
    my $login = start_login(host => 'b.tenants.test');
    check($login->{response}->code, 302, 'login b: status');
    my $location = URI->new($login->{location} || '');
    check($location->path, '/b/authorize', 'login b: endpoint path');
    check(($login->{params}->{client_id} || [])->[0], 'hub-default',
          'login b: configured client_id');
    check(($login->{params}->{redirect_uri} || [])->[0],
          "http://b.tenants.test:$port/hub/oauth_callback",
          'login b: redirect_uri on the request host');
    check(defined $login->{cookie} ? 1 : 0, 1, 'login b: state cookie');
}

# The redirect_uri follows the request's own host and port.
{
    my $other_port = vhost_port('mto_plain');
    my $login = start_login(vhost => 'mto_plain', host => 'a.tenants.test',
                            login_path => '/hub/sso/login');
    check($login->{response}->code, 302, 'login mto_plain: status');
    check(($login->{params}->{redirect_uri} || [])->[0],
          "http://a.tenants.test:$other_port/hub/sso/callback",
          'login mto_plain: configured callback path and port');
    my $default_path = request(vhost => 'mto_plain', host => 'a.tenants.test',
                               path => '/hub/login');
    check($default_path->code, 200,
          'login mto_plain: default login path goes to the hub');
}

# A same-host return target is accepted.
{
    my $login = start_login(host => 'a.tenants.test', next => '/hub/spawn');
    check($login->{response}->code, 302, 'next /hub/spawn: accepted');
    check(defined $login->{cookie} ? 1 : 0, 1,
          'next /hub/spawn: state cookie set');
}

# Return targets that could leave the host, or carry control characters,
# are rejected with 400 and start no login.
my @bad_next = (
    ['//evil.example', 'protocol-relative URL'],
    ['/\\evil.example', 'slash backslash'],
    ['/hub\\..\\evil', 'backslash inside'],
    ['https://evil.example/', 'absolute URL'],
    ['hub/spawn', 'relative path without leading slash'],
    ["/hub/\r\nSet-Cookie: x=1", 'CR LF'],
    ["/hub/\x01spawn", 'control character'],
    ["/hub/\x7fspawn", 'DEL character'],
    ['/' . ('a' x 2100), 'longer than 2048 bytes'],
    ['', 'empty'],
);
for my $case (@bad_next) {
    my ($next, $label) = @$case;
    my $login = start_login(host => 'a.tenants.test', next => $next);
    my $response = $login->{response};
    check($response->code, 400, "next $label: status 400");
    check(scalar(state_cookies($response)), 0,
          "next $label: no state cookie");
    check(defined $response->header('Location') ? 1 : 0, 0,
          "next $label: no redirect");
}

# The error page escapes what it echoes.
{
    my $payload = '//"><script>alert(1)</script>';
    my $response = start_login(host => 'a.tenants.test',
                               next => $payload)->{response};
    check($response->code, 400, 'escaping: status 400');
    check_like($response->header('Content-Type') || '', qr{^text/html},
               'escaping: HTML error page');
    check(index($response->content, '<script>alert(1)</script>'), -1,
          'escaping: no raw script element');
    check(index($response->content, '"><script>'), -1,
          'escaping: no raw attribute break-out');
}

done_testing();

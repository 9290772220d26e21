# Callback path: a valid form_post signs the user in, and every hostile
# state, form or token is rejected and sets no session cookie.

use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Apache::TestRequest ();
use Apache::TestUtil;
use JSON::PP ();
use MIME::Base64 ();
use URI ();

use MTO::Test qw(:all);

Apache::TestRequest::module('mto_main');
my $port = vhost_port('mto_main');

sub check_location {
    my ($response, $label, $expected_next) = @_;
    my $location = URI->new($response->header('Location') || '',
                            'http');
    if ($location->scheme) {
        check($location->host_port, "a.tenants.test:$port",
              "$label: Location stays on the request host");
    }
    check($location->path, '/hub/login', "$label: Location is the login path");
    my %query = $location->query_form;
    check($query{next}, $expected_next, "$label: Location next");
}

sub check_no_session {
    my ($response, $label) = @_;
    check(session_cookie_set($response) ? 1 : 0, 0,
          "$label: no session cookie");
}

# A successful sign-in at tenant a.
my $success_login = start_login(host => 'a.tenants.test');
my $success_token = mint(tenant => 'a', claims => id_token_claims(
    tenant => 'a', nonce => $success_login->{nonce}));
my $success_mark = error_log_mark();
my $success = callback(host => 'a.tenants.test', login => $success_login,
                       fields => [state => $success_login->{state},
                                  id_token => $success_token]);
my $session_value;
{
    my $label = 'success';
    check($success->code, 303, "$label: status 303");
    check_location($success, $label, undef);

    my $session = session_cookie_set($success) || { attributes => {} };
    $session_value = $session->{value};
    check(defined $session_value ? 1 : 0, 1, "$label: session cookie set");
    my $attributes = $session->{attributes};
    check($attributes->{path}, '/', 'session cookie: Path=/');
    check($attributes->{'max-age'}, 28800, 'session cookie: Max-Age=28800');
    check($attributes->{secure}, 1, 'session cookie: Secure');
    check($attributes->{httponly}, 1, 'session cookie: HttpOnly');
    check(lc($attributes->{samesite} || ''), 'lax',
          'session cookie: SameSite=Lax');
    check(exists $attributes->{domain} ? 1 : 0, 0,
          'session cookie: no Domain attribute');
    check(index($session_value || '', 'alice'), -1,
          'session cookie: user name not in plain text');

    my $cleared = find_cookie($success, $success_login->{cookie}->{name})
        || { attributes => {} };
    check(defined $cleared->{name} ? 1 : 0, 1,
          "$label: state cookie named in Set-Cookie");
    check($cleared->{attributes}->{'max-age'}, 0,
          "$label: state cookie cleared with Max-Age=0");
    check($cleared->{value}, '', "$label: state cookie value emptied");
    check($cleared->{attributes}->{path}, '/',
          "$label: cleared state cookie keeps Path=/");
    check($cleared->{attributes}->{secure}, 1,
          "$label: cleared state cookie keeps Secure");
}

# The session reaches the hub with the module's headers.
{
    my $home = request(host => 'a.tenants.test', path => '/hub/home',
                       headers => [session_header($session_value || 'none')]);
    check($home->code, 200, 'session: request reaches the hub');
    my @user = echo_header_values($home, 'REMOTE_USER');
    check(scalar @user, 1, 'session: one user header');
    check($user[0], 'alice@a.tenants.test', 'session: user name');
    my @api = echo_header_values($home, 'X-Tenant-API-Base');
    check(scalar @api, 1, 'session: one API header');
    check($api[0], "http://a.tenants.test:$port/api", 'session: API base');
    check((echo_document($home) || {})->{url}, '/echo/hub/home',
          'session: hub sees the request path');

    # The login path with a valid session passes through to the hub.
    my $login = request(host => 'a.tenants.test', path => '/hub/login',
                        headers => [session_header($session_value || 'none')]);
    check($login->code, 200, 'session: login path passes through');
    check((echo_header_values($login, 'REMOTE_USER'))[0],
          'alice@a.tenants.test', 'session: login path carries the user');
}

# Nothing secret reaches the error log.
{
    my $log = error_log_since($success_mark);
    my ($header, $payload, $signature) = split /\./, $success_token;
    check(index($log, $signature), -1, 'error log: no id_token signature');
    check(index($log, $payload), -1, 'error log: no id_token payload');
    check(index($log, $session_value || 'none'), -1,
          'error log: no session cookie value');
    check(index($log, $success_login->{cookie}->{value}), -1,
          'error log: no state cookie value');
    my $all = error_log_since(0);
    check(index($all, 'mto-test-passphrase'), -1, 'error log: no passphrase');
}

# The same form and cookie a second time: each state is used once.
{
    my $replay = callback(host => 'a.tenants.test', login => $success_login,
                          fields => [state => $success_login->{state},
                                     id_token => $success_token]);
    check($replay->code, 400, 'replay: status 400');
    check_no_session($replay, 'replay');
}

# A return target given at login comes back in the 303.
{
    my $login = start_login(host => 'a.tenants.test', next => '/hub/spawn');
    my $response = callback_form(host => 'a.tenants.test', login => $login);
    check($response->code, 303, 'next: status 303');
    check_location($response, 'next', '/hub/spawn');
}

# Tenant b signs with ES256 (IEEE P1363 signatures) and publishes its keys
# only through discovery.
{
    my $login = start_login(host => 'b.tenants.test');
    my $response = callback_form(host => 'b.tenants.test', tenant => 'b',
                                 login => $login,
                                 overrides => { sub => 'bob' });
    check($response->code, 303, 'tenant b: status 303');
    my $session = session_cookie_set($response);
    check(defined $session ? 1 : 0, 1, 'tenant b: session cookie set');
    my $home = request(host => 'b.tenants.test', path => '/hub/home',
                       headers => [session_header($session ? $session->{value}
                                                           : 'none')]);
    check((echo_header_values($home, 'REMOTE_USER'))[0],
          'bob@b.tenants.test', 'tenant b: user name');
}

# State failures: 400.
{
    my $login = start_login(host => 'a.tenants.test');
    my $token = mint(tenant => 'a', claims => id_token_claims(
        tenant => 'a', nonce => $login->{nonce}));

    my $response = callback(host => 'a.tenants.test', login => $login,
                            fields => [id_token => $token]);
    check($response->code, 400, 'missing state: status 400');
    check_no_session($response, 'missing state');

    $response = callback(host => 'a.tenants.test', headers => [],
                         fields => [state => $login->{state},
                                    id_token => $token]);
    check($response->code, 400, 'state without cookie: status 400');
    check_no_session($response, 'state without cookie');

    my $other = start_login(host => 'a.tenants.test');
    $response = callback(host => 'a.tenants.test', login => $other,
                         fields => [state => $login->{state},
                                    id_token => $token]);
    check($response->code, 400, 'cookie of another state: status 400');
    check_no_session($response, 'cookie of another state');

    $response = callback(host => 'a.tenants.test',
                         headers => [['Cookie', $login->{cookie}->{name}
                                      . '=AAAA' . $login->{cookie}->{value}]],
                         fields => [state => $login->{state},
                                    id_token => $token]);
    check($response->code, 400, 'altered state cookie: status 400');
    check_no_session($response, 'altered state cookie');

    $response = callback(host => 'a.tenants.test', login => $login,
                         fields => [state => $login->{state},
                                    state => $login->{state},
                                    id_token => $token]);
    check($response->code, 400, 'duplicated state: status 400');
    check_no_session($response, 'duplicated state');

    $response = callback(host => 'a.tenants.test', login => $login,
                         fields => [state => $login->{state},
                                    id_token => $token,
                                    id_token => $token]);
    check($response->code, 400, 'duplicated id_token: status 400');
    check_no_session($response, 'duplicated id_token');

    $response = callback(host => 'a.tenants.test', login => $login,
                         fields => [state => $login->{state}]);
    check($response->code, 400, 'missing id_token: status 400');
    check_no_session($response, 'missing id_token');
}

# The token arrives only as a form_post: not in a query string, and not in
# a body of another media type.
{
    my $login = start_login(host => 'a.tenants.test');
    my $token = mint(tenant => 'a', claims => id_token_claims(
        tenant => 'a', nonce => $login->{nonce}));
    my $query = form_encode(state => $login->{state}, id_token => $token);
    my $cookie = ['Cookie', "$login->{cookie}->{name}=$login->{cookie}->{value}"];

    my $response = request(host => 'a.tenants.test',
                           path => "/hub/oauth_callback?$query",
                           headers => [$cookie]);
    check_like($response->code, qr/^[45]\d\d$/,
               'token in a GET query: error status');
    check_no_session($response, 'token in a GET query');

    $response = request(host => 'a.tenants.test', method => 'POST',
                        path => "/hub/oauth_callback?$query",
                        headers => [$cookie,
                                    ['Content-Type',
                                     'application/x-www-form-urlencoded']],
                        body => '');
    check_like($response->code, qr/^[45]\d\d$/,
               'token in a POST query: error status');
    check_no_session($response, 'token in a POST query');

    $response = request(host => 'a.tenants.test', method => 'POST',
                        path => '/hub/oauth_callback',
                        headers => [$cookie,
                                    ['Content-Type', 'application/json']],
                        body => qq({"state":"$login->{state}",)
                                . qq("id_token":"$token"}));
    check_like($response->code, qr/^[45]\d\d$/,
               'token in a JSON body: error status');
    check_no_session($response, 'token in a JSON body');
}

# Browsers may add a charset parameter to the form's media type.
{
    my $login = start_login(host => 'a.tenants.test');
    my $token = mint(tenant => 'a', claims => id_token_claims(
        tenant => 'a', nonce => $login->{nonce}));
    my $response = callback(
        host => 'a.tenants.test',
        headers => [['Content-Type',
                     'application/x-www-form-urlencoded; charset=UTF-8'],
                    ['Cookie', "$login->{cookie}->{name}="
                               . $login->{cookie}->{value}]],
        fields => [state => $login->{state}, id_token => $token]);
    check($response->code, 303, 'form with charset: status 303');
}

# A form body far larger than any id_token is rejected without a session.
{
    my $login = start_login(host => 'a.tenants.test');
    my $token = mint(tenant => 'a', claims => id_token_claims(
        tenant => 'a', nonce => $login->{nonce}));
    my $response = callback(host => 'a.tenants.test', login => $login,
                            fields => [state => $login->{state},
                                       id_token => $token,
                                       padding => 'x' x (2 * 1024 * 1024)]);
    check_like($response->code, qr/^4\d\d$/, 'oversized form: 4xx status');
    check_no_session($response, 'oversized form');
}

# A state cookie made at tenant b does not open at tenant a, even with a
# token that is valid for a.
{
    my $login_b = start_login(host => 'b.tenants.test');
    my $token = mint(tenant => 'a', claims => id_token_claims(
        tenant => 'a', nonce => $login_b->{nonce}));
    my $response = callback(host => 'a.tenants.test', login => $login_b,
                            fields => [state => $login_b->{state},
                                       id_token => $token]);
    check($response->code, 400, 'state cookie of host b at a: status 400');
    check_no_session($response, 'state cookie of host b at a');
}

# An expired state (MTOIDCStateTimeout 2 in mto_short).
{
    my $login = start_login(vhost => 'mto_short', host => 'a.tenants.test');
    check($login->{response}->code, 302, 'expired state: login starts');
    sleep 4;
    my $response = callback_form(vhost => 'mto_short',
                                 host => 'a.tenants.test', login => $login);
    check($response->code, 400, 'expired state: status 400');
    check_no_session($response, 'expired state');
}

# A provider error: no session, and the page escapes the description.
{
    my $login = start_login(host => 'a.tenants.test');
    my $response = callback(host => 'a.tenants.test', login => $login,
                            fields => [state => $login->{state},
                                       error => 'access_denied',
                                       error_description =>
                                           '<script>alert(1)</script>']);
    check_like($response->code, qr/^4\d\d$/, 'provider error: 4xx status');
    check_no_session($response, 'provider error');
    my $content = $response->content;
    check(index($content, '<script>alert(1)</script>'), -1,
          'provider error: no raw script element');
    # Echoing the description is optional, but an echo must be escaped.
    my $echo_ok = index($content, 'alert(1)') < 0
        || index($content, '&lt;script&gt;alert(1)&lt;/script&gt;') >= 0;
    check($echo_ok ? 1 : 0, 1, 'provider error: echoed text escaped');
}

# MTOIDCAlgorithms RS256 in mto_plain: tenant b's ES256 token is rejected.
{
    my $login = start_login(vhost => 'mto_plain', host => 'b.tenants.test',
                            login_path => '/hub/sso/login');
    check($login->{response}->code, 302, 'alg allowlist: login starts');
    my $response = callback_form(vhost => 'mto_plain', host => 'b.tenants.test',
                                 tenant => 'b', login => $login,
                                 callback_path => '/hub/sso/callback');
    check($response->code, 403, 'alg allowlist: ES256 rejected with 403');
    check_no_session($response, 'alg allowlist');
}

# Token failures: 403. Each case gets a fresh login.
my $attacker_jwks = forge_base() . '/attacker/jwks';
my $now = time;
my @token_cases = (
    ['bad signature', { raw_signature => 'flip' }],
    ['signature of another payload', { raw_payload => 'other' }],
    ['key not in the JWKS', { key => 'attacker' }],
    ['attacker key with the published kid',
     { key => 'attacker', header => { kid => 'a-rsa-1' } }],
    ['alg none', { key => 'none' }],
    ['alg none with a signature', { key => 'none', raw_signature => 'copy' }],
    ['HS256 keyed with the public key', { key => 'hs-public' }],
    ['alg RS256 header on an EC key',
     { tenant => 'b', login_host => 'b.tenants.test',
       header => { alg => 'RS256' } }],
    ['wrong iss', { overrides => { iss => issuer('b') } }],
    ['iss with a trailing slash', { overrides => { iss => issuer('a') . '/' } }],
    ['wrong aud', { overrides => { aud => 'another-client' } }],
    ['aud array without azp',
     { overrides => { aud => ['client-a', 'another-client'] } }],
    ['aud array with a foreign azp',
     { overrides => { aud => ['client-a', 'another-client'],
                      azp => 'another-client' } }],
    ['expired exp', { overrides => { exp => $now - 3600 } }],
    ['missing exp', { overrides => { exp => undef } }],
    ['iat in the future',
     { overrides => { iat => $now + 3600, exp => $now + 7200 } }],
    ['iat older than MTOIDCTokenMaxAge',
     { overrides => { iat => $now - 3600 } }],
    ['missing iat', { overrides => { iat => undef } }],
    ['nbf in the future', { overrides => { nbf => $now + 3600 } }],
    ['missing sub', { overrides => { sub => undef } }],
    ['empty sub', { overrides => { sub => '' } }],
    ['nonce mismatch', { overrides => { nonce => 'not-the-nonce' } }],
    ['missing nonce', { overrides => { nonce => undef } }],
    # The attacker's key set and the embedded key carry the published kid,
    # so these tokens verify if the module follows the header.
    ['jku pointing to the attacker keys',
     { key => 'attacker', header => { jku => $attacker_jwks,
                                      kid => 'a-rsa-1' } }],
    ['x5u pointing to the attacker',
     { key => 'attacker', header => { x5u => $attacker_jwks,
                                      kid => 'a-rsa-1' } }],
    ['jwk header with the attacker key',
     { key => 'attacker', header => { kid => 'a-rsa-1' }, embed_jwk => 1 }],
    ['jwk header with the attacker key and no kid',
     { key => 'attacker', header => { kid => undef }, embed_jwk => 1 }],
    ['unknown crit header', { header => { crit => ['x-unknown'],
                                          'x-unknown' => 1 } }],
    ['token of tenant b at tenant a',
     { tenant => 'b', overrides => { iss => issuer('b'),
                                     aud => 'client-a' } }],
    ['ES256 signature in DER form',
     { tenant => 'b', login_host => 'b.tenants.test',
       ec_signature => 'der' }],
);

for my $case (@token_cases) {
    my ($label, $spec) = @$case;
    my $host = $spec->{login_host} || 'a.tenants.test';
    my $login = start_login(host => $host);
    my $tenant = $spec->{tenant} || 'a';
    my $claims_tenant = $host eq 'b.tenants.test' ? 'b' : 'a';
    my $claims = id_token_claims(tenant => $claims_tenant,
                                 nonce => $login->{nonce},
                                 overrides => $spec->{overrides});
    my %request = (tenant => $tenant, claims => $claims);
    for my $name (qw(key header embed_jwk ec_signature)) {
        $request{$name} = $spec->{$name} if exists $spec->{$name};
    }

    my $token = mint(%request);
    my ($header, $payload, $signature) = split /\./, $token, -1;
    if (($spec->{raw_signature} || '') eq 'flip') {
        my $first = substr $signature, 0, 1;
        substr($signature, 0, 1) = $first eq 'A' ? 'B' : 'A';
    }
    elsif (($spec->{raw_signature} || '') eq 'copy') {
        my $signed = mint(tenant => 'a', claims => $claims);
        $signature = (split /\./, $signed)[2];
    }
    if (($spec->{raw_payload} || '') eq 'other') {
        my $other = id_token_claims(tenant => 'a', nonce => $login->{nonce},
                                    overrides => { sub => 'mallory' });
        $payload = MIME::Base64::encode_base64url(
            JSON::PP->new->canonical->encode($other));
    }
    $token = join '.', $header, $payload, $signature;

    forge_log_clear();
    my $mark = error_log_mark();
    my $response = callback(host => $host, login => $login,
                            fields => [state => $login->{state},
                                       id_token => $token]);
    check($response->code, 403, "$label: status 403");
    check_no_session($response, $label);
    my $line = wait_for_log($mark, qr/MTO\d{4}: tenant \Q$host\E: /);
    check(defined $line ? 1 : 0, 1, "$label: log line names the host");
    check(index(error_log_since($mark), $signature), -1,
          "$label: token not logged") if length $signature;
    if ($label =~ /^(jku|x5u)/) {
        check(scalar(forge_requests_for('/attacker/')), 0,
              "$label: attacker URL not fetched");
    }
}

done_testing();

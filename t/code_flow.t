# The authorization code flow with PKCE: the login's code_challenge, the
# code redeemed at the test provider's token endpoint with the login's
# code_verifier, every invalid token response, the mix-up of the two flows,
# and a confidential client's HTTP Basic credentials.

use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Apache::TestRequest ();
use Apache::TestUtil;
use Digest::SHA ();
use JSON::PP ();
use MIME::Base64 ();
use URI ();

use MTO::Test qw(:all);

Apache::TestRequest::module('mto_code');
my $port = vhost_port('mto_code');

# The client secret of the mto_code_secret virtual host.
my $secret = 'Zq9 secret:with&colon+plus%25 x';

sub param {
    my ($login, $name) = @_;
    return ($login->{params}->{$name} || [])->[0];
}

sub s256 {
    my $text = shift;
    my $challenge = MIME::Base64::encode_base64url(Digest::SHA::sha256($text));
    $challenge =~ s/=+$//;
    return $challenge;
}

# Plays the provider's authorization step for a login and returns the
# code. Options: tenant (default a), client_id, challenge (default the
# login's code_challenge), claims or overrides for the id_token, and
# token_response as the forge's POST /control/code takes it.
sub issue_code {
    my ($login, %args) = @_;
    my $tenant = $args{tenant} || 'a';
    my $claims = $args{claims}
        || id_token_claims(tenant => $tenant, nonce => $login->{nonce},
                           overrides => $args{overrides});
    my %request = (
        tenant => $tenant,
        client_id => $args{client_id} || param($login, 'client_id'),
        redirect_uri => param($login, 'redirect_uri'),
        code_challenge => $args{challenge}
            || param($login, 'code_challenge') || 'none',
        claims => $claims,
    );
    $request{token_response} = $args{token_response}
        if $args{token_response};
    return MTO::Test::forge_call('POST', '/control/code', \%request)->{code};
}

# Posts state and code for a login; fields replaces the form.
sub code_callback {
    my ($login, $code, %args) = @_;
    return callback(vhost => $args{vhost} || 'mto_code',
                    host => $args{host} || 'a.tenants.test',
                    login => $login,
                    fields => $args{fields}
                        || [state => $login->{state}, code => $code]);
}

sub token_log {
    return MTO::Test::forge_call('GET', '/log/token');
}

sub last_token_request {
    my @entries = @{ token_log() };
    return $entries[-1] || {};
}

sub code_login {
    my %args = @_;
    return start_login(vhost => $args{vhost} || 'mto_code',
                       host => $args{host} || 'a.tenants.test');
}

# The login redirect of the code flow.
{
    my $login = code_login();
    check($login->{response}->code, 302, 'code login: status');
    my $location = URI->new($login->{location} || '');
    check($location->path, '/a/authorize', 'code login: endpoint path');
    my %expected = (
        response_type => 'code',
        response_mode => 'form_post',
        scope => 'openid',
        client_id => 'client-a',
        redirect_uri => "http://a.tenants.test:$port/hub/oauth_callback",
        code_challenge_method => 'S256',
    );
    for my $name (sort keys %expected) {
        my $values = $login->{params}->{$name} || [];
        check(scalar @$values, 1, "code login: one $name parameter");
        check($values->[0], $expected{$name}, "code login: $name value");
    }
    my $challenges = $login->{params}->{code_challenge} || [];
    check(scalar @$challenges, 1, 'code login: one code_challenge');
    check_like($challenges->[0] || '', qr/^[A-Za-z0-9_-]{43}$/,
               'code login: code_challenge is 43 base64url characters');
    check_like(param($login, 'state') || '', qr/^[A-Za-z0-9_-]{16,}$/,
               'code login: state');
    check_like(param($login, 'nonce') || '', qr/^[A-Za-z0-9_-]{16,}$/,
               'code login: nonce');
    my @unexpected = grep { !exists $expected{$_} && !/^(state|nonce)$/
                            && $_ ne 'code_challenge' }
        sort keys %{ $login->{params} };
    check("@unexpected", '', 'code login: no other query parameters');
    check(defined $login->{cookie} ? 1 : 0, 1, 'code login: state cookie');

    my $second = code_login();
    my $other = param($second, 'code_challenge') || '';
    check(length $other && $other ne ($challenges->[0] || '') ? 1 : 0, 1,
          'code login: each login has its own code_challenge');
}

# A full sign-in: the code is redeemed with the login's verifier, and the
# session reaches the hub.
my $used_code;
{
    forge_log_clear();
    my $login = code_login();
    my $code = issue_code($login);
    my $mark = error_log_mark();
    my $response = code_callback($login, $code);
    check($response->code, 303, 'code sign-in: status 303');
    my $session = session_cookie_set($response);
    check(defined $session ? 1 : 0, 1, 'code sign-in: session cookie set');
    $used_code = $code;

    my $entry = last_token_request();
    check($entry->{result}, 'issued', 'code sign-in: token issued');
    check($entry->{reason}, undef, 'code sign-in: forge found no problem');
    check($entry->{client_id}, 'client-a', 'code sign-in: client_id sent');
    check($entry->{basic_user}, undef,
          'code sign-in: public client sends no Basic credentials');
    check($entry->{redirect_uri}, param($login, 'redirect_uri'),
          'code sign-in: same redirect_uri as the login');
    check($entry->{verifier_length}, 43,
          'code sign-in: verifier of 32 random bytes');
    check(scalar(@{ token_log() }), 1, 'code sign-in: one token request');

    my $home = request(vhost => 'mto_code', host => 'a.tenants.test',
                       path => '/hub/home',
                       headers => [session_header($session ? $session->{value}
                                                           : 'none')]);
    check($home->code, 200, 'code sign-in: request reaches the hub');
    check((echo_header_values($home, 'REMOTE_USER'))[0],
          'alice@a.tenants.test', 'code sign-in: user header');

    check(defined wait_for_log($mark, qr/MTO0041: tenant a\.tenants\.test: user 'alice\@a\.tenants\.test' signed in \(issuer \S+, code flow\)/)
          ? 1 : 0, 1, 'code sign-in: log names the code flow');
    my $log = error_log_since($mark);
    check(index($log, $code), -1, 'code sign-in: code not in the error log');
    check(index($log, $login->{cookie}->{value}), -1,
          'code sign-in: state cookie not in the error log');
}

# Tenant b names its token endpoint only in discovery.
{
    my $login = code_login(host => 'b.tenants.test');
    check(param($login, 'response_type'), 'code', 'code b: response_type');
    my $code = issue_code($login, tenant => 'b');
    my $response = code_callback($login, $code, host => 'b.tenants.test');
    check($response->code, 303, 'code b: status 303');
    check(last_token_request()->{tenant}, 'b',
          'code b: token endpoint of tenant b');
}

# A code whose challenge the login's verifier does not match: the forge
# rejects the verifier and logs it, and the module answers 502.
{
    my $login = code_login();
    my $code = issue_code($login, challenge => s256('x' x 43));
    my $mark = error_log_mark();
    my $response = code_callback($login, $code);
    check($response->code, 502, 'wrong verifier: status 502');
    check(session_cookie_set($response) ? 1 : 0, 0,
          'wrong verifier: no session cookie');
    my $entry = last_token_request();
    check($entry->{result}, 'rejected', 'wrong verifier: forge rejected');
    check($entry->{reason}, 'code_verifier does not match the code_challenge',
          'wrong verifier: forge names the verifier');
    check(defined wait_for_log($mark, qr/MTO0503: tenant a\.tenants\.test: .*HTTP 400 with error "invalid_grant"/)
          ? 1 : 0, 1, 'wrong verifier: log names tenant and reason');
}

# A code redeemed once already.
{
    my $login = code_login();
    my $response = code_callback($login, $used_code);
    check($response->code, 502, 'code reuse: status 502');
    check(last_token_request()->{reason}, 'code already used',
          'code reuse: forge saw the reuse');
    check(session_cookie_set($response) ? 1 : 0, 0,
          'code reuse: no session cookie');
}

# A code the provider never issued.
{
    my $login = code_login();
    my $response = code_callback($login, 'not-a-code-the-forge-issued');
    check($response->code, 502, 'unknown code: status 502');
    check(last_token_request()->{reason}, 'unknown code',
          'unknown code: forge rejected it');
}

# Token responses the module must reject, each with its log reason.
my @bad_responses = (
    [{ status => 500 }, qr/returned HTTP 500 with error "server_error"/,
     'status 500'],
    [{ body => 'this is not JSON' }, qr/is not valid JSON/, 'not JSON'],
    [{ body => '["id_token"]' }, qr/not a JSON object/, 'JSON array'],
    [{ body => '{"token_type":"Bearer","id_token":"a","id_token":"b"}' },
     qr/is not valid JSON/, 'duplicate member'],
    [{ omit_id_token => JSON::PP::true() }, qr/no string id_token/,
     'no id_token'],
    [{ body => '{"token_type":"Bearer","id_token":42}' },
     qr/no string id_token/, 'id_token not a string'],
    [{ token_type => 'MAC' }, qr/token_type other than Bearer/,
     'token_type MAC'],
    [{ body => '{"id_token":"x.y.z"}' }, qr/no string token_type/,
     'no token_type'],
);
for my $case (@bad_responses) {
    my ($change, $reason, $label) = @$case;
    my $login = code_login();
    my $code = issue_code($login, token_response => $change);
    my $mark = error_log_mark();
    my $response = code_callback($login, $code);
    check($response->code, 502, "token response $label: status 502");
    check(session_cookie_set($response) ? 1 : 0, 0,
          "token response $label: no session cookie");
    my $line = wait_for_log($mark, qr/MTO0503: tenant a\.tenants\.test:/);
    check_like($line || '', $reason, "token response $label: log reason");
}

# token_type is compared without regard to case.
{
    my $login = code_login();
    my $code = issue_code($login, token_response => { token_type => 'bearer' });
    check(code_callback($login, $code)->code, 303,
          'token_type bearer: accepted');
}

# The id_token from the token endpoint passes the same checks as a posted
# one, the nonce among them.
{
    my $login = code_login();
    my $code = issue_code($login, overrides => { nonce => 'another-nonce' });
    my $response = code_callback($login, $code);
    check($response->code, 403, 'token nonce mismatch: status 403');
    check(session_cookie_set($response) ? 1 : 0, 0,
          'token nonce mismatch: no session cookie');
    check(last_token_request()->{result}, 'issued',
          'token nonce mismatch: the forge issued the token');
}

# Mixing the flows: each state takes only its own flow's response.
{
    my $login = code_login();
    my $token = mint(tenant => 'a', claims => id_token_claims(
        tenant => 'a', nonce => $login->{nonce}));
    my $response = code_callback($login, undef,
        fields => [state => $login->{state}, id_token => $token]);
    check($response->code, 400, 'mix-up: id_token for a code login is 400');
    check(session_cookie_set($response) ? 1 : 0, 0,
          'mix-up: id_token for a code login sets no session');

    my $both = code_login();
    my $code = issue_code($both);
    my $count = scalar @{ token_log() };
    $response = code_callback($both, undef,
        fields => [state => $both->{state}, code => $code,
                   id_token => $token]);
    check($response->code, 400, 'mix-up: code and id_token together is 400');
    check(scalar @{ token_log() }, $count,
          'mix-up: no token request for a rejected form');
}
{
    my $login = start_login(vhost => 'mto_main', host => 'a.tenants.test');
    check(param($login, 'response_type'), 'id_token',
          'mix-up: mto_main logs in with the implicit flow');
    check(param($login, 'code_challenge'), undef,
          'mix-up: implicit login has no code_challenge');
    my $code = issue_code($login, challenge => s256('y' x 43));
    my $response = code_callback($login, $code, vhost => 'mto_main');
    check($response->code, 400, 'mix-up: code for an implicit login is 400');
    check(session_cookie_set($response) ? 1 : 0, 0,
          'mix-up: code for an implicit login sets no session');
}

# Malformed code forms.
{
    my $login = code_login();
    my $response = code_callback($login, undef,
                                 fields => [state => $login->{state}]);
    check($response->code, 400, 'form: missing code is 400');

    $login = code_login();
    $response = code_callback($login, undef,
        fields => [state => $login->{state}, code => 'one', code => 'two']);
    check($response->code, 400, 'form: duplicated code is 400');

    $login = code_login();
    $response = code_callback($login, undef,
        fields => [state => $login->{state}, code => "a\x01b"]);
    check($response->code, 400, 'form: control character in code is 400');

    $login = code_login();
    $response = code_callback($login, undef,
        fields => [state => $login->{state}, code => 'c' x 5000]);
    check($response->code, 400, 'form: code over 4096 bytes is 400');
}

# The tenant information chooses the flow per tenant.
{
    my $login = start_login(vhost => 'mto_main', host => 'pkce.tenants.test');
    check(param($login, 'response_type'), 'code',
          'tenant responseType code: code flow on an id_token server');
    check_like(param($login, 'code_challenge') || '', qr/^[A-Za-z0-9_-]{43}$/,
               'tenant responseType code: code_challenge');
    my $code = issue_code($login);
    my $response = code_callback($login, $code, vhost => 'mto_main',
                                 host => 'pkce.tenants.test');
    check($response->code, 303, 'tenant responseType code: signed in');

    $login = code_login(host => 'implicit.tenants.test');
    check(param($login, 'response_type'), 'id_token',
          'tenant responseType id_token: implicit flow on a code server');
    check(param($login, 'code_challenge'), undef,
          'tenant responseType id_token: no code_challenge');

    my $mark = error_log_mark();
    $login = code_login(host => 'badflow.tenants.test');
    check($login->{response}->code, 502,
          'tenant responseType token: login fails with 502');
    check(defined wait_for_log($mark, qr/"responseType" is not/) ? 1 : 0, 1,
          'tenant responseType token: log names the member');
}

# A tenant without a token endpoint cannot use the code flow.
{
    my $mark = error_log_mark();
    my $login = code_login(host => 'c.tenants.test');
    check($login->{response}->code, 502, 'no token endpoint: status 502');
    check(scalar(state_cookies($login->{response})), 0,
          'no token endpoint: no state cookie');
    check(defined wait_for_log($mark, qr/MTO0510: tenant c\.tenants\.test: .*token endpoint/)
          ? 1 : 0, 1, 'no token endpoint: log line');
}

# A confidential client sends its form-encoded secret with HTTP Basic.
{
    my $claims_for = sub {
        my $login = shift;
        return id_token_claims(tenant => 'b', nonce => $login->{nonce},
                               overrides => { aud => 'hub-confidential' });
    };
    my $mark = error_log_mark();
    my $login = code_login(vhost => 'mto_code_secret',
                           host => 'b.tenants.test');
    check(param($login, 'client_id'), 'hub-confidential',
          'confidential: client_id');
    my $code = issue_code($login, tenant => 'b',
                          claims => $claims_for->($login));
    my $response = code_callback($login, $code, vhost => 'mto_code_secret',
                                 host => 'b.tenants.test');
    check($response->code, 303, 'confidential: status 303');
    my $entry = last_token_request();
    check($entry->{result}, 'issued', 'confidential: forge accepted Basic');
    check($entry->{basic_user}, 'hub-confidential',
          'confidential: Basic user is the client_id');

    # A failure on the same server, so the log has lines of both kinds.
    $login = code_login(vhost => 'mto_code_secret', host => 'b.tenants.test');
    $response = code_callback($login, 'unknown', vhost => 'mto_code_secret',
                              host => 'b.tenants.test');
    check($response->code, 502, 'confidential: unknown code is 502');
    wait_for_log($mark, qr/MTO0503: tenant b\.tenants\.test:/);

    my $all = error_log_since(0);
    check(index($all, $secret), -1, 'error log: no client secret');
    (my $encoded = $secret) =~ s/([^A-Za-z0-9._*-])/
        $1 eq ' ' ? '+' : sprintf('%%%02X', ord $1)/ge;
    check(index($all, $encoded), -1, 'error log: no encoded client secret');
    check(index($all, 'secret:with'), -1, 'error log: no part of the secret');
}

done_testing();

# Validation rules of the callback that t/callback.t does not cover: the
# JOSE header, key selection against hostile key sets, claim types and
# formats, duplicate JSON members, token shape and size, user names, state
# replay from another browser, and header members that name keys.
#
# Every case runs a real login and callback, then a follow-up request with
# the cookies the browser holds. A rejected case must set no session and
# bring no identity header to the hub; an accepted case must bring the
# expected user.

use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Apache::TestRequest ();
use Apache::TestUtil;
use JSON::PP ();
use MIME::Base64 qw(encode_base64url);

use MTO::Test qw(:all);

Apache::TestRequest::module('mto_main');

my $json = JSON::PP->new->canonical;
my $now = time;

sub read_file {
    my $path = shift;
    open my $file, '<', $path or die "cannot read $path: $!\n";
    local $/;
    my $text = <$file>;
    close $file;
    return $text;
}

# The test provider's TLS certificate and key (EC P-256): a real
# certificate chain for the x5c header, and the key that signs with it.
my $pki = $ENV{MTO_PKI_DIR} or die "MTO_PKI_DIR is not set\n";
my $forge_key_pem = read_file("$pki/forge.key");
my ($forge_cert_base64) = read_file("$pki/forge.pem")
    =~ /-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----/s;
$forge_cert_base64 =~ s/\s+//g;

# Header URLs that no test serves: a request for them in the provider's log
# would mean the module followed the header.
my $header_url = forge_base() . '/validation';

# Builds the id_token of one case for a login. A case may set:
#   tenant       provider that signs (default a)
#   overrides    claim overrides for id_token_claims (undef removes one)
#   claims       code ref that edits the claims hash last
#   header, embed_jwk, private_key_pem   passed to the provider's mint
#   raw          code ref (claims) returning {header, payload} segments
#   alter        code ref (token) returning the token to post
sub case_token {
    my ($case, $login) = @_;
    my $tenant = $case->{tenant} || 'a';
    my $claims = id_token_claims(tenant => $tenant, nonce => $login->{nonce},
                                 overrides => $case->{overrides});
    $case->{claims}->($claims) if $case->{claims};
    my %request = (tenant => $tenant, claims => $claims);
    for my $name (qw(header embed_jwk private_key_pem)) {
        $request{$name} = $case->{$name} if exists $case->{$name};
    }
    $request{raw} = $case->{raw}->($claims) if $case->{raw};
    my $token = mint(%request);
    return $case->{alter} ? $case->{alter}->($token) : $token;
}

sub run_case {
    my $case = shift;
    my $tenant = $case->{tenant} || 'a';
    return browser_login(vhost => $case->{vhost},
                         host => $case->{host} || "$tenant.tenants.test",
                         token => sub { case_token($case, shift) });
}

sub check_rejected {
    my ($result, $label, $status, $reason, $mark) = @_;
    my $follow_up = $result->{follow_up};
    check($result->{response}->code, $status, "$label: status $status");
    check(session_cookie_set($result->{response}) ? 1 : 0, 0,
          "$label: no session cookie set");
    check(exists $result->{jar}->{'__Host-mto_session'} ? 1 : 0, 0,
          "$label: browser holds no session cookie");
    check($follow_up->code, 200, "$label: follow-up reaches the hub");
    check(scalar(echo_header_values($follow_up, 'REMOTE_USER')), 0,
          "$label: follow-up has no user header");
    check(scalar(echo_header_values($follow_up, 'X-Tenant-API-Base')), 0,
          "$label: follow-up has no API header");
    my $line = wait_for_log($mark, qr/callback rejected/);
    check_like(defined $line ? $line : '', $reason,
               "$label: log names the reason");
    my $signature = (split /\./, $result->{token})[2];
    if (defined $signature && length $signature > 16) {
        check(index(error_log_since($mark), $signature), -1,
              "$label: token not logged");
    }
}

sub check_accepted {
    my ($result, $label, $user) = @_;
    check($result->{response}->code, 303, "$label: status 303");
    check(session_cookie_set($result->{response}) ? 1 : 0, 1,
          "$label: session cookie set");
    check(join(',', echo_header_values($result->{follow_up}, 'REMOTE_USER')),
          $user, "$label: follow-up carries the user");
}

# Encodes a JSON text as a token segment.
sub segment { encode_base64url(shift) }

# A payload with a second "sub" member after the signed one.
sub payload_with_duplicate_sub {
    my $claims = shift;
    my $text = $json->encode($claims);
    $text =~ s/\}\z/,"sub":"admin"}/;
    return $text;
}

# [label, expected status, case, error log pattern (rejected) or user
# (accepted)]. Cases that t/callback.t covers already are not repeated:
# an unknown crit name, alg RS256 on an EC key, iat older than
# MTOIDCTokenMaxAge, nbf in the future, aud with several values and no
# azp, and jku, x5u or jwk naming the attacker's key.
my @cases = (
    # JOSE header.
    ['crit empty array', 403, { header => { crit => [] } },
     qr/"crit" is not a non-empty array/],
    ['crit not an array', 403, { header => { crit => 'exp' } },
     qr/"crit" is not a non-empty array/],
    ['alg ES256 header on an RSA key', 403, { header => { alg => 'ES256' } },
     qr/key 'a-rsa-1' \(kty RSA\) does not fit alg ES256/],

    # Key entries whose alg, use or key_ops forbid RS256 verification.
    # Tenant keyrules publishes its one signing key under each of these
    # kids, so a token naming them would verify without the checks.
    ['RS256 token, key alg PS256', 403,
     { tenant => 'keyrules', header => { kid => 'keyrules-ps256' } },
     qr/key 'keyrules-ps256' has alg 'PS256', not the token's alg 'RS256'/],
    ['RS256 token, RSA key alg ES256', 403,
     { tenant => 'keyrules', header => { kid => 'keyrules-es256' } },
     qr/kid 'keyrules-es256' names no key|refreshed too recently/],
    ['RS256 token, key use enc', 403,
     { tenant => 'keyrules', header => { kid => 'keyrules-enc' } },
     qr/kid 'keyrules-enc' names no key|refreshed too recently/],
    ['RS256 token, key_ops without verify', 403,
     { tenant => 'keyrules', header => { kid => 'keyrules-encrypt-ops' } },
     qr/kid 'keyrules-encrypt-ops' names no key|refreshed too recently/],

    # NumericDate claims must be JSON numbers.
    (map {
        my ($name, $type, $value) = @$_;
        ["$name as $type", 403,
         { claims => sub { $_[0]->{$name} = $value } },
         qr/claim "$name" is not a number/];
    } (['exp', 'a string', '' . ($now + 300)],
       ['exp', 'a boolean', JSON::PP::true],
       ['exp', 'null', undef],
       ['iat', 'a string', '' . $now],
       ['iat', 'a boolean', JSON::PP::false],
       ['iat', 'null', undef],
       ['nbf', 'a string', '' . ($now - 10)])),

    # Duplicate member names: the signature covers the bytes, so only the
    # duplicate can cause the rejection.
    ['duplicate alg in the header', 403,
     { raw => sub {
         return { header => segment('{"alg":"RS256","typ":"JWT",'
                                    . '"kid":"a-rsa-1","alg":"none"}') };
     } },
     qr/id_token header is not valid JSON: duplicate object key/],
    ['duplicate sub in the payload', 403,
     { raw => sub {
         return { payload => segment(payload_with_duplicate_sub(@_)) };
     } },
     qr/id_token payload is not valid JSON: duplicate object key/],

    # Shape and size.
    ['JWE-shaped token of 5 parts', 403,
     { alter => sub {
         join '.', segment('{"alg":"RSA-OAEP","enc":"A256GCM"}'),
             'AAAA', 'AAAAAAAAAAAAAAAA', 'AAAA', 'AAAAAAAAAAAAAAAAAAAAAA' } },
     qr/has 5 parts, not the 3 of a compact JWS \(encrypted JWE/],
    # The form body limit of 64 KiB rejects the request before the token
    # is read, with 413.
    ['token over 64 KiB', 413,
     { claims => sub { $_[0]->{padding} = 'x' x (70 * 1024) } },
     qr/form body too large/],

    # User names from "sub" with the default format {claim}@{host}.
    ['user name with a control character', 403,
     { overrides => { sub => "ali\x01ce" } },
     qr/claim sub gives a user name with characters outside/],
    ['user name with a comma', 403,
     { overrides => { sub => 'alice,admin' } },
     qr/claim sub gives a user name with characters outside/],
    ['user name with a space', 403,
     { overrides => { sub => 'alice admin' } },
     qr/claim sub gives a user name with characters outside/],
    ['user name with a non-ASCII letter', 403,
     { overrides => { sub => "j\x{f6}rg" } },
     qr/claim sub gives a user name with characters outside/],
    # 114 bytes of sub and "@a.tenants.test" make 129 bytes.
    ['user name of 129 bytes', 403,
     { overrides => { sub => 'u' x 114 } },
     qr/or longer than 128 bytes/],

    # User names from preferred_username (virtual host mto_claim).
    ['preferred_username empty', 403,
     { vhost => 'mto_claim', overrides => { preferred_username => '' } },
     qr/claim preferred_username gives a user name/],
    ['preferred_username missing', 403,
     { vhost => 'mto_claim' },
     qr/claim preferred_username is missing or not a string/],
    ['preferred_username with a comma', 403,
     { vhost => 'mto_claim',
       overrides => { preferred_username => 'carol,admin' } },
     qr/claim preferred_username gives a user name with characters/],
);

# Cases that must pass: each proves that a rule above rejects for its own
# reason and not for the way the test builds the token.
my @accepted = (
    ['keyrules signing key', { tenant => 'keyrules' },
     'alice@keyrules.tenants.test'],
    ['fractional exp, iat and nbf',
     { overrides => { exp => $now + 300.5, iat => $now - 0.25,
                      nbf => $now - 10.75 } },
     'alice@a.tenants.test'],
    ['aud array with azp',
     { overrides => { aud => ['client-a', 'another-client'],
                      azp => 'client-a' } },
     'alice@a.tenants.test'],
    ['raw header and payload without duplicates',
     { raw => sub {
         return {
             header => segment('{"alg":"RS256","typ":"JWT","kid":"a-rsa-1"}'),
             payload => segment($json->encode(shift)),
         };
     } },
     'alice@a.tenants.test'],
    ['user name of 128 bytes', { overrides => { sub => 'u' x 113 } },
     ('u' x 113) . '@a.tenants.test'],
    ['user name with every allowed sign',
     { overrides => { sub => 'Al.ice_9@x+y-z' } },
     'Al.ice_9@x+y-z@a.tenants.test'],
    ['preferred_username',
     { vhost => 'mto_claim',
       overrides => { preferred_username => 'carol.smith+hub' } },
     'carol.smith+hub@a.tenants.test'],
);

# Tenant keyrules: its first JWKS fetch logs each skipped entry.
{
    my $mark = error_log_mark();
    my ($label, $case, $user) = @{ shift @accepted };
    check_accepted(run_case($case), $label, $user);
    my $log = error_log_since($mark);
    for my $skipped (['keyrules-es256', qr/alg 'ES256' does not fit kty 'RSA'/],
                     ['keyrules-enc', qr/use 'enc' is not 'sig'/],
                     ['keyrules-encrypt-ops',
                      qr/"key_ops" does not contain 'verify'/]) {
        my ($kid, $reason) = @$skipped;
        check_like($log, qr/\(kid '\Q$kid\E'\) skipped: $reason/,
                   "keyrules: log names skipped key $kid");
    }
    check(index($log, "(kid 'keyrules-ps256') skipped"), -1,
          'keyrules: key with alg PS256 is kept');
}

for my $entry (@cases) {
    my ($label, $status, $case, $reason) = @$entry;
    my $mark = error_log_mark();
    check_rejected(run_case($case), $label, $status, $reason, $mark);
}

for my $entry (@accepted) {
    my ($label, $case, $user) = @$entry;
    check_accepted(run_case($case), $label, $user);
}

# A JWKS with one entry that cannot be imported, before the good key:
# the good key still verifies, with or without a kid in the token, and the
# error log names the skipped entry.
{
    my $label = 'JWKS with an unparsable entry';
    my $mark = error_log_mark();
    check_accepted(run_case({ tenant => 'partial' }), "$label: kid",
                   'alice@partial.tenants.test');
    my $skipped = "JWKS key 0 (kid 'partial-broken') skipped: RSA key "
                  . 'needs "n" and "e" as base64url strings without padding';
    check_like(error_log_since($mark), qr/\Q$skipped\E/,
               "$label: log names the skipped entry");
    check_accepted(run_case({ tenant => 'partial',
                              header => { kid => undef } }),
                   "$label: no kid", 'alice@partial.tenants.test');
}

# The algorithms accepted for a tenant are the configured ones that its
# provider also advertises in discovery: tenant advertised signs with
# RS256 but advertises only ES256, so its RS256 tokens are rejected.
{
    my $label = 'alg not advertised by the provider';
    my $mark = error_log_mark();
    check_rejected(run_case({ tenant => 'advertised' }), $label, 403,
                   qr/alg 'RS256' is not one of the allowed algorithms 'ES256'/,
                   $mark);
}

# jku, x5u, x5c and jwk never name the verification key and never cause a
# fetch: a token of the provider's key with all four is accepted, and one
# signed by the key of the certificate in x5c is rejected.
{
    my $label = 'key headers ignored';
    forge_log_clear();
    my $result = run_case({
        header => { jku => "$header_url/jku-good",
                    x5u => "$header_url/x5u-good",
                    x5c => [$forge_cert_base64] },
        embed_jwk => JSON::PP::true,
    });
    check_accepted($result, "$label: provider key", 'alice@a.tenants.test');

    $label = 'x5c of the signing certificate';
    my $mark = error_log_mark();
    $result = run_case({
        tenant => 'b',
        header => { x5c => [$forge_cert_base64],
                    x5u => "$header_url/x5u-forged",
                    jku => "$header_url/jku-forged" },
        private_key_pem => $forge_key_pem,
    });
    check_rejected($result, $label, 403,
                   qr/signature verification failed with key 'b-ec-1'/, $mark);
    my @fetched = forge_requests_for('/validation/');
    check(scalar @fetched, 0, 'key headers: no URL of jku or x5u fetched');
}

# A used state replayed from a second browser: the same form and state
# cookie, but other cookies of its own. The used-state record in the
# shared cache rejects it.
{
    my $label = 'state replayed from a second browser';
    my $first = run_case({});
    check_accepted($first, "$label: first browser", 'alice@a.tenants.test');

    my $login = $first->{login};
    my %second = ('jupyterhub-session-id' => 'second-browser',
                  $login->{cookie}->{name} => $login->{cookie}->{value});
    my $mark = error_log_mark();
    my $replay = callback(host => 'a.tenants.test',
                          headers => [browser_cookie_header(\%second)],
                          fields => [state => $login->{state},
                                     id_token => $first->{token}]);
    browser_store(\%second, $replay);
    my $follow_up = request(host => 'a.tenants.test', path => '/hub/home',
                            headers => [browser_cookie_header(\%second)]);
    check_rejected({ response => $replay, follow_up => $follow_up,
                     jar => \%second, token => $first->{token} },
                   $label, 400,
                   qr/state not found in the shared cache: already used/,
                   $mark);
}

# A cookie name sent twice may be one planted next to the real cookie, so
# the module reads neither copy: a doubled state cookie rejects the
# callback, and a doubled session cookie signs nobody in.
{
    my $label = 'state cookie sent twice';
    my $login = start_login(host => 'a.tenants.test');
    my $cookie = "$login->{cookie}->{name}=$login->{cookie}->{value}";
    my $token = mint(tenant => 'a', claims => id_token_claims(
        tenant => 'a', nonce => $login->{nonce}));
    my $response = callback(host => 'a.tenants.test',
                            headers => [['Cookie', "$cookie; $cookie"]],
                            fields => [state => $login->{state},
                                       id_token => $token]);
    check($response->code, 400, "$label: status 400");
    check(session_cookie_set($response) ? 1 : 0, 0,
          "$label: no session cookie set");

    $label = 'session cookie sent twice';
    my $session = sign_in(tenant => 'a', sub => 'alice')->{session};
    check(defined $session ? 1 : 0, 1, "$label: signed in");
    $session = 'missing' unless defined $session;
    my $single = request(host => 'a.tenants.test', path => '/hub/home',
                         headers => [session_header($session)]);
    check(join(',', echo_header_values($single, 'REMOTE_USER')),
          'alice@a.tenants.test', "$label: one copy signs in");
    my $doubled = request(host => 'a.tenants.test', path => '/hub/home',
                          headers => [session_header($session),
                                      session_header($session)]);
    check($doubled->code, 200, "$label: request reaches the hub");
    check(scalar(echo_header_values($doubled, 'REMOTE_USER')), 0,
          "$label: no user header");
}

done_testing();

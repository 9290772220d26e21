# The ID token cases of the OpenID Foundation's relying-party
# certification, under that certification's test names ("rp-id_token-*",
# "rp-nonce-invalid", "rp-key-rotation-op-sign-key"). Each runs through the
# real login and callback with a token minted by the test provider.
#
# A rejected case must answer 403, set no session cookie, and leave the
# browser with cookies that bring no identity to the hub: a follow-up
# request with whatever cookies the browser holds reaches the echo backend
# without the user or API header. An accepted case must set a session that
# brings the expected user to the hub.

use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Apache::TestRequest ();
use Apache::TestUtil;
use MIME::Base64 qw(decode_base64url encode_base64url);

use MTO::Test qw(:all);

Apache::TestRequest::module('mto_main');

# Returns the token with one bit of its signature flipped, so the
# signature keeps its length and canonical base64url form.
sub flip_signature_bit {
    my $token = shift;
    my ($header, $payload, $signature) = split /\./, $token, -1;
    my $bytes = decode_base64url($signature);
    my $middle = int(length($bytes) / 2);
    substr($bytes, $middle, 1) = chr(ord(substr($bytes, $middle, 1)) ^ 0x01);
    return join '.', $header, $payload, encode_base64url($bytes);
}

# Counts the provider's JWKS requests for a tenant since the last clear.
sub jwks_fetches {
    my $tenant = shift;
    return scalar grep { $_->{path} eq "/$tenant/jwks" } @{ forge_log() };
}

# Runs one login and callback at tenant's host with a token minted from
# the case, then a follow-up request with the browser's cookies.
sub run_case {
    my %case = @_;
    my $tenant = $case{tenant};
    return browser_login(host => "$tenant.tenants.test", token => sub {
        my $login = shift;
        my $claims = id_token_claims(tenant => $tenant,
                                     nonce => $login->{nonce},
                                     overrides => $case{overrides});
        my %mint_request = (tenant => $tenant, claims => $claims);
        $mint_request{header} = $case{header} if $case{header};
        my $token = mint(%mint_request);
        return $case{alter} ? $case{alter}->($token) : $token;
    });
}

sub check_rejected {
    my ($result, $label, $reason) = @_;
    my $response = $result->{response};
    check($response->code, 403, "$label: status 403");
    check(session_cookie_set($response) ? 1 : 0, 0,
          "$label: no session cookie set");
    check(exists $result->{jar}->{'__Host-mto_session'} ? 1 : 0, 0,
          "$label: browser holds no session cookie");
    check($result->{follow_up}->code, 200,
          "$label: follow-up reaches the hub");
    check(scalar(echo_header_values($result->{follow_up}, 'REMOTE_USER')), 0,
          "$label: follow-up has no user header");
    check(scalar(echo_header_values($result->{follow_up},
                                    'X-Tenant-API-Base')), 0,
          "$label: follow-up has no API header");
    check_like($result->{log}, $reason, "$label: log names the reason");
}

sub check_accepted {
    my ($result, $label, $user) = @_;
    check($result->{response}->code, 303, "$label: status 303");
    check(session_cookie_set($result->{response}) ? 1 : 0, 1,
          "$label: session cookie set");
    check($result->{follow_up}->code, 200,
          "$label: follow-up reaches the hub");
    check(join(',', echo_header_values($result->{follow_up}, 'REMOTE_USER')),
          $user, "$label: follow-up carries the user");
}

my $other_issuer = issuer('b');

# [certification test, expected outcome, case, error log pattern or user]
# Tenants single and multikey publish one and two RSA keys.
my @cases = (
    ['rp-id_token-bad-sig-rs256', 'reject',
     { tenant => 'a', alter => \&flip_signature_bit },
     qr/signature verification failed with key 'a-rsa-1' \(alg RS256\)/],
    ['rp-id_token-bad-sig-es256', 'reject',
     { tenant => 'b', alter => \&flip_signature_bit },
     qr/signature verification failed with key 'b-ec-1' \(alg ES256\)/],
    ['rp-id_token-issuer-mismatch', 'reject',
     { tenant => 'a', overrides => { iss => $other_issuer } },
     qr/claim iss '\Q$other_issuer\E' is not the expected issuer/],
    ['rp-id_token-aud', 'reject',
     { tenant => 'a', overrides => { aud => 'another-client' } },
     qr/claim aud 'another-client' does not contain the client_id/],
    ['rp-id_token-iat', 'reject',
     { tenant => 'a', overrides => { iat => undef } },
     qr/claim "iat" is missing/],
    ['rp-id_token-sub', 'reject',
     { tenant => 'a', overrides => { sub => undef } },
     qr/claim "sub" is missing/],
    ['rp-id_token-kid-absent-single-jwks', 'accept',
     { tenant => 'single', header => { kid => undef } },
     'alice@single.tenants.test'],
    # Several keys fit RS256 and the token names none: the module rejects
    # instead of trying each key, a documented choice.
    ['rp-id_token-kid-absent-multiple-jwks', 'reject',
     { tenant => 'multikey', header => { kid => undef } },
     qr/no kid and 2 keys of the JWKS fit alg RS256/],
    ['rp-nonce-invalid', 'reject',
     { tenant => 'a', overrides => { nonce => 'not-the-nonce-of-this-login' } },
     qr/claim "nonce" does not match/],
);

for my $entry (@cases) {
    my ($label, $outcome, $case, $expected) = @$entry;
    my $mark = error_log_mark();
    my $result = run_case(%$case);
    if ($outcome eq 'accept') {
        check_accepted($result, $label, $expected);
        next;
    }
    my $line = wait_for_log($mark, qr/callback rejected/);
    $result->{log} = defined $line ? $line : '';
    check_rejected($result, $label, $expected);
    check(index(error_log_since($mark), (split /\./, $result->{token})[2]),
          -1, "$label: token not logged");
}

# rp-key-rotation-op-sign-key: the provider replaces its signing key and
# drops the old one from its JWKS. The next login, whose token names the
# new kid, works in the same httpd through one JWKS refetch.
{
    my $label = 'rp-key-rotation-op-sign-key';
    my $first = run_case(tenant => 'rotating');
    check_accepted($first, "$label: first key", 'alice@rotating.tenants.test');

    my $kid = forge_rotate('rotating', drop_previous => 1);
    check($kid, 'rotating-rsa-2', "$label: provider has a new kid");
    forge_log_clear();
    my $second = run_case(tenant => 'rotating');
    check_accepted($second, "$label: new key", 'alice@rotating.tenants.test');
    check(jwks_fetches('rotating'), 1, "$label: JWKS refetched once");

    # The old key left the provider's JWKS and the cached copy: a token
    # that still names it cannot be verified now.
    my $mark = error_log_mark();
    my $old = run_case(tenant => 'rotating',
                       header => { kid => 'rotating-rsa-1' });
    my $line = wait_for_log($mark, qr/callback rejected/);
    $old->{log} = defined $line ? $line : '';
    check_rejected($old, "$label: old kid",
                   qr/names no key of the JWKS|refreshed too recently/);
}

done_testing();

# Signing keys: a key rotated in at the provider is fetched on its first
# use, and tokens with unknown key ids refresh the JWKS at most once per
# MTOIDCKeyRefreshInterval.

use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Apache::TestRequest ();
use Apache::TestUtil;

use MTO::Test qw(:all);

Apache::TestRequest::module('mto_main');

sub jwks_fetches {
    my $tenant = shift;
    return scalar grep { $_->{path} eq "/$tenant/jwks" } @{ forge_log() };
}

# Rotation, in mto_short (MTOIDCKeyRefreshInterval 1): tenant c only.
{
    my $first = sign_in(vhost => 'mto_short', tenant => 'c', sub => 'erin');
    check($first->{response}->code, 303, 'rotation: first key signs in');

    my $kid = forge_rotate('c');
    check($kid, 'c-rsa-2', 'rotation: provider has a new key');
    sleep 2;
    forge_log_clear();

    my $second = sign_in(vhost => 'mto_short', tenant => 'c', sub => 'erin');
    check($second->{response}->code, 303, 'rotation: new key signs in');
    check(defined $second->{session} ? 1 : 0, 1,
          'rotation: session cookie set');
    check(jwks_fetches('c'), 1, 'rotation: JWKS fetched once');
}

# Refresh limit, in mto_main (default MTOIDCKeyRefreshInterval 60):
# tenant d only.
{
    my $first = sign_in(tenant => 'd', sub => 'frank');
    check($first->{response}->code, 303, 'refresh limit: tenant d signs in');
    forge_log_clear();

    for my $attempt (1 .. 4) {
        my $login = start_login(host => 'd.tenants.test');
        my $response = callback_form(
            host => 'd.tenants.test', tenant => 'd', login => $login,
            key => 'attacker', header => { kid => "unknown-kid-$attempt" });
        check($response->code, 403, "refresh limit: unknown kid $attempt 403");
        check(session_cookie_set($response) ? 1 : 0, 0,
              "refresh limit: unknown kid $attempt no session");
    }
    my $fetches = jwks_fetches('d');
    check($fetches <= 1 ? 1 : 0, 1,
          "refresh limit: at most one JWKS fetch (saw $fetches)");
}

done_testing();

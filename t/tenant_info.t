# Tenant resolution failures: each gets the documented status, an HTML
# error page, no state cookie, and one error log line naming the host.

use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Apache::TestRequest ();
use Apache::TestUtil;
use Time::HiRes ();

use MTO::Test qw(:all);

Apache::TestRequest::module('mto_main');

# [host, virtual host, expected status, what the provider does]
my @cases = (
    ['malformed.tenants.test', 'mto_main', 502, 'malformed JSON'],
    ['missing.tenants.test', 'mto_main', 502, 'tenant not found (404)'],
    ['foreign.tenants.test', 'mto_main', 502, 'issuer not allowlisted'],
    ['plainissuer.tenants.test', 'mto_main', 502, 'http issuer'],
    ['huge.tenants.test', 'mto_main', 502, 'body over the size cap'],
    ['redirect.tenants.test', 'mto_main', 502, 'redirect'],
    ['wrongdisc.tenants.test', 'mto_main', 502,
     'discovery names another issuer'],
    ['closed.tenants.test', 'mto_closed', 503, 'closed port'],
    ['slow.tenants.test', 'mto_short', 503, 'no answer (timeout)'],
);

# Checks of the provider's request log after a case: the failures come
# from the module's checks, not from a test tenant that was never fetched.
my %log_checks = (
    'malformed JSON' => sub {
        my $log = shift;
        check(scalar(grep { $_->{path} eq '/info/malformed.tenants.test' }
                     @$log) >= 1 ? 1 : 0, 1,
              'malformed JSON: tenant information was fetched');
    },
    'issuer not allowlisted' => sub {
        my $log = shift;
        check(scalar(grep { $_->{host} =~ /^attacker\./ } @$log), 0,
              'issuer not allowlisted: nothing fetched from it');
    },
    'redirect' => sub {
        my $log = shift;
        check(scalar(grep { $_->{path} eq '/info/redirect.tenants.test' }
                     @$log) >= 1 ? 1 : 0, 1,
              'redirect: tenant information was fetched');
        check(scalar(grep { $_->{path} eq '/info/a.tenants.test' } @$log), 0,
              'redirect: Location not followed');
    },
    'discovery names another issuer' => sub {
        my $log = shift;
        check(scalar(grep { $_->{path} eq
                            '/wrongdisc/.well-known/openid-configuration' }
                     @$log) >= 1 ? 1 : 0, 1,
              'discovery names another issuer: discovery was fetched');
        check(scalar(grep { $_->{path} =~ m{^/wrongdisc/jwks} } @$log), 0,
              'discovery names another issuer: its jwks_uri not fetched');
    },
);

for my $case (@cases) {
    my ($host, $vhost, $status, $label) = @$case;
    forge_log_clear();
    my $mark = error_log_mark();
    my $started = Time::HiRes::time();
    my $response = request(vhost => $vhost, host => $host,
                           path => '/hub/login');
    my $elapsed = Time::HiRes::time() - $started;

    check($response->code, $status, "$label: status $status");
    check_like($response->header('Content-Type') || '', qr{^text/html},
               "$label: HTML error page");
    check(scalar(state_cookies($response)), 0, "$label: no state cookie");
    check(defined $response->header('Location') ? 1 : 0, 0,
          "$label: no redirect");
    my $line = wait_for_log($mark, qr/MTO\d{4}: tenant \Q$host\E: \S/);
    check(defined $line ? 1 : 0, 1, "$label: error log line names $host");
    if ($label =~ /timeout/) {
        # MTOIDCBackChannelTimeout 1 2 in mto_short.
        check($elapsed < 5 ? 1 : 0, 1,
              sprintf('%s: answered within 5 s (took %.1f s)',
                      $label, $elapsed));
    }
    $log_checks{$label}->(forge_log()) if $log_checks{$label};

    # A second request gets the same status, from a fresh fetch or from a
    # cached failure, never a login.
    $response = request(vhost => $vhost, host => $host, path => '/hub/login');
    check($response->code, $status, "$label: same status again");
}

done_testing();

# Counters: the metrics handler prints server-wide counters in the
# Prometheus text format, and each event moves exactly its own counter.

use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Apache::TestRequest ();
use Apache::TestUtil;

use MTO::Test qw(:all);

my $run = sprintf '%x%x', $$, time;

Apache::TestRequest::module('mto_main');

# Returns the counters as a hash of "name{labels}" to value.
sub counters {
    my $response = request(host => 'a.tenants.test', path => '/mto-metrics');
    my %values;
    for my $line (split /\n/, $response->content) {
        next if $line =~ /^#/;
        $values{$1} = $2 if $line =~ /^(\S+) (\d+)$/;
    }
    return ($response, \%values);
}

sub delta {
    my ($before, $after, $name) = @_;
    return ($after->{$name} // -1) - ($before->{$name} // 0);
}

my ($response, $start) = counters();
check($response->code, 200, 'metrics: status');
check_like($response->header('Content-Type') // '', qr{^text/plain},
           'metrics: content type');
for my $name ('mto_logins_total{result="redirected"}',
              'mto_callbacks_total{result="accepted"}',
              'mto_callbacks_total{result="rejected"}',
              'mto_session_cookies_total{result="accepted"}',
              'mto_session_cookies_total{result="rejected"}',
              'mto_identity_headers_removed_total',
              'mto_backchannel_requests_total{result="completed"}',
              'mto_backchannel_requests_total{result="failed"}') {
    check(exists $start->{$name} ? 1 : 0, 1, "metrics: $name listed");
}

# One complete sign-in: one login redirect, one accepted callback.
my $session = sign_in(tenant => 'a', sub => 'counted')->{session};
check(defined $session ? 1 : 0, 1, 'signed in at a');
my (undef, $after_login) = counters();
check(delta($start, $after_login, 'mto_logins_total{result="redirected"}'),
      1, 'sign-in: one login redirect counted');
check(delta($start, $after_login, 'mto_callbacks_total{result="accepted"}'),
      1, 'sign-in: one accepted callback counted');
check(delta($start, $after_login, 'mto_callbacks_total{result="rejected"}'),
      0, 'sign-in: no rejected callback counted');

# A valid and an altered session cookie, and a forged identity header.
request(host => 'a.tenants.test', path => '/hub/home',
        headers => [session_header($session // 'missing')]);
request(host => 'a.tenants.test', path => '/hub/home',
        headers => [session_header('AAAA' . ($session // ''))]);
request(host => 'a.tenants.test', path => '/hub/home',
        headers => [['Remote-User', 'mallory@a.tenants.test']]);
my (undef, $after_requests) = counters();
check(delta($after_login, $after_requests,
            'mto_session_cookies_total{result="accepted"}'),
      1, 'requests: one accepted session cookie counted');
check(delta($after_login, $after_requests,
            'mto_session_cookies_total{result="rejected"}'),
      1, 'requests: one rejected session cookie counted');
check(delta($after_login, $after_requests,
            'mto_identity_headers_removed_total'),
      1, 'requests: one removed identity header counted');

# A callback with no login behind it is counted as rejected.
request(host => 'a.tenants.test', method => 'POST',
        path => '/hub/oauth_callback',
        headers => [['Content-Type', 'application/x-www-form-urlencoded']],
        body => 'state=nosuchstate&id_token=x.y.z');
my (undef, $after_reject) = counters();
check(delta($after_requests, $after_reject,
            'mto_callbacks_total{result="rejected"}'),
      1, 'bad callback: one rejected callback counted');

# Back-channel requests: every fetch the forge saw is counted as completed,
# and a tenant information service that does not answer in time as failed.
{
    my $host = "gen-metrics-$run.tenants.test";
    my (undef, $before) = counters();
    forge_log_clear();
    my $login = start_login(host => $host);
    check($login->{response}->code, 302, 'uncached tenant: login redirect');
    my $fetches = scalar @{ forge_log() };
    my (undef, $after) = counters();
    check($fetches > 0 ? 1 : 0, 1, 'uncached tenant: the forge was asked');
    check(delta($before, $after,
                'mto_backchannel_requests_total{result="completed"}'),
          $fetches, 'uncached tenant: each fetch counted as completed');
    check(delta($before, $after,
                'mto_backchannel_requests_total{result="failed"}'),
          0, 'uncached tenant: no failed fetch counted');

    my $hanging = "gen-metrics-hanging-$run.tenants.test";
    MTO::Test::forge_call('POST', '/control/tenant',
                          { host => $hanging, delay_ms => 5000 });
    $login = start_login(vhost => 'mto_cache', host => $hanging);
    check($login->{response}->code, 503, 'hanging tenant: 503');
    my (undef, $after_timeout) = counters();
    check(delta($after, $after_timeout,
                'mto_backchannel_requests_total{result="failed"}'),
          1, 'hanging tenant: one failed fetch counted');
    check(delta($after, $after_timeout,
                'mto_backchannel_requests_total{result="completed"}'),
          0, 'hanging tenant: no completed fetch counted');
}

done_testing();

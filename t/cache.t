# Tenant cache lifetimes in mto_cache: the provider's max-age within the
# configured bounds, cached failures, stale copies served while the
# provider fails, and one back-channel fetch for many concurrent logins.

use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Apache::TestRequest ();
use Apache::TestUtil;
use POSIX ();
use Time::HiRes ();

use MTO::Test qw(:all);
use MTO::Httpd qw(start_httpd);

Apache::TestRequest::module('mto_cache');

my $run = sprintf '%x%x', $$, time;

sub control_tenant {
    my %override = @_;
    return MTO::Test::forge_call('POST', '/control/tenant', \%override);
}

sub info_fetches {
    my $host = shift;
    return scalar grep { $_->{path} eq "/info/$host" } @{ forge_log() };
}

sub login_status {
    my ($host, $vhost) = @_;
    my $login = start_login(vhost => $vhost || 'mto_cache', host => $host);
    return $login->{response}->code;
}

# max-age=1 is honoured: the tenant is fetched again after 1 s.
{
    my $host = "gen-maxage-$run.tenants.test";
    control_tenant(host => $host, cache_control => 'max-age=1');
    check(login_status($host), 302, 'max-age 1: login');
    check(login_status($host), 302, 'max-age 1: second login');
    check(info_fetches($host), 1, 'max-age 1: fetched once at first');
    Time::HiRes::sleep(1.3);
    check(login_status($host), 302, 'max-age 1: login after 1.3 s');
    check(info_fetches($host), 2, 'max-age 1: fetched again after expiry');
}

# max-age=100 is clamped to the maximum of 2 s; no max-age uses the cache
# time of 60 s.
{
    my $clamped = "gen-clamp-$run.tenants.test";
    my $plain = "gen-plain-$run.tenants.test";
    control_tenant(host => $clamped, cache_control => 'max-age=100');
    check(login_status($clamped), 302, 'max-age 100: login');
    check(login_status($plain), 302, 'no max-age: login');
    Time::HiRes::sleep(1.2);
    check(login_status($clamped), 302, 'max-age 100: login after 1.2 s');
    check(info_fetches($clamped), 1, 'max-age 100: still cached at 1.2 s');
    Time::HiRes::sleep(1.3);
    check(login_status($clamped), 302, 'max-age 100: login after 2.5 s');
    check(info_fetches($clamped), 2, 'max-age 100: clamped to 2 s');
    check(login_status($plain), 302, 'no max-age: login after 2.5 s');
    check(info_fetches($plain), 1, 'no max-age: cached for 60 s');
}

# A failing tenant is cached as a failure for 2 s (MTOIDCNegativeCacheTime).
{
    my $host = "gen-failing-$run.tenants.test";
    control_tenant(host => $host, status => 503);
    check(login_status($host), 502, 'failing tenant: 502');
    my $mark = error_log_mark();
    my $started = Time::HiRes::time();
    check(login_status($host), 502, 'failing tenant: 502 again');
    my $elapsed = Time::HiRes::time() - $started;
    check($elapsed < 0.5 ? 1 : 0, 1,
          sprintf('failing tenant: cached failure is fast (%.2f s)',
                  $elapsed));
    check(info_fetches($host), 1, 'failing tenant: fetched once');
    my $line = wait_for_log($mark, qr/tenant \Q$host\E: .*cached failure/);
    check(defined $line ? 1 : 0, 1, 'failing tenant: log names the cache');
    Time::HiRes::sleep(2.2);
    check(login_status($host), 502, 'failing tenant: 502 after 2.2 s');
    check(info_fetches($host), 2, 'failing tenant: fetched after 2 s');
}

# A tenant that does not answer costs one timeout, not one per request.
{
    my $host = "gen-hanging-$run.tenants.test";
    control_tenant(host => $host, delay_ms => 5000);
    my $started = Time::HiRes::time();
    check(login_status($host), 503, 'hanging tenant: 503 after timeout');
    my $first = Time::HiRes::time() - $started;
    check($first < 4 ? 1 : 0, 1,
          sprintf('hanging tenant: first login within 4 s (%.1f s)', $first));
    $started = Time::HiRes::time();
    check(login_status($host), 503, 'hanging tenant: 503 again');
    my $second = Time::HiRes::time() - $started;
    check($second < 0.5 ? 1 : 0, 1,
          sprintf('hanging tenant: second login at once (%.2f s)', $second));
}

# A stale copy is served while the provider fails, for MTOIDCMaxStale (3 s)
# past its expiry, with a warning.
{
    my $host = "gen-stale-$run.tenants.test";
    control_tenant(host => $host, cache_control => 'max-age=1');
    check(login_status($host), 302, 'stale: login while healthy');
    control_tenant(host => $host, status => 503);
    Time::HiRes::sleep(1.3);
    my $mark = error_log_mark();
    check(login_status($host), 302, 'stale: login served from stale copy');
    my $line = wait_for_log($mark, qr/MTO0401: tenant \Q$host\E: /);
    check(defined $line ? 1 : 0, 1, 'stale: warning logged');
    check_like($line || '', qr/\[[^\]]*:warn\]/, 'stale: at level warn');
    check(login_status($host), 302, 'stale: login again');
    check(info_fetches($host), 2, 'stale: failed refresh cached');
    Time::HiRes::sleep(3.2);
    check(login_status($host), 502, 'stale: 502 once the copy is too old');
}

# A tenant that returns 404 is not served from a stale copy.
{
    my $host = "gen-removed-$run.tenants.test";
    control_tenant(host => $host, cache_control => 'max-age=1');
    check(login_status($host), 302, 'removed: login while present');
    control_tenant(host => $host, status => 404);
    Time::HiRes::sleep(1.3);
    check(login_status($host), 502, 'removed: 502 without stale copy');
}

# Runs count copies of code at once in child processes and returns how
# many exited with status 0.
sub concurrently {
    my ($count, $code) = @_;
    my @pids;
    for my $index (1 .. $count) {
        my $pid = fork;
        die "fork failed: $!\n" unless defined $pid;
        if ($pid == 0) {
            my $ok = eval { $code->($index) };
            POSIX::_exit($ok ? 0 : 1);
        }
        push @pids, $pid;
    }
    my $passed = 0;
    for my $pid (@pids) {
        waitpid $pid, 0;
        $passed++ if $? == 0;
    }
    return $passed;
}

# Single flight, on an instance with 50 threads and a cold cache of its
# own: 30 concurrent logins for one cold tenant whose information takes
# 500 ms cause one fetch of it and one of discovery, and 30 concurrent
# callbacks one fetch of the JWK Set.
{
    my $node = start_httpd(name => 'flight', threads => 25);
    my $host = "gen-flight-$run.tenants.test";
    control_tenant(host => $host, delay_ms => 500);
    forge_log_clear();

    my $passed = concurrently(30, sub {
        return login_status($host, 'flight') == 302;
    });
    check($passed, 30, 'single flight: 30 concurrent logins redirect');
    my $log = forge_log();
    check(scalar(grep { $_->{path} eq "/info/$host" } @$log), 1,
          'single flight: tenant information fetched once');
    check(scalar(grep { $_->{path} eq '/a/.well-known/openid-configuration' }
                 @$log), 1, 'single flight: discovery fetched once');

    my @logins = map { start_login(vhost => 'flight', host => $host) }
        1 .. 30;
    my @forms = map {
        MTO::Test::form_encode(
            state => $_->{state},
            id_token => mint(tenant => 'a', claims => id_token_claims(
                tenant => 'a', nonce => $_->{nonce},
                overrides => { aud => 'hub-default' })))
    } @logins;
    forge_log_clear();
    $passed = concurrently(30, sub {
        my $index = shift;
        my $response = callback(vhost => 'flight', host => $host,
                                login => $logins[$index - 1],
                                body => $forms[$index - 1]);
        return $response->code == 303;
    });
    check($passed, 30, 'single flight: 30 concurrent callbacks sign in');
    check(scalar(grep { $_->{path} eq '/a/jwks' } @{ forge_log() }), 1,
          'single flight: JWK Set fetched once');
    MTO::Httpd::stop_httpd($node);
}

control_tenant();
done_testing();

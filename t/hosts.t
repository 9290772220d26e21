# Host header handling: hosts that match no MTOIDCTenantHost pattern get
# 404 and cause no outbound request, invalid Host values get 400, and a
# session is bound to the host it was made for.

use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Apache::TestRequest ();
use Apache::TestUtil;

use MTO::Test qw(:all);

Apache::TestRequest::module('mto_main');
my $port = vhost_port('mto_main');

# Hosts outside *.tenants.test: "*" matches exactly one label.
my @unmatched = (
    'a.other.test',
    'tenants.test',
    'x.a.tenants.test',
    'a.tenants.test.evil.example',
    'a-tenants.test',
);
for my $host (@unmatched) {
    forge_log_clear();
    my $mark = error_log_mark();
    my $response = request(host => $host, path => '/hub/login');
    check($response->code, 404, "unmatched $host: status 404");
    check(scalar(state_cookies($response)), 0,
          "unmatched $host: no state cookie");
    check(scalar(forge_requests_for($host)), 0,
          "unmatched $host: no request to the provider");
    check(scalar @{ forge_log() }, 0,
          "unmatched $host: provider log empty");
    my $line = wait_for_log($mark, qr/MTO\d{4}: tenant \Q$host\E: /);
    check(defined $line ? 1 : 0, 1, "unmatched $host: log line names host");
}

# Host values that are not valid host names.
my @invalid = (
    ['-a.tenants.test', 'label starting with a hyphen'],
    ['a-.tenants.test', 'label ending with a hyphen'],
    [('x' x 64) . '.tenants.test', 'label longer than 63 bytes'],
    ['a..tenants.test', 'empty label'],
    ['127.0.0.1', 'IPv4 literal'],
    ['[::1]', 'IPv6 literal'],
    ["a.tenants.test:123456", 'port of six digits'],
    ['a.tenants.test:80x', 'port with a letter'],
    ['a_b.tenants.test', 'underscore'],
    ['a.tenants.test/evil', 'slash'],
);
for my $case (@invalid) {
    my ($value, $label) = @$case;
    forge_log_clear();
    my $response = request(host_header => $value, path => '/hub/login');
    check($response->code, 400, "invalid host $label: status 400");
    check(scalar(state_cookies($response)), 0,
          "invalid host $label: no state cookie");
    check(scalar @{ forge_log() }, 0,
          "invalid host $label: no request to the provider");
}

# Matching ignores case, and the redirect_uri uses the lower-case name.
{
    my $login = start_login(host => 'B.Tenants.TEST');
    check($login->{response}->code, 302, 'upper-case host: login starts');
    check(($login->{params}->{redirect_uri} || [])->[0],
          "http://b.tenants.test:$port/hub/oauth_callback",
          'upper-case host: redirect_uri uses the lower-case name');
}

# A host name with one trailing dot is the same host.
{
    my $response = request(host_header => "a.tenants.test.:$port",
                           path => '/hub/login');
    check($response->code, 302, 'trailing dot: login starts');
}

# A session made for tenant a is ignored on tenant b.
{
    my $signed_in = sign_in(tenant => 'a', sub => 'alice');
    my $session = $signed_in->{session};
    check(defined $session ? 1 : 0, 1, 'cross host: signed in at a');
    $session = 'missing' unless defined $session;

    my $home = request(host => 'b.tenants.test', path => '/hub/home',
                       headers => [session_header($session)]);
    check($home->code, 200, 'cross host: request reaches the hub');
    check(scalar(echo_header_values($home, 'REMOTE_USER')), 0,
          'cross host: no user header at b');
    check(scalar(echo_header_values($home, 'X-Tenant-API-Base')), 0,
          'cross host: no API header at b');

    my $login = request(host => 'b.tenants.test', path => '/hub/login',
                        headers => [session_header($session)]);
    check($login->code, 302, 'cross host: login at b asks the provider');
    check_like($login->header('Location') || '', qr{/b/authorize\?},
               'cross host: redirect to the provider of b');

    my $own = request(host => 'a.tenants.test', path => '/hub/home',
                      headers => [session_header($session)]);
    check((echo_header_values($own, 'REMOTE_USER'))[0],
          'alice@a.tenants.test', 'cross host: session still valid at a');
}

done_testing();

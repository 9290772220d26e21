# Identity headers: any incoming header whose name matches the configured
# user or API header (ignoring case, "-" and "_" the same) is removed, with
# and without a session, and with a session the hub sees only the module's
# values.

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

my @user_variants = qw(REMOTE_USER remote-user Remote_User REMOTE-USER
                       remote_user rEmOtE-uSeR);
my @api_variants = qw(X-Tenant-API-Base x-tenant-api-base X_TENANT_API_BASE
                      x_Tenant-Api_base);
my $forged_user = 'mallory@a.tenants.test';
my $forged_api = 'http://evil.example/api';

my $session = sign_in(tenant => 'a', sub => 'alice')->{session};
check(defined $session ? 1 : 0, 1, 'signed in at a');
$session = 'missing' unless defined $session;

for my $with_session (0, 1) {
    my $mode = $with_session ? 'with session' : 'without session';
    my @session_headers = $with_session ? (session_header($session)) : ();

    for my $name (@user_variants, @api_variants) {
        my $is_user = grep { $_ eq $name } @user_variants;
        my $value = $is_user ? $forged_user : $forged_api;
        my $response = request(host => 'a.tenants.test', path => '/hub/api/x',
                               headers => [@session_headers,
                                           [$name, $value]]);
        check($response->code, 200, "$mode, $name: request reaches the hub");
        my @user = echo_header_values($response, 'REMOTE_USER');
        my @api = echo_header_values($response, 'X-Tenant-API-Base');
        check(scalar(grep { $_ eq $value } @user, @api), 0,
              "$mode, $name: forged value removed");
        if ($with_session) {
            check("@user", 'alice@a.tenants.test',
                  "$mode, $name: only the module's user header");
            check("@api", "http://a.tenants.test:$port/api",
                  "$mode, $name: only the module's API header");
        }
        else {
            check(scalar @user, 0, "$mode, $name: no user header");
            check(scalar @api, 0, "$mode, $name: no API header");
        }
    }

    # All variants at once, each sent as its own header line.
    my $response = request(
        host => 'a.tenants.test', path => '/hub/api/all',
        headers => [@session_headers,
                    (map { [$_, $forged_user] } @user_variants),
                    (map { [$_, $forged_api] } @api_variants)]);
    my @user = echo_header_values($response, 'REMOTE_USER');
    my @api = echo_header_values($response, 'X-Tenant-API-Base');
    check(scalar @user, $with_session ? 1 : 0,
          "$mode, every variant: user header count");
    check(scalar @api, $with_session ? 1 : 0,
          "$mode, every variant: API header count");
}

# Removal also applies to a host that matches no tenant pattern, on a
# path that is not the login path.
{
    my $response = request(host => 'a.other.test', path => '/hub/api/x',
                           headers => [['REMOTE_USER', $forged_user],
                                       ['x_tenant_api_base', $forged_api]]);
    my $outcome = echo_document($response) ? 'proxied'
                : $response->code == 404 ? 'rejected' : $response->code;
    check_like($outcome, qr/^(proxied|rejected)$/,
               'unmatched host: proxied or rejected with 404');
    check(scalar(echo_header_values($response, 'REMOTE_USER')), 0,
          'unmatched host: user header removed');
    check(scalar(echo_header_values($response, 'X-Tenant-API-Base')), 0,
          'unmatched host: API header removed');
}

# Configured header names in mto_plain: X-Hub-User and X-Hub-API, user
# names without the tenant host.
{
    my $plain = sign_in(vhost => 'mto_plain', tenant => 'a', sub => 'carol',
                        login_path => '/hub/sso/login',
                        callback_path => '/hub/sso/callback');
    my $plain_session = $plain->{session};
    check($plain->{response}->code, 303, 'mto_plain: callback status 303');
    check(defined $plain_session ? 1 : 0, 1, 'mto_plain: signed in');
    $plain_session = 'missing' unless defined $plain_session;
    my $plain_port = vhost_port('mto_plain');

    for my $with_session (0, 1) {
        my $mode = $with_session ? 'with session' : 'without session';
        my @session_headers =
            $with_session ? (session_header($plain_session)) : ();
        for my $name (qw(X-Hub-User x_hub_user X_HUB-USER X-Hub-API
                         x_hub_api)) {
            my $response = request(vhost => 'mto_plain',
                                   host => 'a.tenants.test',
                                   path => '/hub/api/x',
                                   headers => [@session_headers,
                                               [$name, 'forged']]);
            my @user = echo_header_values($response, 'X-Hub-User');
            my @api = echo_header_values($response, 'X-Hub-API');
            check(scalar(grep { $_ eq 'forged' } @user, @api), 0,
                  "mto_plain $mode, $name: forged value removed");
            if ($with_session) {
                check("@user", 'carol',
                      "mto_plain $mode, $name: user name without host");
                check("@api", "http://a.tenants.test:$plain_port/api",
                      "mto_plain $mode, $name: API header");
            }
        }
    }
}

done_testing();

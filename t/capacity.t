# A full shmcb drops its oldest entries, and only then. An instance with a
# 32 KiB cache resolves 300 generated tenants, then a normal login at a
# tenant still signs in. A login in progress is accepted only while its
# pending entry is in the cache, so a login whose entry was dropped, and a
# replayed callback, are both rejected after the cache has turned over.

use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Apache::TestRequest ();
use Apache::TestUtil;

use MTO::Test qw(:all);
use MTO::Httpd qw(start_httpd);

Apache::TestRequest::module('mto_main');

my $node = start_httpd(name => 'tiny', threads => 4,
                       cache => 'shmcb:' . Apache::Test::vars('t_logs')
                                . '/instances/tiny-cache(32768)');
my $run = sprintf '%x%x', $$, time;

# Resolves 300 new tenants, which fills the cache several times over.
sub turn_over {
    my $label = shift;
    my %statuses;
    for my $index (1 .. 300) {
        my $login = start_login(vhost => 'tiny',
                                host => "gen-$label$index-$run.tenants.test");
        $statuses{ $login->{response}->code }++;
    }
    return join ',', sort keys %statuses;
}

sub callback_with {
    my ($login, $token) = @_;
    return callback(vhost => 'tiny', host => 'a.tenants.test',
                    login => $login,
                    fields => [state => $login->{state},
                               id_token => $token]);
}

sub token_for {
    my $login = shift;
    return mint(tenant => 'a', claims => id_token_claims(
        tenant => 'a', nonce => $login->{nonce},
        overrides => { sub => 'carl' }));
}

my $early = start_login(vhost => 'tiny', host => 'a.tenants.test');
check($early->{response}->code, 302, 'early login: redirect');

check(turn_over('fill'), '302', 'full cache: every login redirects');

my $response = callback_with($early, token_for($early));
check($response->code, 400, 'dropped login: callback rejected');
check(session_cookie_set($response) ? 1 : 0, 0,
      'dropped login: no session cookie');

my $login = start_login(vhost => 'tiny', host => 'a.tenants.test');
my $token = token_for($login);
$response = callback_with($login, $token);
check($response->code, 303, 'full cache: callback signs in');
check(session_cookie_set($response) ? 1 : 0, 1, 'full cache: session cookie');

check(turn_over('again'), '302', 'full cache again: every login redirects');
$response = callback_with($login, $token);
check($response->code, 400, 'replay after turnover: rejected');
check(session_cookie_set($response) ? 1 : 0, 0,
      'replay after turnover: no session cookie');

my $log = MTO::Httpd::log_text($node);
check(scalar(() = $log =~ /\[[^\]]*:(?:error|crit)\]/g), 0,
      'full cache: no errors logged');
MTO::Httpd::stop_httpd($node);

# shmcb picks a subcache from the first byte of a key, so the module's
# keys must not share a few first bytes. A 1 MiB shmcb has 32 subcaches of
# 107 entries: 500 logins started after the first leave the first one
# pending only when they spread over the subcaches.
{
    my $roomy = start_httpd(name => 'roomy', threads => 4,
                            cache => 'shmcb:' . Apache::Test::vars('t_logs')
                                     . '/instances/roomy-cache(1048576)');
    my $first = start_login(vhost => 'roomy', host => 'a.tenants.test');
    my %statuses;
    for (1 .. 500) {
        my $login = start_login(vhost => 'roomy', host => 'a.tenants.test');
        $statuses{ $login->{response}->code }++;
    }
    check(join(',', sort keys %statuses), '302',
          '1 MiB cache: 500 more logins redirect');
    my $response = callback(vhost => 'roomy', host => 'a.tenants.test',
                            login => $first,
                            fields => [state => $first->{state},
                                       id_token => token_for($first)]);
    check($response->code, 303, '1 MiB cache: first login still pending');
    MTO::Httpd::stop_httpd($roomy);
}

done_testing();

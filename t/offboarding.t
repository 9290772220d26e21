# Offboarding in mto_offboard (tenant cache time 1 s): once a tenant's
# information returns 404, new logins fail and its existing sessions stop
# working, also after the tenant comes back.

use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Apache::TestRequest ();
use Apache::TestUtil;
use Time::HiRes ();

use MTO::Test qw(:all);

Apache::TestRequest::module('mto_offboard');

my $vhost = 'mto_offboard';
my $host = sprintf 'gen-offboard-%x%x.tenants.test', $$, time;
my $other = sprintf 'gen-staying-%x%x.tenants.test', $$, time;

sub control_tenant {
    my %override = @_;
    return MTO::Test::forge_call('POST', '/control/tenant', \%override);
}

# Signs in sub at a generated tenant and returns the session cookie value.
sub sign_in_generated {
    my ($at, $sub) = @_;
    my $login = start_login(vhost => $vhost, host => $at);
    return undef unless $login->{response}->code == 302 && $login->{cookie};
    my $response = callback_form(vhost => $vhost, host => $at, tenant => 'a',
                                 login => $login,
                                 overrides => { sub => $sub,
                                                aud => 'hub-default' });
    my $cookie = session_cookie_set($response);
    return $cookie ? $cookie->{value} : undef;
}

sub user_at {
    my ($at, $session) = @_;
    my $response = request(vhost => $vhost, host => $at, path => '/hub/home',
                           headers => [session_header($session)]);
    my @users = echo_header_values($response, 'REMOTE_USER');
    return scalar @users ? "@users" : '';
}

my $session = sign_in_generated($host, 'olga');
check(defined $session ? 1 : 0, 1, 'offboarding: signed in');
$session = 'missing' unless defined $session;
my $staying = sign_in_generated($other, 'oscar');
$staying = 'missing' unless defined $staying;
check(user_at($host, $session), "olga\@$host", 'offboarding: session works');

# The tenant information now returns 404. After the tenant cache time a
# login resolves the tenant again and marks it gone.
control_tenant(host => $host, status => 404);
Time::HiRes::sleep(1.2);
my $mark = error_log_mark();
my $login = start_login(vhost => $vhost, host => $host);
check($login->{response}->code, 502, 'offboarding: new login fails');
check(defined wait_for_log($mark, qr/MTO0405: tenant \Q$host\E: /) ? 1 : 0,
      1, 'offboarding: gone marker logged');

# The per-process memo of the marker lasts 1 s.
Time::HiRes::sleep(1.1);
check(user_at($host, $session), '', 'offboarding: old session rejected');
check(defined wait_for_log($mark, qr/MTO0425: tenant \Q$host\E: /) ? 1 : 0,
      1, 'offboarding: rejection logged');
check(user_at($other, $staying), "oscar\@$other",
      'offboarding: other tenant unaffected');

# The tenant comes back: new logins work, old sessions stay rejected.
control_tenant(host => $host, status => 0);
Time::HiRes::sleep(1.2);
my $fresh = sign_in_generated($host, 'olga');
check(defined $fresh ? 1 : 0, 1, 'offboarding: returned tenant signs in');
$fresh = 'missing' unless defined $fresh;
Time::HiRes::sleep(1.1);
check(user_at($host, $fresh), "olga\@$host",
      'offboarding: new session of returned tenant works');
check(user_at($host, $session), '',
      'offboarding: session from before stays rejected');

control_tenant();
done_testing();

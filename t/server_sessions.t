# Server-side sessions (MTOIDCSessionStore cache) in mto_server_session:
# the cookie holds only a random id, the record lives in the shared cache,
# and logout deletes it, so a copied cookie stops working too.

use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Apache::TestRequest ();
use Apache::TestUtil;

use MTO::Test qw(:all);

Apache::TestRequest::module('mto_server_session');

my $vhost = 'mto_server_session';

sub user_seen {
    my ($session, %args) = @_;
    my $response = request(vhost => $args{vhost} || $vhost,
                           host => $args{host} || 'a.tenants.test',
                           path => '/hub/home',
                           headers => [session_header($session)]);
    my @users = echo_header_values($response, 'REMOTE_USER');
    return scalar @users ? "@users" : '';
}

my $mark = error_log_mark();
my $signed = sign_in(vhost => $vhost, tenant => 'a', sub => 'sam');
my $session = $signed->{session};
check(defined $session ? 1 : 0, 1, 'server session: signed in');
$session = 'missing' unless defined $session;
check_like($session, qr/^[A-Za-z0-9_-]{22}$/,
           'server session: cookie is a 128-bit base64url id');
my $cookie = session_cookie_set($signed->{response}) || { attributes => {} };
check($cookie->{attributes}->{'max-age'}, 28800,
      'server session: Max-Age is the session lifetime');
check(user_seen($session), 'sam@a.tenants.test', 'server session: works');

# Ids that were never issued, and the id at another host.
my $unknown = 'A' x 22;
check(user_seen($unknown), '', 'server session: unknown id rejected');
check(user_seen(substr($session, 0, 21)), '',
      'server session: short id rejected');
check(user_seen($session, host => 'b.tenants.test'), '',
      'server session: id at another host rejected');

# mto_main keeps sessions in cookies: the id is no sealed cookie there.
check(user_seen($session, vhost => 'mto_main'), '',
      'server session: id rejected by the cookie store');

# Logout deletes the record: the same cookie, replayed, signs nobody in.
{
    my $response = request(vhost => $vhost, host => 'a.tenants.test',
                           path => '/hub/logout',
                           headers => [session_header($session)]);
    check($response->code, 200, 'server session: logout passes through');
    my $cleared = find_cookie($response, '__Host-mto_session')
        || { attributes => {} };
    check($cleared->{value}, '', 'server session: logout clears cookie');
    check(user_seen($session), '', 'server session: replay after logout');
}

# The id never appears in the error log.
{
    my $log = error_log_since($mark);
    check(index($log, $session) < 0 ? 1 : 0, 1,
          'server session: id not logged');
}

done_testing();

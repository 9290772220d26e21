# Passphrase rotation: mto_rotated has a new passphrase and names the
# passphrase of mto_main as its previous one. A session cookie sealed
# under the previous passphrase is accepted and sealed again under the
# current one.

use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Apache::TestRequest ();
use Apache::TestUtil;

use MTO::Test qw(:all);

Apache::TestRequest::module('mto_rotated');

sub home {
    my ($vhost, $session) = @_;
    return request(vhost => $vhost, host => 'a.tenants.test',
                   path => '/hub/home',
                   headers => [session_header($session)]);
}

sub user_of {
    my $response = shift;
    my @users = echo_header_values($response, 'REMOTE_USER');
    return scalar @users ? "@users" : '';
}

my $old = sign_in(vhost => 'mto_main', tenant => 'a', sub => 'rita')
    ->{session};
check(defined $old ? 1 : 0, 1, 'rotation: signed in under the old key');
$old = 'missing' unless defined $old;

my $response = home('mto_rotated', $old);
check(user_of($response), 'rita@a.tenants.test',
      'rotation: old cookie accepted');
my $resealed = session_cookie_set($response);
check(defined $resealed ? 1 : 0, 1, 'rotation: cookie re-issued');
my $new = $resealed ? $resealed->{value} : 'missing';
check($new ne $old ? 1 : 0, 1, 'rotation: re-issued cookie differs');

$response = home('mto_rotated', $new);
check(user_of($response), 'rita@a.tenants.test',
      'rotation: re-issued cookie accepted');
check(defined session_cookie_set($response) ? 1 : 0, 0,
      'rotation: current cookie not re-issued');

# mto_main does not know the new passphrase.
check(user_of(home('mto_main', $new)), '',
      'rotation: re-issued cookie sealed under the new key');

done_testing();

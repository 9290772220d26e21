# Configuration checks: httpd -t fails on each bad value, or on an enabled
# virtual host that lacks a required setting, with a message that names
# the directive. Good configurations pass.

use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use File::Temp ();

use MTO::Test qw(:all);

my $httpd = $ENV{MTO_HTTPD} || '/usr/sbin/apache2';
my $module = $ENV{MTO_MODULE_PATH}
    or die "MTO_MODULE_PATH is not set: run through t/run-apache-test\n";
my $modules_dir = $ENV{MTO_HTTPD_MODULES} || '/usr/lib/apache2/modules';
my $dir = File::Temp::tempdir('mto-config-XXXXXX', TMPDIR => 1,
                              CLEANUP => 1);

my $passphrase_file = "$dir/passphrase";
open my $secret, '>', $passphrase_file or die "cannot write $passphrase_file: $!";
print {$secret} "config-test-passphrase\n";
close $secret;

my $ca_file = ($ENV{MTO_PKI_DIR} || die "MTO_PKI_DIR is not set\n")
    . '/ca.pem';

# Directives of a valid enabled virtual host, one per line, so that a case
# can drop or replace a line by its directive name.
my @base_vhost = (
    'MTOIDCEnable On',
    'MTOIDCTenantHost *.tenants.test',
    'MTOIDCIssuer https://idp.localhost/*',
    'MTOIDCPassphrase config-test-passphrase',
);

sub write_config {
    my ($name, $global, @vhost) = @_;
    my $file = "$dir/$name.conf";
    open my $out, '>', $file or die "cannot write $file: $!";
    print {$out} <<"EOF";
ServerRoot "$dir"
DefaultRuntimeDir "$dir"
PidFile "$dir/httpd.pid"
ErrorLog "$dir/error_log"
ServerName config.test
Listen 127.0.0.1:8999
<IfModule !mpm_event_module>
    <IfModule !mpm_worker_module>
        <IfModule !mpm_prefork_module>
            LoadModule mpm_event_module "$modules_dir/mod_mpm_event.so"
        </IfModule>
    </IfModule>
</IfModule>
<IfModule !socache_shmcb_module>
    LoadModule socache_shmcb_module "$modules_dir/mod_socache_shmcb.so"
</IfModule>
<IfModule !authz_core_module>
    LoadModule authz_core_module "$modules_dir/mod_authz_core.so"
</IfModule>
LoadModule multitenant_oidc_module "$module"
$global
<VirtualHost 127.0.0.1:8999>
    ServerName tenants.test
EOF
    print {$out} map { "    $_\n" } @vhost;
    print {$out} "</VirtualHost>\n";
    close $out or die "cannot write $file: $!";
    return $file;
}

# Runs httpd -t and returns (exit status, output).
sub config_test {
    my $file = shift;
    my $output = `'$httpd' -t -f '$file' 2>&1`;
    return ($? >> 8, $output);
}

# Returns @base_vhost with the line of directive replaced by replacement
# (or removed when replacement is undef).
sub vhost_with {
    my ($directive, $replacement) = @_;
    my @lines;
    for my $line (@base_vhost) {
        if ($line =~ /^\Q$directive\E\s/) {
            push @lines, $replacement if defined $replacement;
        }
        else {
            push @lines, $line;
        }
    }
    return @lines;
}

my @good = (
    ['minimal', '', @base_vhost],
    ['every directive', 'MTOIDCCache shmcb',
     'MTOIDCEnable On',
     'MTOIDCTenantHost *.tenants.test tenant.localhost',
     'MTOIDCTenantInfoURL https://{host}/identity/api/authentication/information',
     'MTOIDCIssuer https://idp.localhost/* https://*.okta.test',
     'MTOIDCClientID hub',
     "MTOIDCPassphraseFile $passphrase_file",
     'MTOIDCLoginPath /hub/login',
     'MTOIDCCallbackPath /hub/oauth_callback',
     'MTOIDCLogoutPath /hub/logout',
     'MTOIDCUserClaim email',
     'MTOIDCUserFormat {claim}',
     'MTOIDCUserHeader X-Remote-User',
     'MTOIDCAPIHeader X-Api-Base',
     'MTOIDCScope openid',
     'MTOIDCAlgorithms RS256 ES256',
     "MTOIDCCAFile $ca_file",
     'MTOIDCBackChannelTimeout 3 6',
     'MTOIDCMaxResponseSize 65536',
     'MTOIDCClockSkew 30',
     'MTOIDCTokenMaxAge 300',
     'MTOIDCStateTimeout 300',
     'MTOIDCSessionTimeout 3600',
     'MTOIDCTenantCacheTime 60',
     'MTOIDCKeyRefreshInterval 30'],
    ['disabled vhost without settings', '', 'MTOIDCEnable Off'],
);

for my $case (@good) {
    my ($label, $global, @vhost) = @$case;
    (my $name = "good $label") =~ s/\W+/-/g;
    my ($status, $output) = config_test(write_config($name, $global, @vhost));
    check($status, 0, "$label: httpd -t passes");
    check_like($output, qr/Syntax OK/, "$label: Syntax OK");
}

# [label, directive the message must name, vhost lines, global lines]
my @bad = (
    ['missing passphrase', 'MTOIDCPassphrase',
     [vhost_with('MTOIDCPassphrase')]],
    ['missing tenant host', 'MTOIDCTenantHost',
     [vhost_with('MTOIDCTenantHost')]],
    ['missing issuer', 'MTOIDCIssuer', [vhost_with('MTOIDCIssuer')]],
    ['host pattern with a partial wildcard', 'MTOIDCTenantHost',
     [vhost_with('MTOIDCTenantHost', 'MTOIDCTenantHost *foo.tenants.test')]],
    ['host pattern with an empty label', 'MTOIDCTenantHost',
     [vhost_with('MTOIDCTenantHost', 'MTOIDCTenantHost tenants..test')]],
    ['host pattern that is a URL', 'MTOIDCTenantHost',
     [vhost_with('MTOIDCTenantHost',
                 'MTOIDCTenantHost https://a.tenants.test')]],
    ['http issuer pattern', 'MTOIDCIssuer',
     [vhost_with('MTOIDCIssuer', 'MTOIDCIssuer http://idp.localhost/*')]],
    ['issuer pattern without scheme', 'MTOIDCIssuer',
     [vhost_with('MTOIDCIssuer', 'MTOIDCIssuer idp.localhost')]],
    ['non-numeric timeout', 'MTOIDCBackChannelTimeout',
     [@base_vhost, 'MTOIDCBackChannelTimeout five 10']],
    ['negative timeout', 'MTOIDCBackChannelTimeout',
     [@base_vhost, 'MTOIDCBackChannelTimeout -1 10']],
    ['non-numeric clock skew', 'MTOIDCClockSkew',
     [@base_vhost, 'MTOIDCClockSkew abc']],
    ['state timeout with a suffix', 'MTOIDCStateTimeout',
     [@base_vhost, 'MTOIDCStateTimeout 10x']],
    ['negative session timeout', 'MTOIDCSessionTimeout',
     [@base_vhost, 'MTOIDCSessionTimeout -5']],
    ['non-numeric response size', 'MTOIDCMaxResponseSize',
     [@base_vhost, 'MTOIDCMaxResponseSize big']],
    ['algorithm none', 'MTOIDCAlgorithms',
     [@base_vhost, 'MTOIDCAlgorithms none']],
    ['HMAC algorithm', 'MTOIDCAlgorithms',
     [@base_vhost, 'MTOIDCAlgorithms RS256 HS256']],
    ['missing passphrase file', 'MTOIDCPassphraseFile',
     [vhost_with('MTOIDCPassphrase',
                 "MTOIDCPassphraseFile $dir/no-such-file")]],
    ['enable flag not On or Off', 'MTOIDCEnable',
     [vhost_with('MTOIDCEnable', 'MTOIDCEnable maybe')]],
    ['unknown cache provider', 'MTOIDCCache',
     [@base_vhost], 'MTOIDCCache no-such-provider'],
);

for my $case (@bad) {
    my ($label, $directive, $vhost, $global) = @$case;
    (my $name = "bad $label") =~ s/\W+/-/g;
    my ($status, $output) = config_test(
        write_config($name, $global || '', @$vhost));
    check($status != 0 ? 1 : 0, 1, "$label: httpd -t fails");
    check_like($output, qr/\b\Q$directive\E\b/,
               "$label: message names $directive");
    check_like($output, qr/^(?!.*config-test-passphrase)/s,
               "$label: message does not show the passphrase");
}

done_testing();

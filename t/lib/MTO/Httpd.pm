package MTO::Httpd;

# Extra httpd instances for the tests that need a server-wide setting of
# their own (MTOIDCCache, the MPM's thread count) or two nodes sharing a
# cache. Each instance runs the module under test from a generated
# configuration on its own free loopback port, in the foreground, and is
# stopped by its PID when the test ends.
#
# Once started, an instance's name works as the vhost argument of the
# MTO::Test helpers (request, start_login, callback and so on).

use strict;
use warnings;

use Exporter 'import';
use File::Path qw(make_path);
use IO::Socket::INET ();
use POSIX ();
use Time::HiRes ();

use Apache::Test ();
use MTO::Test ();

our @EXPORT_OK = qw(start_httpd backend_port);

my %ports;
my @running;

# Lets MTO::Test::request and the helpers built on it reach instances by
# name, as they reach the Apache::Test virtual hosts.
{
    no warnings 'redefine';
    my $vhost_port = \&MTO::Test::vhost_port;
    *MTO::Test::vhost_port = sub {
        my $name = shift;
        return exists $ports{$name} ? $ports{$name} : $vhost_port->($name);
    };
}

# Returns the loopback port of redis or memcached from t/run-apache-test,
# or undef when that server does not answer.
sub backend_port {
    my $which = shift;
    my $port = $ENV{ $which eq 'redis' ? 'MTO_REDIS_PORT'
                                       : 'MTO_MEMCACHED_PORT' };
    return undef unless $port;
    my $socket = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                       PeerPort => $port, Proto => 'tcp',
                                       Timeout => 2);
    return $socket ? $port : undef;
}

sub free_port {
    my $socket = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                       LocalPort => 0, Proto => 'tcp',
                                       Listen => 1)
        or die "cannot bind a loopback port: $!\n";
    return $socket->sockport;
}

sub env_required {
    my $name = shift;
    my $value = $ENV{$name};
    die "environment variable $name is not set: run the suite through "
        . "t/run-apache-test\n" unless defined $value && length $value;
    return $value;
}

# Returns the configuration text of an instance.
sub config_text {
    my ($dir, $port, %args) = @_;
    my $modules = env_required('MTO_HTTPD_MODULES');
    my $forge = env_required('MTO_FORGE_PORT');
    my $echo = env_required('MTO_ECHO_PORT');
    my $pki = env_required('MTO_PKI_DIR');
    my $module = env_required('MTO_MODULE_PATH');
    my $threads = $args{threads} || 25;
    my $cache = $args{cache} || "shmcb:$dir/mto-cache(1048576)";
    my $passphrase = $args{passphrase} || 'mto-test-passphrase-node-0c4e21';

    my @load = qw(mpm_event authn_core authz_core authz_user proxy
                  proxy_http socache_shmcb socache_memcache socache_redis);
    my $text = join '', map {
        "LoadModule ${_}_module $modules/mod_$_.so\n"
    } @load;
    $text .= <<"EOF";
LoadModule multitenant_oidc_module $module
ServerRoot "$dir"
ServerName 127.0.0.1
Listen 127.0.0.1:$port
PidFile "$dir/httpd.pid"
DefaultRuntimeDir "$dir"
Mutex file:$dir default
ErrorLog "$dir/error_log"
LogLevel info multitenant_oidc:trace8
DocumentRoot "$dir/htdocs"
StartServers 1
ServerLimit 2
ThreadsPerChild $threads
MaxRequestWorkers @{[ 2 * $threads ]}
MinSpareThreads 1
MaxSpareThreads @{[ 2 * $threads ]}
RedisTimeout 2
MTOIDCCache $cache

MTOIDCEnable On
MTOIDCTenantHost *.tenants.test
MTOIDCTenantInfoURL https://forge.localhost:$forge/info/{host}
MTOIDCIssuer https://forge.localhost:$forge/*
MTOIDCClientID hub-default
MTOIDCCAFile $pki/ca.pem
MTOIDCPassphrase $passphrase
ProxyPass /hub/ http://127.0.0.1:$echo/echo/hub/
EOF
    $text .= "$args{extra}\n" if defined $args{extra};
    return $text;
}

# Waits until the instance accepts connections. Returns 1, or 0 when
# httpd exited or 15 s passed.
sub wait_ready {
    my ($pid, $port) = @_;
    my $deadline = Time::HiRes::time() + 15;
    while (Time::HiRes::time() < $deadline) {
        return 0 if waitpid($pid, POSIX::WNOHANG()) == $pid;
        my $socket = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                           PeerPort => $port,
                                           Proto => 'tcp', Timeout => 1);
        return 1 if $socket;
        Time::HiRes::sleep(0.1);
    }
    return 0;
}

# Starts an instance and returns it: {name, port, dir, pid}. Arguments:
#   name        instance name, also its vhost name for MTO::Test
#   cache       MTOIDCCache value (default a shmcb of its own)
#   passphrase  MTOIDCPassphrase value(s)
#   threads     ThreadsPerChild (two children at most)
#   extra       more configuration lines
# Dies when httpd does not start, with the end of its error log.
sub start_httpd {
    my %args = @_;
    my $name = $args{name} or die "start_httpd: name missing\n";
    my $dir = Apache::Test::vars('t_logs') . "/instances/$name";
    make_path("$dir/htdocs");
    my $port = free_port();
    my $config = "$dir/httpd.conf";
    open my $out, '>', $config or die "cannot write $config: $!\n";
    print {$out} config_text($dir, $port, %args);
    close $out or die "cannot write $config: $!\n";
    open my $page, '>', "$dir/htdocs/static.txt"
        or die "cannot write $dir/htdocs/static.txt: $!\n";
    print {$page} "static\n";
    close $page;

    my $httpd = env_required('MTO_HTTPD');
    my $pid = fork;
    die "fork failed: $!\n" unless defined $pid;
    if ($pid == 0) {
        open STDOUT, '>>', "$dir/stdout.log";
        open STDERR, '>>', "$dir/stdout.log";
        exec $httpd, '-f', $config, '-DFOREGROUND'
            or POSIX::_exit(127);
    }
    my $instance = { name => $name, port => $port, dir => $dir,
                     pid => $pid };
    push @running, $instance;
    unless (wait_ready($pid, $port)) {
        my $log = log_text($instance) . slurp("$dir/stdout.log");
        stop_httpd($instance);
        die "httpd instance $name did not start: "
            . substr($log, -2000) . "\n";
    }
    $ports{$name} = $port;
    return $instance;
}

sub slurp {
    my $path = shift;
    open my $in, '<', $path or return '';
    local $/;
    my $text = <$in>;
    close $in;
    return defined $text ? $text : '';
}

# Returns the instance's error log text, from byte offset mark on.
sub log_text {
    my ($instance, $mark) = @_;
    return substr slurp("$instance->{dir}/error_log"), $mark || 0;
}

sub log_mark {
    my $instance = shift;
    return -s "$instance->{dir}/error_log" || 0;
}

# Stops an instance by its PID and waits for it, up to 10 s before
# SIGKILL.
sub stop_httpd {
    my $instance = shift;
    my $pid = $instance->{pid} or return;
    kill 'TERM', $pid;
    for (1 .. 100) {
        if (waitpid($pid, POSIX::WNOHANG()) == $pid) {
            $instance->{pid} = undef;
            delete $ports{ $instance->{name} };
            return;
        }
        Time::HiRes::sleep(0.1);
    }
    kill 'KILL', $pid;
    waitpid $pid, 0;
    $instance->{pid} = undef;
    delete $ports{ $instance->{name} };
}

END {
    my $status = $?;
    stop_httpd($_) for @running;
    $? = $status;
}

1;

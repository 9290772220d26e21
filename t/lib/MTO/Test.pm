package MTO::Test;

# Helpers shared by the Apache::Test suite: a raw HTTP/1.1 client that
# sends header names and bodies exactly as given, cookie parsing, the test
# provider's control API (token minting, request log), the login and
# callback steps, and error log reading.
#
# The module's cookies are Secure and the test virtual hosts are plain
# http, so no cookie jar is used: tests read Set-Cookie themselves and send
# Cookie headers by hand.

use strict;
use warnings;

use Exporter 'import';
use HTTP::Headers ();
use HTTP::Response ();
use HTTP::Tiny ();
use IO::Socket::INET ();
use JSON::PP ();
use Test::More ();
use URI ();
use URI::Escape qw(uri_escape);

use Apache::Test ();
use Apache::TestUtil qw(t_cmp);

our @EXPORT_OK = qw(
    check check_like
    vhost_port host_header request requests_on_one_connection
    set_cookies find_cookie session_cookie_set state_cookies
    forge_base issuer client_id forge_log forge_log_clear forge_requests_for
    forge_rotate
    mint id_token_claims
    echo_document echo_header_values
    start_login callback callback_form sign_in session_header
    browser_store browser_cookie_header browser_login
    error_log_mark error_log_since wait_for_log
    form_encode
);
our %EXPORT_TAGS = (all => \@EXPORT_OK);

use constant SESSION_COOKIE => '__Host-mto_session';
use constant STATE_COOKIE_PREFIX => '__Host-mto_state_';
use constant RESPONSE_TIMEOUT_SECONDS => 30;

my $json = JSON::PP->new->canonical->utf8;

sub env_required {
    my $name = shift;
    my $value = $ENV{$name};
    die "environment variable $name is not set: run the suite through "
        . "t/run-apache-test\n" unless defined $value && length $value;
    return $value;
}

# Runs t_cmp and reports the result as one Test::More assertion named
# label, with the expected and received values on failure.
sub check {
    my ($received, $expected, $label) = @_;
    my $passed = t_cmp($received, $expected, $label);
    Test::More::ok($passed, $label);
    unless ($passed) {
        Test::More::diag('expected: '
                         . (defined $expected ? "$expected" : 'undef'));
        Test::More::diag('received: '
                         . (defined $received ? "$received" : 'undef'));
    }
    return $passed;
}

# check for a regular expression: received must match pattern.
sub check_like {
    my ($received, $pattern, $label) = @_;
    return check($received, $pattern, $label);
}

# Returns the port Apache::Test gave the named virtual host.
sub vhost_port {
    my $vhost = shift;
    my $config = Apache::Test::config();
    my $entry = $config->{vhosts}->{$vhost}
        or die "virtual host $vhost is not configured in t/conf\n";
    return $entry->{port};
}

# Returns "HOST:PORT" for a tenant host reached through a virtual host.
sub host_header {
    my ($host, $vhost) = @_;
    return $host . ':' . vhost_port($vhost || 'mto_main');
}

# Opens a binary TCP connection to the port of a virtual host.
sub connect_vhost {
    my $vhost = shift;
    my $port = vhost_port($vhost);
    my $socket = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                       PeerPort => $port,
                                       Proto => 'tcp',
                                       Timeout => 10)
        or die "cannot connect to 127.0.0.1:$port ($vhost): $!\n";
    binmode $socket;
    return $socket;
}

# Sends one request over a new connection and returns an HTTP::Response.
#   vhost    Apache::Test virtual host name (default mto_main)
#   method   default GET
#   path     request target, sent as given
#   host     tenant host; the Host header becomes "host:port"
#   host_header  Host header value sent as given (overrides host)
#   headers  array ref of [name, value] pairs, names sent as given
#   body     request body; Content-Length is added
sub request {
    my %args = @_;
    my $vhost = $args{vhost} || 'mto_main';
    my $method = $args{method} || 'GET';
    my $path = defined $args{path} ? $args{path} : '/';
    my $host_value = exists $args{host_header}
        ? $args{host_header}
        : host_header($args{host} || 'a.tenants.test', $vhost);

    my $text = "$method $path HTTP/1.1\r\n";
    $text .= "Host: $host_value\r\n" if defined $host_value;
    for my $pair (@{ $args{headers} || [] }) {
        $text .= "$pair->[0]: $pair->[1]\r\n";
    }
    if (defined $args{body}) {
        $text .= 'Content-Length: ' . length($args{body}) . "\r\n";
    }
    $text .= "Connection: close\r\n\r\n";
    $text .= $args{body} if defined $args{body};

    my $socket = connect_vhost($vhost);
    print {$socket} $text;

    my $raw = '';
    {
        local $SIG{ALRM} = sub {
            die "no complete response from $vhost within "
                . RESPONSE_TIMEOUT_SECONDS . " s for $method $path\n";
        };
        alarm RESPONSE_TIMEOUT_SECONDS;
        while (1) {
            my $read = sysread $socket, my $buffer, 65536;
            die "read from $vhost failed: $!\n" unless defined $read;
            last if $read == 0;
            $raw .= $buffer;
        }
        alarm 0;
    }
    close $socket;
    return parse_response($raw, "$method $path");
}

# Sends several requests one after another over one keep-alive connection
# and returns their HTTP::Response objects in order. Each element of
# requests is a hash ref with the arguments of request (host, host_header,
# method, path, headers); vhost applies to all of them.
sub requests_on_one_connection {
    my %args = @_;
    my $vhost = $args{vhost} || 'mto_main';
    my $socket = connect_vhost($vhost);

    my @responses;
    my $pending = '';
    for my $one (@{ $args{requests} }) {
        my $method = $one->{method} || 'GET';
        my $path = defined $one->{path} ? $one->{path} : '/';
        my $host_value = exists $one->{host_header}
            ? $one->{host_header}
            : host_header($one->{host} || 'a.tenants.test', $vhost);
        my $text = "$method $path HTTP/1.1\r\nHost: $host_value\r\n";
        for my $pair (@{ $one->{headers} || [] }) {
            $text .= "$pair->[0]: $pair->[1]\r\n";
        }
        print {$socket} "$text\r\n";
        (my $response, $pending) =
            read_kept_alive($socket, $pending, "$method $path");
        push @responses, $response;
    }
    close $socket;
    return @responses;
}

# Reads one response from a connection that stays open: the head, then a
# body framed by Content-Length or chunked encoding. $pending holds bytes
# read beyond the previous response. Returns the response and the bytes
# read beyond it.
sub read_kept_alive {
    my ($socket, $pending, $what) = @_;
    my $fill = sub {
        my $read = sysread $socket, my $buffer, 65536;
        die "read for $what failed: $!\n" unless defined $read;
        die "connection closed during $what\n" if $read == 0;
        $pending .= $buffer;
    };
    local $SIG{ALRM} = sub { die "no complete response for $what\n" };
    alarm RESPONSE_TIMEOUT_SECONDS;
    $fill->() while index($pending, "\r\n\r\n") < 0;
    my $end = index($pending, "\r\n\r\n") + 4;
    my $head = substr $pending, 0, $end;
    my $rest = substr $pending, $end;
    my $length;
    if ($head =~ /^Content-Length:[ \t]*(\d+)\r$/mi) {
        $length = $1;
    }
    elsif ($head =~ /^Transfer-Encoding:[ \t]*chunked\r$/mi) {
        until ($rest =~ /(?:^|\r\n)0\r\n\r\n/) {
            $pending = $rest;
            $fill->();
            $rest = $pending;
        }
        $length = $+[0];
    }
    else {
        $length = 0;
    }
    while (length $rest < $length) {
        $pending = $rest;
        $fill->();
        $rest = $pending;
    }
    alarm 0;
    my $raw = $head . substr($rest, 0, $length);
    return (parse_response($raw, $what), substr($rest, $length));
}

sub parse_response {
    my ($raw, $what) = @_;
    my ($head, $body) = split /\r\n\r\n/, $raw, 2;
    die "no response header for $what\n" unless defined $head;
    $body = '' unless defined $body;

    my @lines = split /\r\n/, $head;
    my $status_line = shift @lines;
    my ($code, $message) = $status_line =~ m{^HTTP/\d\.\d (\d{3}) ?(.*)$}
        or die "invalid status line for $what: $status_line\n";

    my $headers = HTTP::Headers->new;
    for my $line (@lines) {
        my ($name, $value) = $line =~ /^([^:]+):[ \t]*(.*)$/
            or die "invalid response header for $what: $line\n";
        $headers->push_header($name => $value);
    }
    my $encoding = $headers->header('Transfer-Encoding') || '';
    $body = decode_chunked($body) if lc $encoding eq 'chunked';
    return HTTP::Response->new($code, $message, $headers, $body);
}

sub decode_chunked {
    my $data = shift;
    my $body = '';
    while ($data =~ s/^([0-9a-fA-F]+)[^\r\n]*\r\n//) {
        my $size = hex $1;
        last if $size == 0;
        $body .= substr $data, 0, $size, '';
        $data =~ s/^\r\n//;
    }
    return $body;
}

# Parses every Set-Cookie header into {name, value, attributes, line}.
# Attribute names are lower case, and attributes without a value are 1.
sub set_cookies {
    my $response = shift;
    my @cookies;
    for my $line ($response->header('Set-Cookie')) {
        my ($pair, @attributes) = split /;[ \t]*/, $line;
        my ($name, $value) = split /=/, $pair, 2;
        my %attributes;
        for my $attribute (@attributes) {
            my ($key, $attribute_value) = split /=/, $attribute, 2;
            $attributes{lc $key} =
                defined $attribute_value ? $attribute_value : 1;
        }
        push @cookies, { name => $name, value => $value,
                         attributes => \%attributes, line => $line };
    }
    return @cookies;
}

sub find_cookie {
    my ($response, $name) = @_;
    my @found = grep { $_->{name} eq $name } set_cookies($response);
    return $found[0];
}

sub state_cookies {
    my $response = shift;
    my $prefix = STATE_COOKIE_PREFIX;
    return grep { index($_->{name}, $prefix) == 0 } set_cookies($response);
}

# Returns the session cookie the response sets with a value and a
# lifetime, or undef when it sets none (a clearing cookie does not count).
sub session_cookie_set {
    my $response = shift;
    my $cookie = find_cookie($response, SESSION_COOKIE);
    return undef unless $cookie;
    return undef unless defined $cookie->{value} && length $cookie->{value};
    my $max_age = $cookie->{attributes}->{'max-age'};
    return undef if defined $max_age && $max_age <= 0;
    return $cookie;
}

sub session_header {
    my $value = shift;
    return ['Cookie', SESSION_COOKIE . "=$value"];
}

# A browser's cookie store for the tenant host: browser_store applies the
# Set-Cookie headers of a response to a hash of name => value, removing a
# cookie whose value is empty or whose Max-Age is 0 or less, and
# browser_cookie_header returns the Cookie header the browser sends next
# (an empty list when it holds no cookie).
sub browser_store {
    my ($jar, $response) = @_;
    for my $cookie (set_cookies($response)) {
        my $max_age = $cookie->{attributes}->{'max-age'};
        if (!defined $cookie->{value} || $cookie->{value} eq ''
            || (defined $max_age && $max_age <= 0)) {
            delete $jar->{ $cookie->{name} };
        }
        else {
            $jar->{ $cookie->{name} } = $cookie->{value};
        }
    }
    return $jar;
}

sub browser_cookie_header {
    my $jar = shift;
    return () unless %$jar;
    return ['Cookie', join '; ', map { "$_=$jar->{$_}" } sort keys %$jar];
}

# Test provider control API.

sub forge_port { env_required('MTO_FORGE_PORT') }

sub forge_base {
    return 'https://forge.localhost:' . forge_port();
}

sub issuer {
    my $tenant = shift;
    return forge_base() . "/$tenant";
}

# client_id each test tenant's login must use: tenant a sets clientId in
# its tenant information, the others fall back to MTOIDCClientID.
my %client_ids = (a => 'client-a', b => 'hub-default', c => 'hub-default',
                  d => 'hub-default', single => 'hub-default',
                  multikey => 'hub-default', rotating => 'hub-default',
                  keyrules => 'hub-default', partial => 'hub-default',
                  advertised => 'hub-default');

sub client_id {
    my $tenant = shift;
    return $client_ids{$tenant} || die "no client_id for tenant $tenant\n";
}

my $forge_http;

sub forge_http {
    $forge_http ||= HTTP::Tiny->new(
        timeout => 10,
        verify_SSL => 1,
        SSL_options => {
            SSL_ca_file => env_required('MTO_PKI_DIR') . '/ca.pem',
        },
    );
    return $forge_http;
}

sub forge_call {
    my ($method, $path, $data) = @_;
    my $url = 'https://127.0.0.1:' . forge_port() . $path;
    my %options;
    if (defined $data) {
        $options{content} = $json->encode($data);
        $options{headers} = { 'Content-Type' => 'application/json' };
    }
    my $result = forge_http()->request($method, $url, \%options);
    die "test provider: $method $path failed: $result->{status} "
        . "$result->{reason} $result->{content}\n"
        unless $result->{success};
    return $json->decode($result->{content});
}

sub forge_log { forge_call('GET', '/log') }

sub forge_log_clear { forge_call('POST', '/log/clear') }

# Gives a provider a new signing key and returns its kid. The old key stays
# in the provider's JWKS unless drop_previous => 1 is given.
sub forge_rotate {
    my ($tenant, %options) = @_;
    my %request = (tenant => $tenant);
    $request{drop_previous} = JSON::PP::true if $options{drop_previous};
    return forge_call('POST', '/rotate', \%request)->{kid};
}

# Returns the logged provider requests whose path contains text.
sub forge_requests_for {
    my $text = shift;
    return grep { index($_->{path}, $text) >= 0 } @{ forge_log() };
}

# Returns a compact JWS from the provider, which takes the arguments of
# its POST /mint.
sub mint {
    my %request = @_;
    return forge_call('POST', '/mint', \%request)->{token};
}

# Returns the claims of a valid ID token for tenant, with overrides
# applied: a key mapped to undef is removed.
sub id_token_claims {
    my %args = @_;
    my $tenant = $args{tenant} || 'a';
    my $now = time;
    my %claims = (
        iss => issuer($tenant),
        aud => client_id($tenant),
        sub => 'alice',
        nonce => $args{nonce},
        iat => $now,
        exp => $now + 300,
    );
    my $overrides = $args{overrides} || {};
    for my $name (keys %$overrides) {
        if (defined $overrides->{$name}) {
            $claims{$name} = $overrides->{$name};
        }
        else {
            delete $claims{$name};
        }
    }
    return \%claims;
}

# The echo endpoint's view of a proxied request.

sub echo_document {
    my $response = shift;
    my $document = eval { $json->decode($response->content) };
    return $document;
}

sub normalize_header_name {
    my $name = lc shift;
    $name =~ tr/_/-/;
    return $name;
}

# Returns the values of every header the echo endpoint received whose name
# equals name, ignoring case and treating "-" and "_" as the same.
sub echo_header_values {
    my ($response, $name) = @_;
    my $document = echo_document($response) or return;
    my $wanted = normalize_header_name($name);
    return map { $_->[1] }
        grep { normalize_header_name($_->[0]) eq $wanted }
        @{ $document->{headers} };
}

# Login and callback.

sub form_encode {
    my @pairs = @_;
    my @parts;
    while (@pairs) {
        my ($name, $value) = splice @pairs, 0, 2;
        push @parts, uri_escape($name) . '=' . uri_escape($value);
    }
    return join '&', @parts;
}

# Requests the login path and returns what the redirect carries:
#   {response, location, params (name => [values]), state, nonce,
#    cookie (the state cookie or undef)}
sub start_login {
    my %args = @_;
    my $path = $args{login_path} || '/hub/login';
    $path .= '?next=' . uri_escape($args{next}) if defined $args{next};
    my $response = request(vhost => $args{vhost}, host => $args{host},
                           path => $path, headers => $args{headers});
    my %login = (response => $response, params => {});
    my $location = $response->header('Location');
    $login{location} = $location;
    if (defined $location) {
        my @pairs = URI->new($location)->query_form;
        while (@pairs) {
            my ($name, $value) = splice @pairs, 0, 2;
            push @{ $login{params}->{$name} }, $value;
        }
    }
    $login{state} = $login{params}->{state} ? $login{params}->{state}[0]
                                            : undef;
    $login{nonce} = $login{params}->{nonce} ? $login{params}->{nonce}[0]
                                            : undef;
    if (defined $login{state}) {
        $login{cookie} = find_cookie($response,
                                     STATE_COOKIE_PREFIX . $login{state});
    }
    return \%login;
}

# Returns the Cookie header that sends back a login's state cookie.
sub state_cookie_header {
    my $login = shift;
    my $cookie = $login->{cookie}
        or die "the login response set no state cookie\n";
    return ['Cookie', "$cookie->{name}=$cookie->{value}"];
}

# POSTs a form to the callback path.
#   fields   array ref of name, value pairs, encoded here
#   body     the raw form body, used in place of fields
#   login    sends this login's state cookie (unless headers are given)
#   headers  request headers, plus a form Content-Type unless one is given
sub callback {
    my %args = @_;
    my $body = defined $args{body} ? $args{body}
                                   : form_encode(@{ $args{fields} || [] });
    my @headers;
    if ($args{headers}) {
        push @headers, @{ $args{headers} };
    }
    elsif ($args{login}) {
        push @headers, state_cookie_header($args{login});
    }
    unless (grep { lc $_->[0] eq 'content-type' } @headers) {
        unshift @headers,
            ['Content-Type', 'application/x-www-form-urlencoded'];
    }
    return request(vhost => $args{vhost}, host => $args{host},
                   method => 'POST',
                   path => $args{callback_path} || '/hub/oauth_callback',
                   headers => \@headers, body => $body);
}

# Posts a token minted for a login's state and nonce and returns the
# callback response. mint arguments pass through, and claim overrides go
# in overrides.
sub callback_form {
    my %args = @_;
    my $login = $args{login};
    my $tenant = $args{tenant} || 'a';
    my $claims = $args{claims}
        || id_token_claims(tenant => $tenant, nonce => $login->{nonce},
                           overrides => $args{overrides});
    my %mint_request = (tenant => $tenant, claims => $claims);
    for my $name (qw(key header raw embed_jwk ec_signature)) {
        $mint_request{$name} = $args{$name} if exists $args{$name};
    }
    my $token = mint(%mint_request);
    return callback(vhost => $args{vhost}, host => $args{host},
                    callback_path => $args{callback_path},
                    login => $login,
                    fields => [state => $login->{state},
                               id_token => $token]);
}

# Signs in sub at a tenant host through login and callback. Returns
# {session (cookie value or undef), login, response (of the callback)}.
sub sign_in {
    my %args = @_;
    my $tenant = $args{tenant} || 'a';
    my $host = $args{host} || "$tenant.tenants.test";
    my $login = start_login(vhost => $args{vhost}, host => $host,
                            next => $args{next},
                            login_path => $args{login_path});
    die "login at $host returned " . $login->{response}->status_line
        . "\n" unless $login->{response}->code == 302 && $login->{cookie};
    my $response = callback_form(
        vhost => $args{vhost}, host => $host, tenant => $tenant,
        login => $login, callback_path => $args{callback_path},
        overrides => { sub => $args{sub} || 'alice' });
    my $cookie = session_cookie_set($response);
    return { session => $cookie ? $cookie->{value} : undef,
             login => $login, response => $response };
}

# Runs a login and a callback as a browser would: the callback sends the
# cookies the browser holds after the login, and a follow-up GET of
# follow_up_path (default /hub/home) sends those it holds afterwards.
#   vhost, host, login_path, callback_path   as for start_login and callback
#   token    code ref that receives the login and returns the id_token
#   cookies  hash ref of other cookies the browser holds from the start
# Returns {login, response (of the callback), follow_up, jar, token}.
sub browser_login {
    my %args = @_;
    my %jar = %{ $args{cookies} || {} };
    my $login = start_login(vhost => $args{vhost}, host => $args{host},
                            login_path => $args{login_path},
                            headers => [browser_cookie_header(\%jar)]);
    browser_store(\%jar, $login->{response});
    my $token = $args{token}->($login);
    my $response = callback(vhost => $args{vhost}, host => $args{host},
                            callback_path => $args{callback_path},
                            headers => [browser_cookie_header(\%jar)],
                            fields => [state => $login->{state},
                                       id_token => $token]);
    browser_store(\%jar, $response);
    my $follow_up = request(vhost => $args{vhost}, host => $args{host},
                            path => $args{follow_up_path} || '/hub/home',
                            headers => [browser_cookie_header(\%jar)]);
    return { login => $login, response => $response,
             follow_up => $follow_up, jar => \%jar, token => $token };
}

# Error log.

sub error_log_path {
    return Apache::Test::vars('t_logs') . '/error_log';
}

# Returns the current size of the error log, to read what follows later.
sub error_log_mark {
    return -s error_log_path() || 0;
}

sub error_log_since {
    my $mark = shift;
    open my $log, '<', error_log_path() or return '';
    seek $log, $mark, 0;
    local $/;
    my $text = <$log>;
    close $log;
    return defined $text ? $text : '';
}

# Returns the first error log line after mark that matches pattern,
# waiting up to 3 s for httpd to write it, or undef.
sub wait_for_log {
    my ($mark, $pattern) = @_;
    for (1 .. 30) {
        for my $line (split /\n/, error_log_since($mark)) {
            return $line if $line =~ $pattern;
        }
        select undef, undef, undef, 0.1;
    }
    return undef;
}

1;

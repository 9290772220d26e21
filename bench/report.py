"""Write the benchmark's results page from the raw files of one bench/run.

Usage: report.py RUN_DIR OUTPUT_FILE

RUN_DIR contains meta.tsv, results.tsv, rss.tsv and speed.txt, plus
cold.tsv and instructions.tsv when those were measured. Only the standard
library is used.
"""

import csv
import re
import statistics
import sys
from pathlib import Path

# Signed-in requests/s must reach this share of bare httpd's in one run.
TARGET_RATIO = 0.97

CONFIGS = [
    ("bare", "1", "bare httpd, no authentication"),
    ("mto", "2", "mod_multitenant_oidc, session in a sealed cookie"),
    ("mto-miss", "2m", "as 2, a different session on every request"),
    ("mto-shm", "3", "mod_multitenant_oidc, server-side session in shmcb"),
    ("oidc-cookie", "4a", "mod_auth_openidc, client-cookie session"),
    ("oidc-shm", "4b", "mod_auth_openidc, server-cache session in shm"),
]

RATIOS = [
    ("2/1", "mto", "bare"),
    ("2m/1", "mto-miss", "bare"),
    ("2/4a", "mto", "oidc-cookie"),
    ("2/4b", "mto", "oidc-shm"),
    ("3/1", "mto-shm", "bare"),
]

SCHEMES = [("http", "HTTP"), ("https", "HTTPS")]

# Callbacks per second of this module must reach this many times
# mod_auth_openidc's with client-cookie sessions, in one run.
CALLBACK_RATIO_TARGET = 3.0

# Callbacks per second of this module must also reach this share of the
# ceiling that bare httpd and signature verification set together
# (callback_ceiling).
CALLBACK_CEILING_TARGET = 0.80

ALGORITHMS = [("RS256", "RS256 (RSA-2048)"), ("ES256", "ES256 (ECDSA P-256)")]

CALLBACK_CONFIGS = ("mto", "oidc-cookie", "oidc-shm")

CALLBACK_RATIOS = [
    ("2/4a", "mto", "oidc-cookie"),
    ("2/4b", "mto", "oidc-shm"),
]

# Put before a reading carried over from the page of an earlier run.
EARLIER_RUN_NOTE = ("*Written for an earlier run: check it against the "
                    "figures above.*\n\n")

READING_PLACEHOLDER = (
    "Not yet written for this run. Compare the ratios above with the "
    "targets, and say what limits them."
)


def read_tsv(path):
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def read_meta(path):
    meta = {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition("\t")
        meta[key] = value
    return meta


def index_results(rows):
    """Map (round, scheme, config) to the row, for the numbered rounds."""
    table = {}
    for row in rows:
        if row["round"].isdigit():
            table[(row["round"], row["scheme"], row["config"])] = row
    return table


def config_rows(results, scheme, config):
    return [row for (_, s, c), row in sorted(results.items())
            if s == scheme and c == config]


def ratios_per_round(results, scheme, numerator, denominator):
    values = []
    for (rnd, s, c), row in sorted(results.items()):
        if s != scheme or c != numerator:
            continue
        other = results.get((rnd, scheme, denominator))
        if other is not None and float(other["rps"]) > 0:
            values.append(float(row["rps"]) / float(other["rps"]))
    return values


def format_spread(values, digits):
    if not values:
        return "n/a"
    mean = statistics.mean(values)
    if len(values) == 1:
        return f"{mean:.{digits}f}"
    return (f"{mean:.{digits}f} ({min(values):.{digits}f} to "
            f"{max(values):.{digits}f})")


def results_table(results, meta, scheme):
    lines = [
        "| # | configuration | requests/s, mean (range) | p50 ms | p99 ms |"
        " Cookie header bytes |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for config, number, label in CONFIGS:
        state = meta.get(f"state:{config}", "not run")
        rows = config_rows(results, scheme, config)
        if state != "ready" or not rows:
            lines.append(f"| {number} | {label} | {state} | | | |")
            continue
        rps = [float(row["rps"]) for row in rows]
        p50 = statistics.median(float(row["p50_ms"]) for row in rows)
        p99 = statistics.median(float(row["p99_ms"]) for row in rows)
        cookie = meta.get(f"cookie_bytes:{config}", "0")
        lines.append(f"| {number} | {label} | {format_spread(rps, 0)} | "
                     f"{p50:.2f} | {p99:.2f} | {cookie} |")
    return lines


def ratio_table(results):
    lines = ["| ratio of requests/s | HTTP | HTTPS |", "| --- | --- | --- |"]
    for name, numerator, denominator in RATIOS:
        cells = []
        for scheme, _ in SCHEMES:
            values = ratios_per_round(results, scheme, numerator,
                                      denominator)
            cells.append(format_spread(values, 3))
        if all(cell == "n/a" for cell in cells):
            cells = ["not measured", "not measured"]
        lines.append(f"| {name} | {cells[0]} | {cells[1]} |")
    return lines


def target_lines(results):
    lines = []
    for scheme, title in SCHEMES:
        values = ratios_per_round(results, scheme, "mto", "bare")
        if not values:
            lines.append(f"- {title}: not measured.")
            continue
        mean = statistics.mean(values)
        verdict = "met" if mean >= TARGET_RATIO else "not met"
        lines.append(f"- {title}: 2/1 = {mean:.3f} over {len(values)} "
                     f"round(s), lowest {min(values):.3f}: **{verdict}**.")
    return lines


def rounds_memory_lines(by_key):
    lines = ["| # | configuration | RSS after the warm-up, KiB | "
             "RSS after the rounds, KiB | requests in between |",
             "| --- | --- | --- | --- | --- |"]
    for config, number, label in CONFIGS:
        start = by_key.get((config, "start"))
        end = by_key.get((config, "end"))
        if start is None or end is None:
            continue
        served = int(end["requests"]) - int(start["requests"])
        lines.append(f"| {number} | {label} | {int(start['rss_kib']):,} | "
                     f"{int(end['rss_kib']):,} | {served:,} |")
    return lines


def long_readings(by_key, config):
    """Return the long run's readings of one configuration, in order.

    Reading 0 is taken before the first part and reading N after part N.
    """
    readings = []
    while (config, f"long-{len(readings)}") in by_key:
        readings.append(by_key[(config, f"long-{len(readings)}")])
    return readings


def long_run_lines(by_key, meta):
    """Return the RSS after each part of the long run, per configuration.

    Growth is counted from the end of the first part, after which the
    allocators of the threads that take work have mostly grown.
    """
    runs = {config: long_readings(by_key, config) for config, _, _ in CONFIGS}
    runs = {config: readings for config, readings in runs.items()
            if len(readings) >= 3}
    if not runs:
        return ["No long run was made."]
    parts = max(len(readings) for readings in runs.values()) - 1
    header = " | ".join(f"after part {part}" for part in range(1, parts + 1))
    lines = [f"| # | seconds per part | RSS, KiB: before | {header} | "
             "growth after part 1 | requests after part 1 | "
             "growth per request |",
             "| --- " * (parts + 6) + "|"]
    for config, number, _ in CONFIGS:
        readings = runs.get(config)
        if readings is None:
            continue
        rss = [f"{int(reading['rss_kib']):,}" for reading in readings]
        rss += [""] * (parts + 1 - len(rss))
        served = (int(readings[-1]["requests"])
                  - int(readings[1]["requests"]))
        growth = int(readings[-1]["rss_kib"]) - int(readings[1]["rss_kib"])
        per_request = growth * 1024 / served if served else 0.0
        seconds = meta.get(f"long_part_seconds:{config}", "?")
        lines.append(f"| {number} | {seconds} | {' | '.join(rss)} | "
                     f"{growth:+,} KiB | {served:,} | "
                     f"{per_request:+.2f} bytes |")
    return lines


def cold_lines(cold_rows):
    if not cold_rows:
        return ["Not measured: the provider or the module did not run."]
    lines = ["| tenant host | first request, ms | back-channel requests |"
             " second request, ms | back-channel requests | status |",
             "| --- | --- | --- | --- | --- | --- |"]
    hosts = {}
    for row in cold_rows:
        hosts.setdefault(row["host"], {})[row["phase"]] = row
    cold_ms = []
    warm_ms = []
    for host, phases in hosts.items():
        cold = phases.get("cold")
        warm = phases.get("warm")
        if cold is None or warm is None:
            continue
        cold_ms.append(float(cold["seconds"]) * 1000)
        warm_ms.append(float(warm["seconds"]) * 1000)
        status = cold["status"]
        if warm["status"] != status:
            status += f", then {warm['status']}"
        lines.append(f"| {host} | {cold_ms[-1]:.1f} | "
                     f"{cold.get('fetches', '?')} | {warm_ms[-1]:.1f} | "
                     f"{warm.get('fetches', '?')} | {status} |")
    if cold_ms:
        lines.append("")
        lines.append(f"Median: {statistics.median(cold_ms):.1f} ms for the "
                     f"first request, {statistics.median(warm_ms):.1f} ms "
                     "for the second.")
    return lines


def verify_rates(speed_text):
    """Return {algorithm: verifies per second on one core} from openssl."""
    rsa = re.search(r"^rsa 2048 bits\s+\S+\s+\S+\s+\S+\s+(\S+)", speed_text,
                    re.MULTILINE)
    ecdsa = re.search(r"256 bits ecdsa \(nistp256\)\s+\S+\s+\S+\s+\S+\s+"
                      r"(\S+)", speed_text)
    rates = {}
    if rsa is not None:
        rates["RS256"] = float(rsa.group(1))
    if ecdsa is not None:
        rates["ES256"] = float(ecdsa.group(1))
    return rates


def speed_lines(speed_text, cores):
    rates = verify_rates(speed_text)
    if len(rates) != len(ALGORITHMS):
        return ["`openssl speed` gave no verify rates."]
    lines = ["| id_token algorithm | verify/s on one core | "
             f"ceiling on {cores} cores |", "| --- | --- | --- |"]
    for alg, name in ALGORITHMS:
        rate = rates[alg]
        lines.append(f"| {name} | {rate:,.0f} | {rate * cores:,.0f} |")
    return lines


# Library functions shown with the module's own functions in the
# inclusive profile: those the module calls, and EVP_CIPHER_fetch, which
# EVP_DecryptInit_ex runs on every call with a cipher from
# EVP_aes_256_gcm() in OpenSSL 3.
LIBRARY_FUNCTIONS = {
    "json_loadb", "json_delete", "EVP_DecryptInit_ex", "EVP_DecryptUpdate",
    "EVP_DecryptFinal_ex", "EVP_CIPHER_CTX_new", "EVP_CIPHER_CTX_free",
    "EVP_CIPHER_CTX_ctrl", "EVP_CIPHER_fetch", "apr_table_do",
}

PROFILE_LINE = re.compile(r"^\s*([\d,]+) \(\s*[\d.]+%\)\s+(\S+?):(\S+)"
                          r"(?:\s+\[(.*)\])?\s*$")


def read_profile(path):
    """Return (count, function, is_module) for each line of an annotation.

    Function names only, never file paths, because those name the machine
    the profile was taken on. A function without a symbol is named by its
    address and its library's file name.
    """
    if not path.exists():
        return []
    entries = []
    for line in path.read_text().splitlines():
        match = PROFILE_LINE.match(line)
        if match is None or match.group(3) == "TOTALS":
            continue
        count = int(match.group(1).replace(",", ""))
        location = f"{match.group(2)} {match.group(4) or ''}"
        is_module = ("mod_multitenant_oidc" in location
                     or "/src/" in location)
        function = match.group(3)
        if function.startswith("0x") and match.group(4):
            library = match.group(4).rsplit("/", 1)[-1]
            function = f"{function} in {library}"
        entries.append((count, function, is_module))
    return entries


def instruction_lines(run, rows):
    if not rows:
        return ["Not measured (valgrind missing or `--no-callgrind`)."]
    per_request = {}
    for row in rows:
        per_request[(row["config"], row["scheme"])] = (
            int(row["instructions"]) / int(row["requests"]))
    lines = ["| configuration | HTTP | HTTPS |", "| --- | --- | --- |"]
    for config, number, label in CONFIGS:
        cells = [per_request.get((config, scheme)) for scheme, _ in SCHEMES]
        if all(cell is None for cell in cells):
            continue
        lines.append(f"| {number}. {label} | " + " | ".join(
            "n/a" if cell is None else f"{cell:,.0f}" for cell in cells)
            + " |")
    for config, number in (("mto", "2"), ("mto-miss", "2m"),
                           ("mto-shm", "3")):
        cells = []
        for scheme, _ in SCHEMES:
            bare = per_request.get(("bare", scheme))
            module = per_request.get((config, scheme))
            cells.append("n/a" if not bare or not module
                         else f"{bare / module:.3f}")
        if cells != ["n/a", "n/a"]:
            lines.append(f"| ratio 1/{number} (instructions of 1 / of "
                         f"{number}) | {cells[0]} | {cells[1]} |")

    for config, number in (("mto", "2"), ("mto-miss", "2m")):
        lines += profile_tables(run, rows, config, number)
    return lines


def profile_tables(run, rows, config, number):
    """Return the costliest functions of one configuration over HTTP."""
    row = next((row for row in rows
                if row["config"] == config and row["scheme"] == "http"), None)
    if row is None or not int(row["requests"]):
        return []
    requests = int(row["requests"])
    total = int(row["instructions"])

    lines = ["", f"Costliest functions of configuration {number} over "
             "HTTP, inclusive (with their callees): the module's functions "
             "and the jansson, OpenSSL and APR functions they reach:", "",
             "| function | instructions per request | share of all |",
             "| --- | --- | --- |"]
    best = {}
    for count, function, is_module in read_profile(
            run / "callgrind" / f"{config}-http-inclusive.txt"):
        if is_module or function in LIBRARY_FUNCTIONS:
            best[function] = max(count, best.get(function, 0))
    ranked = sorted(best.items(), key=lambda item: item[1], reverse=True)
    for function, count in ranked[:20]:
        lines.append(f"| `{function}` | {count / requests:,.0f} | "
                     f"{count / total:.1%} |")

    lines += ["", f"Costliest functions of configuration {number} over "
              "HTTP, exclusive (their own instructions only):", "",
              "| function | instructions per request | share of all |",
              "| --- | --- | --- |"]
    exclusive = {}
    for count, function, _ in read_profile(
            run / "callgrind" / f"{config}-http-exclusive.txt"):
        exclusive[function] = exclusive.get(function, 0) + count
    ranked = sorted(exclusive.items(), key=lambda item: item[1], reverse=True)
    for function, count in ranked[:12]:
        lines.append(f"| `{function}` | {count / requests:,.0f} | "
                     f"{count / total:.1%} |")
    return lines


def existing_reading(path):
    """Return the hand-written reading of the page at path, if any."""
    if not path.exists():
        return None
    match = re.search(r"<!-- reading -->\n(.*?)\n<!-- /reading -->",
                      path.read_text(), re.DOTALL)
    return match.group(1) if match else None


def intro_section(meta):
    return [
        "# Benchmark: cost per signed-in request",
        "",
        "`bench/run` measures the requests per second and latency of a "
        "signed-in request through mod_multitenant_oidc next to bare httpd "
        "and next to mod_auth_openidc, and the callbacks per second that "
        "complete a login, side by side in one run on one machine. Rerun "
        "it with `sudo bench/run` on Debian 12. It rewrites everything on "
        "this page above the reading.",
        "",
        "## Machine and versions",
        "",
        "| | |",
        "| --- | --- |",
        f"| date | {meta['date']} |",
        f"| cores (nproc) | {meta['cores']} |",
        f"| load average (1, 5, 15 min) at start and end | "
        f"{meta.get('load_start', '?')}; {meta.get('load_end', '?')} |",
        f"| CPU | {meta['cpu']} |",
        f"| httpd | {meta['httpd']}, event MPM (2 children of 32 threads) |",
        f"| mod_multitenant_oidc | {meta['module']} (git describe), "
        f"build {meta.get('module_sha256', '?')} (SHA-256 prefix) |",
        f"| mod_auth_openidc | {meta['mod_auth_openidc']} (Debian) |",
        f"| OpenSSL | {meta['openssl']} |",
        f"| wrk | {meta['wrk']} |",
        f"| oidc-provider (for the logins) | {meta['oidc-provider']} |",
        "",
    ]


def method_section(meta, all_results):
    socket_errors = sum(int(row["socket_errors"]) for row in all_results)
    requests = sum(int(row["requests"]) for row in all_results)
    return [
        "## Method",
        "",
        "- Every configuration is its own httpd instance (Debian's "
        "`/usr/sbin/apache2`, event MPM, two children of 32 threads, no child "
        "started or stopped during the run) on loopback. All serve the same "
        f"{meta['file_bytes']}-byte static file `/private/hello.txt` from one "
        "document root, so the upstream cost is identical and nothing is "
        "proxied. Each writes a one-line access log (`%>s %u`).",
        f"- Load: wrk, {meta['threads']} threads, {meta['connections']} "
        f"keep-alive connections, {meta['duration']} s per run, with "
        "`--latency` for p50 and p99 and the session cookie sent with "
        "`wrk -H`. HTTPS is TLS 1.3 only, with an ECDSA P-256 certificate. "
        "`MaxKeepAliveRequests 0` keeps handshakes out of the figures.",
        f"- {meta['rounds']} rounds. Each round runs every configuration "
        "over HTTP and over HTTPS, in reverse order on even rounds. After "
        "each run the script checks that wrk saw no error status and that "
        "every access log line shows status 200 and the signed-in user, so "
        "every figure is of the signed-in path, never of a redirect. It "
        "accepts at most one socket error per thousand requests (a "
        f"connection reset as wrk stops). Socket errors in this run: "
        f"{socket_errors} in {requests:,} requests.",
        "- Sessions for configurations 2 and 2m: cookies printed by "
        "`bench/mint-session`, which seals session records with the "
        "module's own code (src/record.c, src/crypto.c), the same sealing "
        "the module does after a real callback. Check against a real login "
        f"through the module: {meta['mint_check']}.",
        "- Configuration 2 sends one session cookie with every request, so "
        "after the first request each httpd child finds that session in "
        "the module's per-process memo of opened sessions: the best case, "
        "a browser coming back. Configuration 2m runs the same httpd "
        "configuration but sends the next of "
        f"{int(meta.get('miss_cookies', '0')):,} "
        "sessions with each request (`bench/rotate-cookies.lua`), so every "
        "request opens and decodes its cookie: the worst case. wrk runs a "
        "Lua function per request there, which takes some of the shared "
        "cores, so 2m's ratio understates the module a little. The "
        "instruction counts below do not have that bias.",
        "- Sessions for configuration 4: one real login through "
        "mod_auth_openidc (authorization code flow with PKCE) at an "
        "oidc-provider instance started by the script, driven with curl. "
        "wrk then reuses the session cookies. mod_auth_openidc is set up "
        "to do nearly the same job per request as this module: set the "
        "user and a request header with the user name "
        "(`OIDCAuthNHeader`, `OIDCPassClaimsAs none`). The module also "
        "sets a second header, the tenant's API base URL.",
        f"- The machine has {meta['cores']} cores, shared by wrk and httpd, "
        "and other programs may run beside the benchmark. Compare ratios "
        "from one run only, never absolute figures across runs. Each ratio "
        "is the mean of the per-round ratios, with their range, and p50 "
        "and p99 are the medians of the per-round values.",
        "",
    ]


def results_section(meta, results):
    lines = []
    for scheme, title in SCHEMES:
        lines += [f"## Results over {title}", ""]
        lines += results_table(results, meta, scheme)
        lines.append("")
    lines += ["## Ratios", ""]
    lines += ratio_table(results)
    lines += [
        "",
        "## Targets",
        "",
        f"Target: a signed-in request through the module reaches at least "
        f"{TARGET_RATIO:.0%} of bare httpd's requests per second in the "
        "same run (ratio 2/1), over HTTPS and over plain HTTP.",
        "",
    ]
    lines += target_lines(results)
    lines.append("")
    return lines


def memory_section(meta, rss_rows):
    by_key = {(row["config"], row["phase"]): row for row in rss_rows}
    target = int(meta.get("long_requests", "0"))
    lines = [
        "## Memory of httpd children",
        "",
        "RSS summed over the two children of each instance.",
        "",
    ]
    lines += rounds_memory_lines(by_key)
    lines += [
        "",
        "Long run, after the rounds: signed-in requests over HTTPS in parts "
        "of equal length per configuration, with the RSS read after each "
        "part. Growth is counted from the end of the first part, while the "
        "allocators of the worker threads settle. The parts are sized from "
        "the configuration's HTTPS rate in the rounds, and parts follow "
        f"until at least {meta.get('long_parts', '?')} have run and those "
        f"after the first have served {target:,} requests.",
        "",
    ]
    lines += long_run_lines(by_key, meta)
    lines.append("")
    return lines


def cold_start_section(cold_rows):
    lines = [
        "## Cold start of a tenant",
        "",
        "Time from the first request at `/hub/login` of a tenant host the "
        "module has not seen to its redirect to the provider, measured with "
        "curl over a new HTTPS connection. In between, the module fetches "
        "the tenant information (served by the bare instance) and the "
        "provider's discovery document over loopback TLS. The second "
        "request at the same host finds the tenant in the shared cache. "
        "The back-channel requests of each are the change in the module's "
        "`mto_backchannel_requests_total` counters around it.",
        "",
    ]
    lines += cold_lines(cold_rows)
    lines.append("")
    return lines


def index_callbacks(rows):
    """Map (round, config, alg) to the row, for the numbered rounds."""
    return {(row["round"], row["config"], row["alg"]): row for row in rows
            if row["round"].isdigit()}


def callback_rows(callbacks, config, alg):
    return [row for (_, c, a), row in sorted(callbacks.items())
            if c == config and a == alg]


def callback_ratios(callbacks, alg, numerator, denominator):
    """Return the per-round ratios of two configurations' callback rates."""
    values = []
    for (rnd, c, a), row in sorted(callbacks.items()):
        if c != numerator or a != alg:
            continue
        other = callbacks.get((rnd, denominator, alg))
        if other is not None and float(other["rate"]) > 0:
            values.append(float(row["rate"]) / float(other["rate"]))
    return values


def bare_https_rate(results):
    values = [float(row["rps"]) for row in config_rows(results, "https",
                                                       "bare")]
    return statistics.mean(values) if values else None


def callback_ceiling(bare_rate, verify_rate, cores):
    """Return the callbacks/s if each cost a bare request and a verify.

    The verifications are spread over the cores, and the HTTP work of a
    request and its verification take their time one after the other.
    """
    return 1 / (1 / bare_rate + 1 / (cores * verify_rate))


def callback_table(callbacks, meta):
    lines = ["| # | configuration | id_token | callbacks/s, mean (range) | "
             "p50 ms | p99 ms | provider fetches while timed |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for alg, _ in ALGORITHMS:
        for config, number, label in CONFIGS:
            if config not in CALLBACK_CONFIGS:
                continue
            rows = callback_rows(callbacks, config, alg)
            if not rows:
                state = meta.get(f"state:{config}", "not run")
                lines.append(f"| {number} | {label} | {alg} | "
                             f"not measured ({state}) | | | |")
                continue
            rates = [float(row["rate"]) for row in rows]
            p50 = statistics.median(float(row["p50_ms"]) for row in rows)
            p99 = statistics.median(float(row["p99_ms"]) for row in rows)
            fetches = sum(int(row["provider_fetches"]) for row in rows)
            lines.append(f"| {number} | {label} | {alg} | "
                         f"{format_spread(rates, 0)} | {p50:.2f} | "
                         f"{p99:.2f} | {fetches} |")
    return lines


def callback_ratio_table(callbacks):
    lines = ["| ratio of callbacks/s | RS256 | ES256 |", "| --- | --- | --- |"]
    for name, numerator, denominator in CALLBACK_RATIOS:
        cells = [format_spread(callback_ratios(callbacks, alg, numerator,
                                               denominator), 2)
                 for alg, _ in ALGORITHMS]
        lines.append(f"| {name} | {cells[0]} | {cells[1]} |")
    return lines


def ceiling_table(callbacks, bare_rate, rates, cores):
    lines = ["| id_token | bare httpd requests/s over HTTPS | verify/s on "
             f"{cores} cores | ceiling, callbacks/s | "
             f"{CALLBACK_CEILING_TARGET:.0%} of the ceiling | "
             "module's callbacks/s | share of the ceiling |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for alg, _ in ALGORITHMS:
        module = [float(row["rate"]) for row in callback_rows(callbacks,
                                                              "mto", alg)]
        ceiling = callback_ceiling(bare_rate, rates[alg], cores)
        share = (f"{statistics.mean(module) / ceiling:.0%}" if module
                 else "n/a")
        rate = f"{statistics.mean(module):,.0f}" if module else "n/a"
        lines.append(f"| {alg} | {bare_rate:,.0f} | "
                     f"{rates[alg] * cores:,.0f} | {ceiling:,.0f} | "
                     f"{ceiling * CALLBACK_CEILING_TARGET:,.0f} | {rate} | "
                     f"{share} |")
    return lines


def callback_target_lines(callbacks, bare_rate, rates, cores):
    lines = []
    for alg, _ in ALGORITHMS:
        ratios = callback_ratios(callbacks, alg, "mto", "oidc-cookie")
        if not ratios:
            lines.append(f"- (a) {alg}: not measured.")
            continue
        mean = statistics.mean(ratios)
        verdict = "met" if mean >= CALLBACK_RATIO_TARGET else "not met"
        lines.append(f"- (a) {alg}: 2/4a = {mean:.2f} over {len(ratios)} "
                     f"round(s), lowest {min(ratios):.2f}: **{verdict}**.")
    for alg, _ in ALGORITHMS:
        module = [float(row["rate"]) for row in callback_rows(callbacks,
                                                              "mto", alg)]
        if not module or bare_rate is None or alg not in rates:
            lines.append(f"- (b) {alg}: not measured.")
            continue
        ceiling = callback_ceiling(bare_rate, rates[alg], cores)
        mean = statistics.mean(module)
        verdict = ("met" if mean >= CALLBACK_CEILING_TARGET * ceiling
                   else "not met")
        lines.append(f"- (b) {alg}: {mean:,.0f} callbacks/s against a "
                     f"ceiling of {ceiling:,.0f}, {mean / ceiling:.0%} of "
                     f"it: **{verdict}**.")
    return lines


def callback_method_lines(meta, callback_rows_all):
    fetch_note = ("none in any timed run" if not any(
        int(row["provider_fetches"]) for row in callback_rows_all
        if row["round"].isdigit()) else "see the last column")
    return [
        "A callback is the request that the provider's form_post makes "
        "after a user signed in. For each one the server checks the posted "
        "state against the browser's state cookie, verifies the id_token's "
        "signature with the provider's key and checks its claims (`iss`, "
        "`aud`, `exp`, `iat`, `nonce`). It then marks the login as used in "
        "its shared-memory cache (this module takes the login's pending "
        "entry, mod_auth_openidc stores the nonce), creates a session "
        "cookie and redirects to the page first requested.",
        "",
        "- Provider: static files, no provider process. The script makes an "
        "RSA-2048 and a P-256 key pair with openssl, and the bare instance "
        "serves over HTTPS, for each algorithm, a discovery document and a "
        "JWK Set with the one public key, plus the tenant information of "
        "the tenant host `rs256.callback.localhost` or "
        "`es256.callback.localhost`.",
        "- Logins: just before each timed run, `bench/mint-callbacks.mjs` "
        "starts one login per callback with a GET that carries no cookie, "
        "as from a new browser, over keep-alive HTTPS. It reads the state "
        "and the nonce from the redirect to the provider and the state "
        "cookie from the response, and signs an id_token for that login "
        "with `iss`, `aud`, `sub`, `nonce`, `iat`, `exp` and a `jti` of "
        "its own. Each line is posted once; no state appears twice.",
        f"- Load: wrk over HTTPS with {meta['threads']} threads and "
        f"{meta['connections']} keep-alive connections, as in the rounds "
        "above, posts each callback once (`bench/post-callbacks.lua`, the "
        "threads take disjoint lines). A timed run posts "
        f"{int(meta.get('callbacks', '0')):,} callbacks and ends when the "
        "last one is answered. Its rate is the successful callbacks "
        "divided by the time from the first request sent to the last "
        "response received. p50 and p99 are wrk's latencies, medians of "
        "the per-round values.",
        "- Every callback counted signed a user in: wrk saw the success "
        "status (303 from this module, 302 from mod_auth_openidc) with "
        "the session cookie in the last Set-Cookie header of each "
        "response, the instance's access log has one line with that "
        "status per callback, and for this module the counter "
        "`mto_callbacks_total{result=\"accepted\"}` of its metrics handler "
        "rose by the number posted while the rejected one stayed put. "
        "Otherwise the script stops.",
        "- mod_auth_openidc signs in with the same implicit flow "
        "(`OIDCResponseType id_token`, `OIDCResponseMode form_post`), the "
        "same client id and the same discovery documents, with one virtual "
        "host per algorithm. 4a keeps its session in client cookies, the "
        "like of this module's sealed cookie, and 4b in its shm cache.",
        f"- Warm-up: before the rounds, each configuration and algorithm "
        f"takes {meta.get('callback_warmup', '?')} untimed callbacks, which "
        "fetch and cache the tenant information, the discovery document "
        "and the key set. Fetches from the static provider during the "
        f"timed runs, read from the bare instance's log: {fetch_note}.",
        f"- Rounds: {meta['rounds']}, each with every configuration and "
        "both algorithms, the configurations in reverse order and the "
        "algorithms swapped on even rounds. Each ratio is the mean of the "
        "per-round ratios, with their range.",
        "- Differences that remain: this module records each login in its "
        "shared cache (a 16 MiB shmcb, which holds every login of a run) "
        "and the callback takes that entry. mod_auth_openidc keeps its "
        "shm cache at the default size (500 entries), which a run fills, "
        "so each of its callbacks also drops an old entry: it stores the "
        "nonce and the `jti` of each token there, and in 4b the session "
        "as well. It logs a warning for each entry it drops, so the "
        "callback hosts log its errors only, and these log writes do not "
        "count against it. Its state cookies live 300 s, and this "
        "module's 600 s. A callback whose state had expired before it was "
        "posted would fail the checks above.",
        "",
    ]


def callback_section(meta, callback_rows_all, results, speed_text, cores):
    callbacks = index_callbacks(callback_rows_all)
    bare_rate = bare_https_rate(results)
    rates = verify_rates(speed_text)
    lines = ["## Callbacks per second", ""]
    lines += callback_method_lines(meta, callback_rows_all)
    lines += callback_table(callbacks, meta)
    lines += ["", "Ratios, this module's callback rate to "
              "mod_auth_openidc's in the same round:", ""]
    lines += callback_ratio_table(callbacks)
    lines += [
        "",
        "### Ceiling",
        "",
        "Each callback verifies one id_token signature. `openssl speed "
        "-seconds 3 rsa2048 ecdsap256` gives the verify rate on one core. "
        "Times the cores, it bounds the callbacks per second from "
        "signature verification alone, before JSON parsing, the cookies "
        "and HTTP.",
        "",
    ]
    lines += speed_lines(speed_text, cores)
    lines += [
        "",
        "A callback also costs at least what a request to bare httpd "
        "costs. The ceiling used in target (b) therefore adds the two: "
        "1 / (1 / bare httpd's requests per second over HTTPS in the "
        "rounds above + 1 / (cores x verify rate)).",
        "",
    ]
    if bare_rate is not None and len(rates) == len(ALGORITHMS):
        lines += ceiling_table(callbacks, bare_rate, rates, cores)
        lines.append("")
    lines += [
        "### Targets",
        "",
        f"(a) This module completes at least {CALLBACK_RATIO_TARGET:g} "
        "times the callbacks per second of mod_auth_openidc with "
        "client-cookie sessions (ratio 2/4a). (b) It reaches at least "
        f"{CALLBACK_CEILING_TARGET:.0%} of the ceiling above.",
        "",
    ]
    lines += callback_target_lines(callbacks, bare_rate, rates, cores)
    lines.append("")
    return lines


def instructions_section(run, meta):
    lines = [
        "## Instructions per request",
        "",
        "User-space instructions per request in httpd, counted by valgrind's "
        "callgrind in one httpd process (`-X`) loaded by wrk over one "
        "keep-alive connection for "
        f"{meta.get('callgrind_seconds', '?')} s. Only the work inside "
        "`ap_run_process_connection` counts: reading, processing and "
        "writing requests, not start-up. Other load on the machine does "
        "not change these counts, but they leave out the kernel's work "
        "(sockets, the access log write), so the throughput ratio is "
        "closer to 1 than the instruction ratio. A server-side session "
        "(configuration 3) lives in the cache of the profiled process, so "
        "it takes one login there first, and the instructions of the "
        "module's login and callback handlers are subtracted.",
        "",
    ]
    lines += instruction_lines(run, read_tsv(run / "instructions.tsv"))
    lines.append("")
    return lines


def reading_section(output):
    reading = existing_reading(output)
    if reading is not None and reading.startswith(EARLIER_RUN_NOTE):
        reading = reading[len(EARLIER_RUN_NOTE):]
    if reading is None or reading == READING_PLACEHOLDER:
        reading = READING_PLACEHOLDER
    else:
        reading = EARLIER_RUN_NOTE + reading
    return ["## Reading", "", "<!-- reading -->", reading,
            "<!-- /reading -->", ""]


def main(argv):
    if len(argv) != 3:
        sys.exit("usage: report.py RUN_DIR OUTPUT_FILE")
    run = Path(argv[1])
    output = Path(argv[2])
    meta = read_meta(run / "meta.tsv")
    all_results = read_tsv(run / "results.tsv")
    results = index_results(all_results)
    speed_path = run / "speed.txt"
    speed_text = speed_path.read_text() if speed_path.exists() else ""

    page = intro_section(meta)
    page += method_section(meta, all_results)
    page += results_section(meta, results)
    page += memory_section(meta, read_tsv(run / "rss.tsv"))
    page += cold_start_section(read_tsv(run / "cold.tsv"))
    page += callback_section(meta, read_tsv(run / "callbacks.tsv"), results,
                             speed_text, int(meta["cores"]))
    page += instructions_section(run, meta)
    page += reading_section(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text("\n".join(page))


if __name__ == "__main__":
    main(sys.argv)

#!/usr/bin/env bash
# A private Tor network on loopback, built from Debian's `tor` package, for testing BEAT over
# real 3-hop onion services without the public Tor network.
#
#   scripts/tor-testnet.sh start DIR NODES [BIND_IP]   # configure and launch everything
#   scripts/tor-testnet.sh wait  DIR [TIMEOUT_SECS]    # block until every onion is reachable
#   scripts/tor-testnet.sh stop  DIR                   # kill everything started (idempotent)
#
# `start` installs tor if it is missing (apt-get; the Debian system tor service is never started
# or used: every tor here runs from its own torrc under DIR, with an empty defaults-torrc), then
# starts 3 directory authorities and TOR_RELAYS relays (default 6, the last TOR_EXITS = 2 of them
# exits), all `TestingTorNetwork 1` with a 10-second consensus cycle, and NODES tor clients, one
# per BEAT node i = 0..NODES-1. Client i has a SocksPort on BIND_IP (default 127.0.0.1; with
# `ExtendedErrors`, so onion failures come back as SOCKS5 reply codes 0xF0-0xF7), a
# ControlPort on 127.0.0.1 (cookie authentication) and an onion service
# (DIR/node-i/hs, v3, a normal 3-hop service) whose virtual port forwards to 127.0.0.1:LOCALPORT.
#
# Pre-provisioned onion keys: if DIR/node-i/hs/hs_ed25519_secret_key exists before `start`,
# tor uses it (its onion address follows from that key). `start` never deletes DIR/node-i/hs; it
# stops whatever still runs under DIR, then wipes and regenerates everything else (authority
# keys, relay and client state). If `start` fails half-way it stops what it had started.
#
# Ports (all from TOR_BASE_PORT, default 15000; B = base, k = relay index, i = node index):
#   B+k       ORPort of authority/relay k (k = 0,1,2 are the authorities)
#   B+20+k    DirPort of authority/relay k
#   B+100+i   SocksPort of client i                 -> TOR_SOCKS_i
#   B+200+i   ControlPort of client i               -> TOR_CONTROL_i
#   B+300+i   where node i must listen for Tor      -> TOR_HS_TARGET_i
#   B+400+i   virtual port of node i's onion        -> TOR_ONION_i = <56 chars>.onion:<B+400+i>
#
# DIR/env (shell assignments; `. DIR/env`):
#   TOR_TESTNET_DIR, TOR_NODES, TOR_VOTING_INTERVAL (seconds), TOR_SOCKS_i, TOR_CONTROL_i, TOR_ONION_i, TOR_HS_TARGET_i,
#   TOR_NET_PORTS="p1,p2,..."  (every ORPort and DirPort of the authorities and relays: block
#                               these to cut the nodes off from Tor)
#
# `wait` polls until every client has bootstrapped to 100% and, for every node i, a connection
# through client (i+1) mod NODES's SocksPort to TOR_ONION_i reaches a throwaway echo listener on
# TOR_HS_TARGET_i (so run it before the BEAT nodes bind those ports). It prints progress and the
# elapsed time, and exits 1 on timeout or as soon as any tor instance has exited. Ready is
# typically 15-55 s after `start` on 2 cores; the default timeout (600 s) is generous because
# the first onion connection on a loaded machine has been seen to take several minutes.
#
# Works from any cwd and inside a network namespace that has only `lo` up
# (`ip netns exec NS scripts/tor-testnet.sh start ...`). Needs python3 for `wait`.
#
# Environment: TOR_BASE_PORT (15000), TOR_RELAYS (6, non-authority relays, 2..17),
# TOR_EXITS (2), TOR_VOTING_INTERVAL (10 s), TOR_TESTNET_INFO_LOG (0; 1 adds info.log files),
# TOR_RELAY_IP (127.0.0.1: where authorities and relays listen) and TOR_CLIENT_OUTBOUND (unset:
# the node clients' OutboundBindAddress). Tor ignores OutboundBindAddress for loopback
# destinations, so to cut the nodes off from Tor while the relays keep talking to each other,
# put the relays on a non-loopback address (e.g. a dummy interface with 10.77.0.1 and 10.77.0.2:
# TOR_RELAY_IP=10.77.0.1 TOR_CLIENT_OUTBOUND=10.77.0.2) and drop packets from the clients' one.
# shellcheck disable=SC2015 # "A && B || die" is meant: die unless both A and B hold.
set -euo pipefail

readonly AUTHS=3
# Where the authorities and relays listen (an address of this host; 127.0.0.1 by default).
RELAY_IP=${TOR_RELAY_IP:-127.0.0.1}
[[ $RELAY_IP =~ ^[0-9.]+$ ]] || { printf 'tor-testnet: TOR_RELAY_IP must be an IPv4 address\n' >&2; exit 2; }

die() {
    printf 'tor-testnet: %s\n' "$*" >&2
    exit 1
}
log() { printf 'tor-testnet: %s\n' "$*" >&2; }

usage() {
    sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }

# Absolute path of DIR (which need not exist yet), so the script works from any cwd.
abspath() {
    case $1 in
        /*) printf '%s\n' "$1" ;;
        *) printf '%s/%s\n' "$(pwd)" "$1" ;;
    esac
}

base_port() {
    local b="${TOR_BASE_PORT:-15000}"
    is_uint "$b" && ((b >= 1024 && b + 500 <= 65535)) || die "bad TOR_BASE_PORT=$b"
    printf '%s\n' "$b"
}

ensure_tor() {
    if command -v tor >/dev/null && command -v tor-gencert >/dev/null; then
        return
    fi
    log "installing tor (apt-get)"
    # policy-rc.d (exit 101) keeps the package's system service from starting during install.
    local prc=/usr/sbin/policy-rc.d created=0
    if [[ ! -e $prc ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$prc" && chmod 755 "$prc" && created=1
    fi
    (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends tor) >&2 ||
        { ((created)) && rm -f "$prc"; die "apt-get install tor failed"; }
    ((created)) && rm -f "$prc"
    # Where systemd runs, make sure the system instance stays off (it is never used here).
    if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null; then
        systemctl disable --now tor.service >/dev/null 2>&1 || true
    fi
    command -v tor >/dev/null && command -v tor-gencert >/dev/null || die "tor not installed"
}

# Settings shared by every instance (authorities, relays, clients).
common_torrc() { # name datadir
    cat <<EOF
# Generated by scripts/tor-testnet.sh
TestingTorNetwork 1
Nickname $1
DataDirectory $2
PidFile $2/pid
RunAsDaemon 1
Log notice file $2/notice.log
EOF
    if [[ ${TOR_TESTNET_INFO_LOG:-0} == 1 ]]; then
        printf 'Log info file %s/info.log\n' "$2"
    fi
    cat <<EOF
SafeLogging 0
ProtocolWarnings 1
ShutdownWaitLength 0
DisableDebuggerAttachment 0
AssumeReachable 1
PathsNeededToBuildCircuits 0.67
TestingDirAuthVoteExit *
TestingDirAuthVoteHSDir *
TestingDirAuthVoteGuard *
TestingMinExitFlagThreshold 0
V3AuthNIntervalsValid 2
EOF
    cat "$DIR/dirauth.conf"
}

relay_torrc() { # k name datadir
    local k=$1 b
    b=$(base_port)
    common_torrc "$2" "$3"
    cat <<EOF
Address $RELAY_IP
ORPort $RELAY_IP:$((b + k))
DirPort $RELAY_IP:$((b + 20 + k))
SocksPort 0
ContactInfo beat-tor-testnet-$2@localhost
EOF
}

authority_torrc() { # k name datadir
    relay_torrc "$@"
    local vi="${TOR_VOTING_INTERVAL:-10}"
    cat <<EOF
AuthoritativeDirectory 1
V3AuthoritativeDirectory 1
TestingV3AuthInitialVotingInterval 5
TestingV3AuthInitialVoteDelay 2
TestingV3AuthInitialDistDelay 2
V3AuthVotingInterval $vi
V3AuthVoteDelay 2
V3AuthDistDelay 2
ExitRelay 0
EOF
}

# Lists the pid files of everything started under DIR.
pid_files() {
    local f
    for f in "$DIR"/auth-*/data/pid "$DIR"/relay-*/data/pid "$DIR"/node-*/data/pid; do
        [[ -f $f ]] && printf '%s\n' "$f"
    done
    return 0
}

# True if PID is alive and is a `tor ... -f DIR/<instance>/torrc` (guards against pid reuse;
# a zombie has an empty cmdline and does not count).
ours() {
    local pid=$1 args j
    mapfile -d '' -t args 2>/dev/null <"/proc/$pid/cmdline" || return 1
    ((${#args[@]} >= 3)) && [[ ${args[0]##*/} == tor ]] || return 1
    for ((j = 1; j + 1 < ${#args[@]}; j++)); do
        [[ ${args[j]} == -f && ${args[j + 1]} == "$DIR"/*/torrc ]] && return 0
    done
    return 1
}

cmd_stop() {
    local f p pid pids=() n=0
    [[ -d $DIR ]] || return 0
    local -A seen=()
    while IFS= read -r f; do
        pid=$(head -c 32 "$f" 2>/dev/null | tr -dc 0-9) || true
        [[ -n $pid ]] && seen[$pid]=1
        rm -f "$f"
    done < <(pid_files)
    # Also instances that have not written their PidFile yet (a `start` that failed half-way) or
    # whose file is gone: any process running `tor ... -f DIR/<instance>/torrc`.
    for p in /proc/[0-9]*; do
        seen[${p#/proc/}]=1
    done
    for pid in "${!seen[@]}"; do
        if ours "$pid"; then
            kill -TERM "$pid" 2>/dev/null || true
            pids+=("$pid")
        fi
    done
    # Give them up to 10 s to exit, then SIGKILL the stragglers.
    for ((n = 0; n < 100; n++)); do
        local alive=0
        for pid in "${pids[@]}"; do
            ours "$pid" && alive=1
        done
        ((alive)) || break
        sleep 0.1
    done
    for pid in "${pids[@]}"; do
        ours "$pid" && kill -KILL "$pid" 2>/dev/null || true
    done
    ((${#pids[@]})) && log "stopped ${#pids[@]} tor processes under $DIR"
    return 0
}

# Fails if something already listens on ${2:-127.0.0.1}:PORT.
check_port_free() {
    if (exec 3<>"/dev/tcp/${2:-127.0.0.1}/$1") 2>/dev/null; then
        die "port $1 is already in use (set TOR_BASE_PORT to another range)"
    fi
}

start_tor() { # torrc
    local out
    if ! out=$(tor --defaults-torrc "$DIR/empty-defaults" -f "$1" 2>&1); then
        printf '%s\n' "$out" >&2
        die "tor failed to start with $1 (see its notice.log)"
    fi
}

cmd_start() {
    local nodes=$1 bind_ip=$2 relays="${TOR_RELAYS:-6}" exits="${TOR_EXITS:-2}" b k i
    is_uint "$nodes" && ((nodes >= 1 && nodes <= 100)) || die "NODES must be 1..100"
    is_uint "$relays" && ((relays >= 2 && relays <= 17)) || die "TOR_RELAYS must be 2..17"
    is_uint "$exits" && ((exits <= relays)) || die "TOR_EXITS must be 0..TOR_RELAYS"
    [[ $bind_ip =~ ^[0-9.]+$ ]] || die "BIND_IP must be an IPv4 address"
    b=$(base_port)
    ensure_tor

    cmd_stop
    trap cmd_stop EXIT # on failure, stop what was started; cleared on success
    mkdir -p "$DIR"
    # Fresh network state every time; only the onion service keys (node-*/hs) survive.
    rm -rf "$DIR"/auth-* "$DIR"/relay-* "$DIR"/node-*/data "$DIR"/node-*/torrc "$DIR/env" "$DIR/dirauth.conf"
    : >"$DIR/empty-defaults"
    date +%s >"$DIR/started-at"

    local total=$((AUTHS + relays)) net_ports=()
    for ((k = 0; k < total; k++)); do
        check_port_free $((b + k)) "$RELAY_IP"
        check_port_free $((b + 20 + k)) "$RELAY_IP"
        net_ports+=($((b + k)) $((b + 20 + k)))
    done
    for ((i = 0; i < nodes; i++)); do
        check_port_free $((b + 100 + i))
        check_port_free $((b + 200 + i))
    done

    # Authority keys: v3 identity + signing certificate, then the relay identity fingerprint.
    : >"$DIR/dirauth.conf"
    local auth_lines=""
    for ((k = 0; k < AUTHS; k++)); do
        local d="$DIR/auth-$k/data" v3 fp
        mkdir -p "$d/keys"
        chmod 700 "$d" "$d/keys"
        tor-gencert --create-identity-key --passphrase-fd 0 -m 12 \
            -i "$d/keys/authority_identity_key" -s "$d/keys/authority_signing_key" \
            -c "$d/keys/authority_certificate" -a "$RELAY_IP:$((b + 20 + k))" </dev/null >/dev/null 2>&1 ||
            die "tor-gencert failed for authority $k"
        v3=$(awk '/^fingerprint /{print $2; exit}' "$d/keys/authority_certificate")
        tor --defaults-torrc "$DIR/empty-defaults" -f "$DIR/empty-defaults" --ignore-missing-torrc \
            --list-fingerprint --DataDirectory "$d" --ORPort 1 --Nickname "beatauth$k" \
            --DirAuthority "x 127.0.0.1:1 ffffffffffffffffffffffffffffffffffffffff" \
            --Log "err stderr" >/dev/null 2>&1 || die "tor --list-fingerprint failed for authority $k"
        fp=$(awk '{print $2; exit}' "$d/fingerprint")
        [[ $v3 =~ ^[0-9A-F]{40}$ && $fp =~ ^[0-9A-F]{40}$ ]] || die "bad fingerprints for authority $k"
        auth_lines+="DirAuthority beatauth$k orport=$((b + k)) no-v2 v3ident=$v3 $RELAY_IP:$((b + 20 + k)) $fp"$'\n'
    done
    printf '%s' "$auth_lines" >"$DIR/dirauth.conf"

    for ((k = 0; k < AUTHS; k++)); do
        authority_torrc "$k" "beatauth$k" "$DIR/auth-$k/data" >"$DIR/auth-$k/torrc"
    done
    for ((k = AUTHS; k < total; k++)); do
        local d="$DIR/relay-$k/data"
        mkdir -p "$d"
        chmod 700 "$d"
        {
            relay_torrc "$k" "beatrelay$k" "$d"
            if ((k >= total - exits)); then
                printf '%s\n' "ExitRelay 1" "ExitPolicyRejectPrivate 0" \
                    "ExitPolicy accept 127.0.0.0/8:*" "ExitPolicy accept private:*" "ExitPolicy reject *:*"
            else
                printf '%s\n' "ExitRelay 0"
            fi
        } >"$DIR/relay-$k/torrc"
    done
    for ((i = 0; i < nodes; i++)); do
        local n="$DIR/node-$i"
        mkdir -p "$n/data" "$n/hs"
        chmod 700 "$n/data" "$n/hs"
        {
            common_torrc "beatnode$i" "$n/data"
            cat <<EOF
SocksPort $bind_ip:$((b + 100 + i)) ExtendedErrors
ControlPort 127.0.0.1:$((b + 200 + i))
CookieAuthentication 1
HiddenServiceDir $n/hs
HiddenServicePort $((b + 400 + i)) 127.0.0.1:$((b + 300 + i))
EOF
            # The clients' own source address, so a firewall can cut the nodes off from Tor
            # while the relays keep talking to each other.
            if [[ -n ${TOR_CLIENT_OUTBOUND:-} ]]; then
                echo "OutboundBindAddress $TOR_CLIENT_OUTBOUND"
            fi
        } >"$n/torrc"
    done

    for ((k = 0; k < AUTHS; k++)); do start_tor "$DIR/auth-$k/torrc"; done
    for ((k = AUTHS; k < total; k++)); do start_tor "$DIR/relay-$k/torrc"; done
    for ((i = 0; i < nodes; i++)); do start_tor "$DIR/node-$i/torrc"; done
    # Every instance writes its PidFile right after daemonizing; `stop` and `wait` rely on them.
    local t f missing
    for ((t = 0; t < 100; t++)); do
        missing=0
        for f in "$DIR"/*/torrc; do
            [[ -s ${f%/torrc}/data/pid ]] || missing=1
        done
        ((missing)) || break
        sleep 0.1
    done
    ((missing == 0)) || die "some tor instance wrote no pid file (see $DIR/*/data/notice.log)"

    # Tor writes hs/hostname while loading its configuration; it is there almost at once.
    local env="$DIR/env.tmp" host
    {
        printf 'TOR_TESTNET_DIR=%q\n' "$DIR"
        printf 'TOR_NODES=%s\n' "$nodes"
        printf 'TOR_VOTING_INTERVAL=%s\n' "${TOR_VOTING_INTERVAL:-10}"
    } >"$env"
    for ((i = 0; i < nodes; i++)); do
        for ((t = 0; t < 300; t++)); do
            [[ -s $DIR/node-$i/hs/hostname ]] && break
            sleep 0.1
        done
        host=$(tr -d ' \n' <"$DIR/node-$i/hs/hostname" 2>/dev/null) || true
        [[ $host =~ ^[a-z2-7]{56}\.onion$ ]] || die "node $i: no onion hostname in $DIR/node-$i/hs"
        {
            printf 'TOR_SOCKS_%d=%s:%d\n' "$i" "$bind_ip" $((b + 100 + i))
            printf 'TOR_CONTROL_%d=127.0.0.1:%d\n' "$i" $((b + 200 + i))
            printf 'TOR_ONION_%d=%s:%d\n' "$i" "$host" $((b + 400 + i))
            printf 'TOR_HS_TARGET_%d=127.0.0.1:%d\n' "$i" $((b + 300 + i))
        } >>"$env"
    done
    local IFS=,
    printf 'TOR_NET_PORTS="%s"\n' "${net_ports[*]}" >>"$env"
    mv "$env" "$DIR/env"
    trap - EXIT
    log "started $AUTHS authorities, $relays relays ($exits exits), $nodes clients; env in $DIR/env"
}

cmd_wait() {
    local timeout=$1
    is_uint "$timeout" && ((timeout >= 1)) || die "TIMEOUT_SECS must be a positive integer"
    [[ -f $DIR/env ]] || die "no $DIR/env: run start first"
    command -v python3 >/dev/null || die "wait needs python3"
    [[ -n $(pid_files) ]] || die "nothing is running under $DIR: run start first"
    python3 - "$DIR" "$timeout" <<'PY'
import os, socket, struct, sys, threading, time

d, timeout = sys.argv[1], float(sys.argv[2])
env = {}
with open(os.path.join(d, "env")) as f:
    for line in f:
        k, _, v = line.strip().partition("=")
        env[k] = v.strip('"')
n = int(env["TOR_NODES"])
hp = lambda s: (s.rsplit(":", 1)[0], int(s.rsplit(":", 1)[1]))
t0 = time.monotonic()
try:
    with open(os.path.join(d, "started-at")) as f:
        since_start = time.time() - float(f.read().strip())
except (OSError, ValueError):
    since_start = 0.0
deadline = t0 + timeout
stop = threading.Event()

# Throwaway listeners on every TOR_HS_TARGET_i: answer "beat-tor-ok i" and echo what follows.
def serve(srv, i):
    srv.settimeout(0.5)
    while not stop.is_set():
        try:
            c, _ = srv.accept()
        except socket.timeout:
            continue
        except OSError:
            return
        def talk(c=c):
            try:
                c.settimeout(30)
                c.sendall(b"beat-tor-ok %d\n" % i)
                data = c.recv(64)
                if data:
                    c.sendall(data)
            except OSError:
                pass
            finally:
                c.close()
        threading.Thread(target=talk, daemon=True).start()

servers = []
for i in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(hp(env["TOR_HS_TARGET_%d" % i]))
    except OSError as e:
        sys.exit("tor-testnet: cannot listen on TOR_HS_TARGET_%d=%s: %s"
                 % (i, env["TOR_HS_TARGET_%d" % i], e))
    s.listen(16)
    servers.append(s)
    threading.Thread(target=serve, args=(s, i), daemon=True).start()

def bootstrapped(i):
    try:
        with open(os.path.join(d, "node-%d" % i, "data", "notice.log"), "rb") as f:
            return b"Bootstrapped 100%" in f.read()
    except OSError:
        return False

def recv_exact(s, k):
    b = b""
    while len(b) < k:
        c = s.recv(k - len(b))
        if not c:
            raise OSError("closed")
        b += c
    return b

def probe(i):
    """One SOCKS5 connection through client (i+1)%n to onion i; returns None or an error."""
    via = (i + 1) % n
    host, port = hp(env["TOR_ONION_%d" % i])
    try:
        s = socket.create_connection(hp(env["TOR_SOCKS_%d" % via]), timeout=5)
    except OSError as e:
        return "socks %d: %s" % (via, e)
    try:
        s.settimeout(max(5.0, min(60.0, deadline - time.monotonic())))
        s.sendall(b"\x05\x01\x00")
        if recv_exact(s, 2) != b"\x05\x00":
            return "socks auth refused"
        hb = host.encode()
        s.sendall(b"\x05\x01\x00\x03" + bytes([len(hb)]) + hb + struct.pack(">H", port))
        r = recv_exact(s, 4)
        if r[1] != 0:
            return "socks reply 0x%02x" % r[1]
        recv_exact(s, {1: 4, 4: 16}.get(r[3], 0) + 2 if r[3] != 3 else recv_exact(s, 1)[0] + 2)
        want = b"beat-tor-ok %d\n" % i
        got = recv_exact(s, len(want))
        if got != want:
            return "unexpected greeting %r" % got
        s.sendall(b"ping\n")
        if recv_exact(s, 5) != b"ping\n":
            return "no echo"
        return None
    except (OSError, IndexError) as e:
        return str(e) or type(e).__name__
    finally:
        s.close()

ok = [False] * n
last = ["not tried"] * n
lock = threading.Lock()

def worker(i):
    while not stop.is_set() and time.monotonic() < deadline:
        if not all(bootstrapped(j) for j in (i, (i + 1) % n)):
            with lock:
                last[i] = "waiting for bootstrap"
            time.sleep(0.5)
            continue
        err = probe(i)
        with lock:
            if err is None:
                ok[i] = True
                return
            last[i] = err
        time.sleep(1)

def dead_instances():
    """Instances (authorities, relays, clients) whose tor process has exited."""
    import glob
    dead = []
    for rc in sorted(glob.glob(os.path.join(d, "*", "torrc"))):
        inst = rc.split(os.sep)[-2]
        pf = os.path.join(d, inst, "data", "pid")  # tor deletes it when it exits cleanly
        try:
            with open(pf) as f:
                pid = int(f.read().strip())
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                alive = d.encode() + b"/" in f.read()
        except (OSError, ValueError):
            alive = False
        if not alive:
            dead.append(inst)
    return dead

workers = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(n)]
for w in workers:
    w.start()
next_report = 0.0
while True:
    now = time.monotonic()
    boot = sum(bootstrapped(i) for i in range(n))
    with lock:
        good = sum(ok)
        errs = sorted({e for i, e in enumerate(last) if not ok[i]})
    if good == n:
        break
    dead = dead_instances()
    if dead:
        stop.set()
        print("tor-testnet: FAILED after %.0fs: tor exited in %s (see %s/<instance>/data/notice.log)"
              % (now - t0, ", ".join(dead), d), flush=True)
        sys.exit(1)
    if now >= deadline:
        stop.set()
        print("tor-testnet: TIMEOUT after %.0fs: bootstrapped %d/%d, onion ok %d/%d; last errors: %s"
              % (now - t0, boot, n, good, n, "; ".join(errs)), flush=True)
        sys.exit(1)
    if now >= next_report:
        print("tor-testnet: [%4.0fs] bootstrapped %d/%d, onion ok %d/%d%s"
              % (now - t0, boot, n, good, n, ("; last: " + "; ".join(errs)) if good < n and boot else ""),
              flush=True)
        next_report = now + 5
    time.sleep(0.2)
stop.set()
el = time.monotonic() - t0
print("tor-testnet: READY: %d/%d onion services reachable after %.1fs of wait (%.1fs after start)"
      % (n, n, el, since_start + el), flush=True)
PY
}

main() {
    [[ $# -ge 2 ]] || usage
    local cmd=$1
    DIR=$(abspath "$2")
    DIR=${DIR%/}
    [[ -n $DIR && $DIR != / ]] || die "refusing DIR=/"
    [[ $DIR != *[[:space:]]* ]] || die "DIR must not contain whitespace (it goes into torrc lines)"
    readonly DIR
    case $cmd in
        start)
            [[ $# -ge 3 && $# -le 4 ]] || usage
            cmd_start "$3" "${4:-127.0.0.1}"
            ;;
        wait)
            [[ $# -le 3 ]] || usage
            cmd_wait "${3:-600}"
            ;;
        stop)
            [[ $# -eq 2 ]] || usage
            cmd_stop
            ;;
        *) usage ;;
    esac
}

main "$@"

//! `beat-i2pnet`: a private I2P network of emissary routers on loopback, in one process.
//!
//! ```text
//! beat-i2pnet --sam-base-port P --net-base-port Q --dir DIR
//!             [--routers R] [--floodfills F] [--bind 127.0.0.1]
//!             [--ready-timeout SECS] [--net-id N]
//! ```
//!
//! Starts `R` (default 4, at least 3) emissary-core 0.4 routers on the network ID `N` (default
//! 190; never the public network's 2, so they cannot talk to the public I2P network). The
//! **last** `F` (default 2, at least 2) are floodfills; routers `0..R-F` are the ones to give to
//! clients (see below). Router `i` listens for NTCP2 on `Q + i` and for SAMv3 on TCP `P + i`
//! (its SAM UDP port is chosen by the OS); every socket is bound to `--bind`. NTCP2 only (no
//! SSU2). No reseeding: the floodfills start first and each router is given the RouterInfos of
//! every router started before it; the rest is learnt through the floodfills. The emissary
//! options that make a loopback network work are `allow_local` (loopback peers are otherwise
//! refused), `insecure_tunnels` (all hops share one /16), caps `XfR`/`XR`, transit tunnels on,
//! and at least two floodfills (with one, lease-set lookups fail with `NoFloodfills`).
//!
//! It writes `DIR/env` (shell syntax): `I2P_SAM_<i>=<bind>:<P+i>`, `I2P_SAM_UDP_<i>`,
//! `I2P_NET_PORTS="…"` (the NTCP2 ports, comma separated), `I2P_ROUTERS`,
//! `I2P_CLIENT_ROUTERS` (`R-F`), `I2P_FLOODFILL_ROUTERS="…"` (their indices) and `I2P_NET_ID`;
//! and `DIR/routerInfo-<i>.dat`. Then it checks the network end to end: a SAM session on router
//! 0 `STREAM ACCEPT`s, one on router `R-F-1` (or `R-1` if `R-F < 2`) `STREAM CONNECT`s to its
//! `.b32.i2p` name, and a line goes each way (through `beat_core::net::sam`), retried until it works. Then it
//! prints `ready` on stdout, writes `DIR/ready` (seconds since start), and runs until SIGTERM,
//! SIGINT, or EOF on stdin when stdin is a pipe or socket (a background job's `/dev/null` stdin
//! is not watched). If the check has not passed within `--ready-timeout` seconds (default 300)
//! it exits with status 1. Typical time to `ready`: 10-12 s.
//!
//! **Give clients the non-floodfill routers.** Observed with emissary 0.4.0: a floodfill's
//! exploratory tunnels carry no traffic, so their transit hops drop them after two minutes of
//! inactivity; from then on the floodfill cannot build new tunnels (until its exploratory
//! tunnels expire), so a SAM session *created* on a floodfill more than ~2 minutes after start
//! never comes up (sessions created earlier keep working). Non-floodfill routers are not
//! affected; hence the floodfills are numbered last, so `I2P_SAM_0..` of an `R = n + 2` network
//! serve `n` clients.
//!
//! Pick ports below the kernel's ephemeral range (32768-60999 on Linux), or an outgoing
//! connection may hold one of them. Logging goes to stderr at `warn` unless `RUST_LOG` says
//! otherwise (`RUST_LOG=beat_i2pnet=info` shows the check's attempts and each router's
//! peer/tunnel counts every 10 s; the filter syntax is `level,target_prefix=level,…`).

mod log;
mod runtime;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use beat_core::net::sam::{SamError, SamSession, SamTimeouts};
use emissary_core::router::Router;
use emissary_core::{Config, Ntcp2Config, SamConfig, TransitConfig};
use rand010::RngExt;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

use crate::runtime::Runtime;

const USAGE: &str = "usage: beat-i2pnet --sam-base-port P --net-base-port Q --dir DIR [--routers R] \
[--floodfills F] [--bind 127.0.0.1] [--ready-timeout SECS] [--net-id N]";

const LOG: &str = "beat_i2pnet";

/// emissary's event refresh interval, seconds: longer than its two-minute transit-tunnel
/// inactivity check (see `router_config`). Its status events are not used.
const EVENT_REFRESH_SECS: usize = 130;

/// Command-line options.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Args {
    routers: usize,
    floodfills: usize,
    sam_base_port: u16,
    net_base_port: u16,
    dir: PathBuf,
    bind: Ipv4Addr,
    ready_timeout: Duration,
    net_id: u8,
}

fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut routers = 4usize;
    let mut floodfills = 2usize;
    let (mut sam, mut net, mut dir) = (None, None, None);
    let mut bind = Ipv4Addr::LOCALHOST;
    let mut ready_timeout = 300u64;
    let mut net_id = 190u8;
    fn num<T: std::str::FromStr>(flag: &str, v: Option<String>) -> Result<T, String> {
        let v = v.ok_or_else(|| format!("{flag} needs a value"))?;
        v.parse().map_err(|_| format!("{flag}: bad value {v:?}"))
    }
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--routers" => routers = num(&flag, it.next())?,
            "--floodfills" => floodfills = num(&flag, it.next())?,
            "--sam-base-port" => sam = Some(num::<u16>(&flag, it.next())?),
            "--net-base-port" => net = Some(num::<u16>(&flag, it.next())?),
            "--dir" => dir = Some(PathBuf::from(it.next().ok_or("--dir needs a value")?)),
            "--bind" => bind = num(&flag, it.next())?,
            "--ready-timeout" => ready_timeout = num(&flag, it.next())?,
            "--net-id" => net_id = num(&flag, it.next())?,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let sam_base_port = sam.ok_or("--sam-base-port is required")?;
    let net_base_port = net.ok_or("--net-base-port is required")?;
    let dir = dir.ok_or("--dir is required")?;
    if routers < 3 {
        // A tunnel has two hops besides its owner (emissary's default, also for SAM sessions).
        return Err("--routers must be at least 3 (2-hop tunnels need two other routers)".into());
    }
    if floodfills < 2 || floodfills > routers {
        // Observed with emissary 0.4.0: with one floodfill, lease-set lookups fail with
        // `NoFloodfills` and no stream ever connects.
        return Err("--floodfills must be between 2 and --routers (one floodfill never resolves lease sets)".into());
    }
    if net_id == 2 {
        return Err("--net-id 2 is the public I2P network".into());
    }
    for (name, base) in [("--sam-base-port", sam_base_port), ("--net-base-port", net_base_port)] {
        if base == 0 || usize::from(base) + routers > usize::from(u16::MAX) + 1 {
            return Err(format!("{name} {base}: {routers} consecutive ports do not fit"));
        }
    }
    let (s, n) = (usize::from(sam_base_port), usize::from(net_base_port));
    if s < n + routers && n < s + routers {
        return Err("the SAM and NTCP2 port ranges overlap".into());
    }
    Ok(Args {
        routers,
        floodfills,
        sam_base_port,
        net_base_port,
        dir,
        bind,
        ready_timeout: Duration::from_secs(ready_timeout),
        net_id,
    })
}

fn main() -> ExitCode {
    log::StderrLog::new(std::env::var("RUST_LOG").ok().as_deref()).install();
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("beat-i2pnet: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("beat-i2pnet: cannot start tokio: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = match rt.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("beat-i2pnet: {e}");
            ExitCode::FAILURE
        }
    };
    // Routers' tasks are abandoned, not drained (graceful I2P shutdown takes minutes).
    rt.shutdown_timeout(Duration::from_secs(1));
    code
}

/// One started router.
struct Started {
    sam_tcp: SocketAddr,
    sam_udp: Option<SocketAddr>,
    ntcp2_port: u16,
}

/// Whether router `i` (by index, as in `DIR/env`) is a floodfill: the last `F` are.
fn is_floodfill(args: &Args, i: usize) -> bool {
    i >= args.routers - args.floodfills
}

/// The order routers are started in: floodfills first (every later router is given their
/// RouterInfos), then the others.
fn start_order(args: &Args) -> Vec<usize> {
    let clients = args.routers - args.floodfills;
    (clients..args.routers).chain(0..clients).collect()
}

/// The two routers the readiness check uses: the first and the last non-floodfill router if
/// there are two, else the first and the last router.
fn check_pair(args: &Args) -> (usize, usize) {
    let clients = args.routers - args.floodfills;
    if clients >= 2 {
        (0, clients - 1)
    } else {
        (0, args.routers - 1)
    }
}

fn router_config(args: &Args, i: usize, known: &[Vec<u8>]) -> Config {
    let floodfill = is_floodfill(args, i);
    let mut rng = rand010::rng();
    Config {
        net_id: Some(args.net_id),
        floodfill,
        // Bandwidth class X (unlimited), reachable; `f` for floodfills (as emissary's devnet).
        caps: Some(if floodfill { "XfR" } else { "XR" }.to_string()),
        // Loopback peers are normally refused as non-global addresses.
        allow_local: true,
        // Every router is in 127.0.0.0/16: without this no tunnel could be built.
        insecure_tunnels: true,
        ntcp2: Some(Ntcp2Config {
            ipv4: true,
            ipv4_host: Some(args.bind),
            ipv6: false,
            ipv6_host: None,
            iv: rng.random(),
            key: rng.random(),
            port: args.net_base_port + i as u16,
            publish: true,
            ml_kem: None,
            disable_pq: false,
        }),
        ssu2: None,
        routers: known.to_vec(),
        samv3_config: Some(SamConfig {
            tcp_port: args.sam_base_port + i as u16,
            udp_port: 0,
            host: args.bind.to_string(),
        }),
        // emissary 0.4.0 drops a transit tunnel that carried nothing in its first two minutes,
        // but judges that from byte counters it resets at every event refresh (default: every
        // second), so a tunnel used only by the 15 s tunnel tests looks idle and is dropped.
        // Idle exploratory pools then lose all their tunnels and can build no new ones, and
        // SAM sessions created later never come up. A refresh interval longer than those two
        // minutes makes the check see the real traffic.
        refresh_interval: Some(EVENT_REFRESH_SECS),
        // Transit tunnels on: the routers carry each other's tunnels.
        transit: Some(TransitConfig { max_tunnels: Some(5000) }),
        ..Default::default()
    }
}

/// Writes `path` atomically (temporary file + rename).
fn write_atomic(path: &Path, data: &[u8]) -> Result<(), String> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, data)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn env_file(args: &Args, started: &[Started]) -> String {
    let mut env = String::new();
    for (i, r) in started.iter().enumerate() {
        env.push_str(&format!("I2P_SAM_{i}={}\n", r.sam_tcp));
        if let Some(udp) = r.sam_udp {
            env.push_str(&format!("I2P_SAM_UDP_{i}={udp}\n"));
        }
    }
    let ports: Vec<String> = started.iter().map(|r| r.ntcp2_port.to_string()).collect();
    env.push_str(&format!("I2P_NET_PORTS=\"{}\"\n", ports.join(",")));
    let floodfills: Vec<String> =
        (0..started.len()).filter(|&i| is_floodfill(args, i)).map(|i| i.to_string()).collect();
    env.push_str(&format!(
        "I2P_ROUTERS={}\nI2P_CLIENT_ROUTERS={}\nI2P_FLOODFILL_ROUTERS=\"{}\"\nI2P_NET_ID={}\n",
        started.len(),
        started.len() - floodfills.len(),
        floodfills.join(","),
        args.net_id
    ));
    env
}

async fn run(args: Args) -> Result<(), String> {
    let t0 = Instant::now();
    std::fs::create_dir_all(&args.dir).map_err(|e| format!("cannot create {}: {e}", args.dir.display()))?;
    let mut infos: Vec<Vec<u8>> = Vec::new();
    let mut started: Vec<Started> = Vec::new();
    runtime::set_bind_address(IpAddr::V4(args.bind));
    let mut slots: Vec<Option<Started>> = (0..args.routers).map(|_| None).collect();
    for i in start_order(&args) {
        let config = router_config(&args, i, &infos);
        // The event subscriber is dropped: emissary's status events are not used.
        let (router, _events, info) = Router::<Runtime>::new(config, None, None).await.map_err(|e| {
            format!(
                "router {i} (NTCP2 port {}, SAM port {}): {e}",
                args.net_base_port as usize + i,
                args.sam_base_port as usize + i
            )
        })?;
        let addrs = *router.protocol_address_info();
        let sam_tcp = addrs.sam_tcp.ok_or_else(|| format!("router {i}: no SAM listener"))?;
        let ntcp2_port = addrs.ntcp2_port.ok_or_else(|| format!("router {i}: no NTCP2 listener"))?;
        write_atomic(&args.dir.join(format!("routerInfo-{i}.dat")), &info)?;
        infos.push(info);
        slots[i] = Some(Started { sam_tcp, sam_udp: addrs.sam_udp, ntcp2_port });
        tokio::spawn(async move {
            router.await;
            tracing::warn!(target: LOG, router = i, "router stopped");
        });
    }
    started.extend(slots.into_iter().flatten());
    write_atomic(&args.dir.join("env"), env_file(&args, &started).as_bytes())?;
    eprintln!(
        "beat-i2pnet: {} routers ({} floodfills, net id {}) on {}: SAM {}..{}, NTCP2 {}..{}; env in {}",
        args.routers,
        args.floodfills,
        args.net_id,
        args.bind,
        args.sam_base_port,
        args.sam_base_port as usize + args.routers - 1,
        args.net_base_port,
        args.net_base_port as usize + args.routers - 1,
        args.dir.join("env").display()
    );

    let (a, c) = check_pair(&args);
    let (first, last) = (started[a].sam_tcp.to_string(), started[c].sam_tcp.to_string());
    let deadline = t0 + args.ready_timeout;
    tokio::select! {
        r = self_check(&first, &last, deadline) => r?,
        r = shutdown_requested() => {
            eprintln!("beat-i2pnet: {r} before the network was ready");
            return Ok(());
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    write_atomic(&args.dir.join("ready"), format!("{secs:.1}\n").as_bytes())?;
    eprintln!("beat-i2pnet: ready after {secs:.1} s");
    let mut out = tokio::io::stdout();
    out.write_all(b"ready\n").await.map_err(|e| e.to_string())?;
    out.flush().await.map_err(|e| e.to_string())?;

    let why = shutdown_requested().await;
    tracing::info!(target: LOG, "{why}: stopping");
    Ok(())
}

/// Resolves on SIGTERM, SIGINT, or EOF on a piped stdin.
async fn shutdown_requested() -> &'static str {
    let stdin_eof = async {
        if stdin_is_pipe() {
            let mut stdin = tokio::io::stdin();
            let mut buf = [0u8; 256];
            while matches!(stdin.read(&mut buf).await, Ok(n) if n > 0) {}
            "EOF on stdin"
        } else {
            std::future::pending().await
        }
    };
    let signal = |kind| async move {
        match tokio::signal::unix::signal(kind) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        why = stdin_eof => why,
        () = signal(tokio::signal::unix::SignalKind::terminate()) => "SIGTERM",
        () = signal(tokio::signal::unix::SignalKind::interrupt()) => "SIGINT",
    }
}

/// Whether stdin is a pipe or a socket (a parent holding it), not a terminal, file or
/// `/dev/null` (a background job's stdin, which is at EOF from the start).
fn stdin_is_pipe() -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::metadata("/proc/self/fd/0").map(|m| m.file_type().is_fifo() || m.file_type().is_socket()).unwrap_or(false)
}

/// Session creation and stream deadlines of the readiness check.
const CHECK_TIMEOUTS: SamTimeouts =
    SamTimeouts { bridge: Duration::from_secs(10), session: Duration::from_secs(90), stream: Duration::from_secs(60) };

/// Consecutive failed connects before both sessions are recreated.
const CONNECTS_PER_SESSION: usize = 4;

/// Retries a SAM stream from a session on `connect_sam` to one on `accept_sam` until a line has
/// gone each way, or `deadline`.
async fn self_check(accept_sam: &str, connect_sam: &str, deadline: Instant) -> Result<(), String> {
    let mut generation = 0u32;
    let mut last_error = String::from("no attempt finished");
    loop {
        if Instant::now() >= deadline {
            return Err(format!("the network was not ready before --ready-timeout (last error: {last_error})"));
        }
        generation += 1;
        let attempt =
            tokio::time::timeout_at(deadline.into(), check_generation(accept_sam, connect_sam, generation)).await;
        match attempt {
            Err(_) => {
                return Err(format!("the network was not ready before --ready-timeout (last error: {last_error})"))
            }
            Ok(Ok(())) => return Ok(()),
            Ok(Err(e)) => {
                tracing::info!(target: LOG, generation, error = %e, "readiness check failed, retrying");
                last_error = e;
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    }
}

/// One pair of sessions; a few connect attempts between them.
async fn check_generation(accept_sam: &str, connect_sam: &str, generation: u32) -> Result<(), String> {
    let started = Instant::now();
    let (id_a, id_c) = (format!("beat-i2pnet-ready-a{generation}"), format!("beat-i2pnet-ready-c{generation}"));
    let (a, b) = tokio::join!(
        SamSession::create_with_timeouts(accept_sam, &id_a, None, &[], CHECK_TIMEOUTS),
        SamSession::create_with_timeouts(connect_sam, &id_c, None, &[], CHECK_TIMEOUTS),
    );
    let a = Arc::new(a.map_err(|e| format!("session on {accept_sam}: {e}"))?);
    let b = b.map_err(|e| format!("session on {connect_sam}: {e}"))?;
    tracing::info!(target: LOG, generation, secs = started.elapsed().as_secs_f64(), "check sessions created");

    // The accepting side echoes one line per stream, for as long as the session lives.
    let alive = Arc::new(AtomicBool::new(true));
    let echo = tokio::spawn(echo_server(Arc::clone(&a), Arc::clone(&alive)));
    let result = async {
        let mut last = String::new();
        for n in 0..CONNECTS_PER_SESSION {
            if !alive.load(Ordering::Relaxed) {
                return Err(format!("accepting session died ({last})"));
            }
            // By `.b32.i2p` name, as BEAT nodes dial each other.
            match ping(&b, &a.b32_address(), generation, n).await {
                Ok(()) => {
                    // The name also resolves on the session's control connection.
                    match b.lookup(&a.b32_address()).await {
                        Ok(d) if d == a.destination() => {}
                        other => tracing::warn!(target: LOG, ?other, "NAMING LOOKUP of the .b32.i2p name did not give the destination"),
                    }
                    return Ok(());
                }
                Err(e) => {
                    tracing::info!(target: LOG, generation, attempt = n, error = %e, "stream check failed");
                    last = e;
                    tokio::time::sleep(Duration::from_secs(3)).await;
                }
            }
        }
        Err(last)
    }
    .await;
    echo.abort();
    result
}

/// Accepts streams on `session` and answers each line `x` with `pong x`.
async fn echo_server(session: Arc<SamSession>, alive: Arc<AtomicBool>) {
    loop {
        match session.accept().await {
            Ok(stream) => {
                tokio::spawn(async move {
                    let mut reader = BufReader::new(stream);
                    let mut line = String::new();
                    let read =
                        tokio::time::timeout(Duration::from_secs(60), (&mut reader).take(256).read_line(&mut line))
                            .await;
                    if matches!(read, Ok(Ok(n)) if n > 0) {
                        let _ = reader.get_mut().write_all(format!("pong {line}").as_bytes()).await;
                        let _ = reader.get_mut().flush().await;
                        // Let the reply drain through I2P before closing.
                        tokio::time::sleep(Duration::from_secs(5)).await;
                    }
                });
            }
            Err(e) => {
                tracing::info!(target: LOG, error = %e, "accept failed");
                if !e.is_transient() || matches!(e, SamError::Closed(_) | SamError::Unreachable { .. }) {
                    alive.store(false, Ordering::Relaxed);
                    return;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Connects from `session` to `peer`, sends a line and expects it echoed.
async fn ping(session: &SamSession, peer: &str, generation: u32, n: usize) -> Result<(), String> {
    let t = Instant::now();
    let stream = session.connect(peer).await.map_err(|e| format!("connect: {e}"))?;
    let nonce: u64 = rand010::rng().random();
    let msg = format!("ping {generation}.{n} {nonce:016x}\n");
    let mut reader = BufReader::new(stream);
    reader.get_mut().write_all(msg.as_bytes()).await.map_err(|e| format!("write: {e}"))?;
    let mut line = String::new();
    match tokio::time::timeout(Duration::from_secs(60), (&mut reader).take(512).read_line(&mut line)).await {
        Err(_) => return Err("no echo within 60 s".into()),
        Ok(Err(e)) => return Err(format!("read: {e}")),
        Ok(Ok(_)) => {}
    }
    if line != format!("pong {msg}") {
        return Err(format!("bad echo {line:?}"));
    }
    tracing::info!(target: LOG, generation, attempt = n, secs = t.elapsed().as_secs_f64(), "stream check passed");
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Args, String> {
        parse_args(s.split_whitespace().map(String::from))
    }

    #[test]
    fn args() {
        let a = parse("--sam-base-port 7000 --net-base-port 9000 --dir /tmp/x").unwrap();
        assert_eq!((a.routers, a.floodfills, a.bind, a.net_id), (4, 2, Ipv4Addr::LOCALHOST, 190));
        assert_eq!(a.ready_timeout, Duration::from_secs(300));
        let a = parse("--routers 6 --floodfills 3 --sam-base-port 7000 --net-base-port 9000 --dir d --bind 127.0.0.2 --ready-timeout 60")
            .unwrap();
        assert_eq!((a.routers, a.floodfills, a.bind), (6, 3, "127.0.0.2".parse().unwrap()));
        for bad in [
            "--net-base-port 9000 --dir d",
            "--sam-base-port 7000 --net-base-port 9000 --dir d --routers 2",
            "--sam-base-port 7000 --net-base-port 9000 --dir d --floodfills 0",
            "--sam-base-port 7000 --net-base-port 9000 --dir d --floodfills 1",
            "--sam-base-port 7000 --net-base-port 9000 --dir d --floodfills 5",
            "--sam-base-port 7000 --net-base-port 7002 --dir d",
            "--sam-base-port 65534 --net-base-port 9000 --dir d",
            "--sam-base-port 7000 --net-base-port 9000 --dir d --net-id 2",
            "--sam-base-port x --net-base-port 9000 --dir d",
            "--sam-base-port 7000 --net-base-port 9000 --dir d --bogus",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn env() {
        let a = parse("--routers 3 --floodfills 2 --sam-base-port 7000 --net-base-port 9000 --dir d").unwrap();
        let started = vec![
            Started {
                sam_tcp: "127.0.0.1:7000".parse().unwrap(),
                sam_udp: Some("127.0.0.1:40000".parse().unwrap()),
                ntcp2_port: 9000,
            },
            Started { sam_tcp: "127.0.0.1:7001".parse().unwrap(), sam_udp: None, ntcp2_port: 9001 },
        ];
        assert_eq!(
            env_file(&a, &started),
            "I2P_SAM_0=127.0.0.1:7000\nI2P_SAM_UDP_0=127.0.0.1:40000\nI2P_SAM_1=127.0.0.1:7001\n\
             I2P_NET_PORTS=\"9000,9001\"\nI2P_ROUTERS=2\nI2P_CLIENT_ROUTERS=1\nI2P_FLOODFILL_ROUTERS=\"1\"\nI2P_NET_ID=190\n"
        );
    }

    #[test]
    fn config_of_a_router() {
        let a = parse("--routers 3 --floodfills 2 --sam-base-port 7000 --net-base-port 9000 --dir d").unwrap();
        let c = router_config(&a, 2, &[]);
        assert!(c.floodfill && c.allow_local && c.insecure_tunnels);
        assert_eq!(c.net_id, Some(190));
        assert_eq!(c.caps.as_deref(), Some("XfR"));
        assert_eq!(c.ntcp2.as_ref().map(|n| n.port), Some(9002));
        assert_eq!(c.samv3_config.as_ref().map(|s| s.tcp_port), Some(7002));
        let c = router_config(&a, 0, &[vec![1], vec![2]]);
        assert!(!c.floodfill);
        assert_eq!(c.routers.len(), 2);
        assert_eq!(c.caps.as_deref(), Some("XR"));
        assert_eq!(c.ntcp2.as_ref().map(|n| n.port), Some(9000));
    }

    #[test]
    fn floodfills_start_first_and_are_numbered_last() {
        let a = parse("--routers 6 --floodfills 2 --sam-base-port 7000 --net-base-port 9000 --dir d").unwrap();
        assert_eq!(start_order(&a), vec![4, 5, 0, 1, 2, 3]);
        assert_eq!((0..6).filter(|&i| is_floodfill(&a, i)).collect::<Vec<_>>(), vec![4, 5]);
        assert_eq!(check_pair(&a), (0, 3));
        let a = parse("--routers 3 --floodfills 2 --sam-base-port 7000 --net-base-port 9000 --dir d").unwrap();
        assert_eq!(start_order(&a), vec![1, 2, 0]);
        assert_eq!(check_pair(&a), (0, 2));
        let a = parse("--routers 3 --floodfills 3 --sam-base-port 7000 --net-base-port 9000 --dir d").unwrap();
        assert_eq!(start_order(&a), vec![0, 1, 2]);
        assert_eq!(check_pair(&a), (0, 2));
    }
}

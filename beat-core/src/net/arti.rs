//! Tor, embedded: arti (the Tor Project's Rust Tor) in-process (feature `tor`).
//!
//! [`ArtiTor`] needs no tor daemon: the node runs its own Tor client, hosts its own v3 onion
//! service on it and dials the peers' `….onion:port` addresses through it. Like
//! [`super::tor::SocksTransport`] it only moves bytes: the Noise channel on top authenticates the
//! peer, so the onion address only routes.
//!
//! # The onion key
//!
//! With [`ArtiConfig::onion_secret`] set, the onion service's identity key is the ed25519 key
//! with that 32-byte seed: normally the node's onion key derived from its identity key
//! (`OnionKey::derive(identity).seed()`, see [`crate::keystore::onion`]), so the node's onion
//! address is fixed by its key material and known in advance (the dealer writes it into the
//! cluster file; [`onion_address_for_seed`] computes it with arti's own code). [`ArtiTor::new`]
//! writes that key into arti's keystore (`state_dir/keystore/hss/<nickname>/`) before the
//! service starts, replacing a different key found there, and checks that the running service
//! uses it.
//!
//! Without it, arti generates a key on the first start and keeps it in that keystore: the
//! address is stable across restarts as long as `state_dir` is kept, and is only known once
//! the transport is open ([`ArtiTor::onion_address`]). Losing `state_dir` then means a new
//! address that every peer must learn.
//!
//! # Restarts
//!
//! arti locks its state directory (the client and each onion service). A new process can open
//! it at once. Within one process, a dropped [`ArtiTor`] lets go only once arti's tasks have
//! wound down (an onion service notices it was dropped only after it has had a directory), so
//! an immediate [`ArtiTor::new`] on the same `state_dir` may fail with "already locked":
//! retry it.
//!
//! # Streams
//!
//! arti buffers a stream's writes until a cell is full or the stream is flushed; BEAT's channel
//! never flushes (TCP needs no flush). Every stream handed out is therefore a local pipe, and a
//! task per stream forwards each chunk written to it to Tor at once (write + flush), and every
//! byte Tor delivers back. A peer's arti ends a stream with `END` reason MISC, which arti's
//! reader reports as an I/O error after the last data: the task writes out every byte it read
//! before it ends the local side with an EOF, so nothing that arrived is lost.
//!
//! Inbound, every rendezvous request is accepted (as C tor does), then only `BEGIN` requests
//! for the configured virtual port become streams; other requests get `END` reason `DONE`
//! (what C tor answers for an unknown port).
//!
//! # Stale descriptors
//!
//! arti's onion client keeps a peer's descriptor until it expires (3 hours), fetches it again
//! only when an introduction point refuses us, and then not from a directory it asked in the
//! last 15 minutes. A peer that came back with new introduction points (its arti state lost,
//! or moved from C tor), or whose directories still served an older descriptor when we first
//! asked, would stay unreachable that long. So each peer's dials run under an isolation of
//! their own, and a dial that fails (or is given up) after that isolation has had its
//! [`Freshness`] time starts the next one under a new isolation: a blank client state, which
//! fetches the descriptor again from the directories, none of them barred. The time doubles
//! with each new isolation, from 10 s up to 30 minutes, and starts again from 10 s only after
//! 30 minutes without a failed dial; successes in between do not reset it, so a member that
//! accepts a stream now and then cannot make us fetch its descriptor and build circuits every
//! 10 s. A peer down for days costs about a hundred small entries in arti's client state
//! (arti forgets one 48 hours after its last use).
//!
//! # Private networks
//!
//! [`ArtiConfig::testnet`] points the client at a private Tor network (the directory
//! authorities and caches of, e.g., `scripts/tor-testnet.sh`) and adds the overrides such a
//! network needs: every relay on one address (no /16 family rule), the onion time period of
//! C tor under `TestingTorNetwork`, no preemptive exit circuits, no vanguards (on the public
//! network arti's default, vanguards-lite, stays on), and a circuit-build timeout of at least
//! 2 s (`cbtmintimeout`: the estimator would otherwise learn the milliseconds of a one-host
//! network and time circuits out whenever the machine is busy).

use std::collections::HashMap;
use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arti_client::config::dir::FallbackDir;
use arti_client::config::onion_service::OnionServiceConfigBuilder;
use arti_client::config::TorClientConfigBuilder;
use arti_client::{DataStream, IsolationToken, StreamPrefs, TorClient};
use futures::{Stream, StreamExt};
use safelog::DisplayRedacted;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::sync::{mpsc, Mutex};
use tor_cell::relaycell::msg::{Connected, End, EndReason};
use tor_hscrypto::pk::{HsId, HsIdKey, HsIdKeypair};
use tor_hsservice::{
    handle_rend_requests, HsIdKeypairSpecifier, HsIdPublicKeySpecifier, HsNickname, RendRequest, RunningOnionService,
    StreamRequest,
};
use tor_keymgr::{KeyPathPattern, KeystoreSelector};
use tor_llcrypto::pk::ed25519::{Ed25519Identity, ExpandedKeypair, Keypair};
use tor_llcrypto::pk::rsa::RsaIdentity;
use tor_proto::stream::IncomingStreamRequest;
use tor_rtcompat::PreferredRuntime;
use zeroize::Zeroize;

use super::{BoxFuture, BoxStream, Transport, TransportKind};

/// Capacity of each stream's local pipe, in bytes.
const PIPE_BYTES: usize = 64 * 1024;

/// Chunk size of the forwarding tasks.
const CHUNK: usize = 16 * 1024;

/// How long a stream's task still forwards inbound bytes once our side has closed.
const LINGER: Duration = Duration::from_secs(30);

/// Pause between two failed bootstraps.
const BOOTSTRAP_RETRY: Duration = Duration::from_secs(10);

/// Inbound streams waiting for [`Transport::accept`].
const BACKLOG: usize = 64;

/// How long a peer's isolation is kept through failed dials at first (see "Stale descriptors").
const FRESH_MIN: Duration = Duration::from_secs(10);

/// The longest a peer's isolation is kept through failed dials.
const FRESH_MAX: Duration = Duration::from_secs(30 * 60);

/// When to dial a peer under a new isolation (a blank onion client state): the module doc's
/// "Stale descriptors". Pure, so the policy is tested without Tor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Freshness {
    /// When the current isolation was taken.
    since: Instant,
    /// How long it is kept through failures.
    keep: Duration,
    /// The last failed dial, if any.
    last_failure: Option<Instant>,
}

impl Freshness {
    /// A new isolation, taken at `now`.
    pub fn new(now: Instant) -> Self {
        Freshness { since: now, keep: FRESH_MIN, last_failure: None }
    }

    /// A dial under the current isolation failed (or was given up) at `now`: true if the next
    /// dial should take a new one. The new one is kept 10 s after 30 minutes without a failure
    /// (or none yet), else twice as long as this one, at most 30 minutes.
    pub fn failed(&mut self, now: Instant) -> bool {
        let quiet = self.last_failure.is_none_or(|t| now.saturating_duration_since(t) >= FRESH_MAX);
        self.last_failure = Some(now);
        if now.saturating_duration_since(self.since) < self.keep {
            return false;
        }
        self.since = now;
        self.keep = if quiet { FRESH_MIN } else { (self.keep * 2).min(FRESH_MAX) };
        true
    }
}

/// Records a dial's failure in `ArtiTor::isolation` when dropped, unless it succeeded: a
/// dial given up by its caller (a timeout around `dial`) counts as failed too.
struct DialOutcome<'a> {
    tor: &'a ArtiTor,
    addr: &'a str,
    token: IsolationToken,
    ok: bool,
}

impl Drop for DialOutcome<'_> {
    fn drop(&mut self) {
        if self.ok {
            return;
        }
        let mut peers = self.tor.isolation.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((tok, fresh)) = peers.get_mut(self.addr) {
            // Only the isolation this dial used (concurrent dials of one address count once).
            if *tok == self.token && fresh.failed(Instant::now()) {
                *tok = IsolationToken::new();
            }
        }
    }
}

/// How to open an [`ArtiTor`].
#[derive(Clone)]
pub struct ArtiConfig {
    /// arti's persistent state: guards, the keystore (with the onion key), the onion service's
    /// replay logs and introduction points. One directory per node; arti locks it.
    pub state_dir: PathBuf,
    /// arti's directory cache (consensus, microdescriptors). May be deleted while stopped.
    pub cache_dir: PathBuf,
    /// The onion service's nickname: names its keys and state under `state_dir` (letters,
    /// digits, `-` and `_`), e.g. `beat`.
    pub nickname: String,
    /// The onion service's virtual port: peers dial `<our onion>:<onion_port>`; streams to any
    /// other port are refused.
    pub onion_port: u16,
    /// Seed of the onion service's ed25519 identity key, normally the node's
    /// `OnionKey::seed()` (see the module doc); `None` lets arti generate and keep one in
    /// `state_dir`.
    pub onion_secret: Option<[u8; 32]>,
    /// A private Tor network instead of the public one.
    pub testnet: Option<TestNetwork>,
}

impl fmt::Debug for ArtiConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArtiConfig")
            .field("state_dir", &self.state_dir)
            .field("cache_dir", &self.cache_dir)
            .field("nickname", &self.nickname)
            .field("onion_port", &self.onion_port)
            .field("onion_secret", &self.onion_secret.as_ref().map(|_| "<secret>"))
            .field("testnet", &self.testnet)
            .finish()
    }
}

impl Drop for ArtiConfig {
    fn drop(&mut self) {
        if let Some(s) = self.onion_secret.as_mut() {
            s.zeroize();
        }
    }
}

/// A private Tor network (e.g. `scripts/tor-testnet.sh`'s): who signs the consensus, where a
/// client fetches its first directory, and the parameters C tor's `TestingTorNetwork` changes.
#[derive(Debug, Clone)]
pub struct TestNetwork {
    /// The directory authorities. Each is also used as a fallback directory cache.
    pub authorities: Vec<TestAuthority>,
    /// More directory caches to bootstrap from (any relay of the network).
    pub fallbacks: Vec<TestRelay>,
    /// The onion services' time period. C tor under `TestingTorNetwork` uses 24 voting
    /// intervals (8 minutes for `V3AuthVotingInterval 20`); arti takes it from this override
    /// (`hsdir_interval`), whole minutes, at least 5, so the voting interval must be at least
    /// 15 s. See [`TestNetwork::time_period_for_voting_interval`].
    pub time_period: Duration,
}

/// A directory authority of a [`TestNetwork`].
#[derive(Debug, Clone)]
pub struct TestAuthority {
    /// Its v3 identity (the `fingerprint` of its `authority_certificate`), 40 hex digits.
    pub v3ident: String,
    /// The authority as a relay (its ORPort), used as a fallback cache.
    pub relay: TestRelay,
}

/// A relay of a [`TestNetwork`], as a directory cache.
#[derive(Debug, Clone)]
pub struct TestRelay {
    /// RSA identity fingerprint (the relay's `fingerprint` file), 40 hex digits.
    pub rsa_identity: String,
    /// Ed25519 identity, base64 (the relay's `fingerprint-ed25519` file).
    pub ed_identity: String,
    /// ORPort address.
    pub orport: SocketAddr,
}

impl TestNetwork {
    /// C tor's onion time period under `TestingTorNetwork` with this voting interval
    /// (`V3AuthVotingInterval`): one shared-random protocol run, 24 voting intervals.
    pub fn time_period_for_voting_interval(voting_interval: Duration) -> Duration {
        voting_interval * 24
    }

    /// The network `scripts/tor-testnet.sh start DIR …` runs, read from what the script and the
    /// tor processes wrote under `dir`: `env` (`TOR_VOTING_INTERVAL`), `dirauth.conf` (each
    /// authority's v3 identity), and every `auth-*` and `relay-*` instance's `torrc` (its
    /// ORPort) and `data/fingerprint` / `data/fingerprint-ed25519` (written by tor once it has
    /// started: until then this fails, naming the missing file).
    pub fn from_testnet_dir(dir: &Path) -> io::Result<TestNetwork> {
        let read = |p: PathBuf| {
            std::fs::read_to_string(&p).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", p.display())))
        };
        let env = read(dir.join("env"))?;
        let voting = env
            .lines()
            .find_map(|l| l.strip_prefix("TOR_VOTING_INTERVAL="))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .ok_or_else(|| {
                invalid(format!(
                    "{}: no TOR_VOTING_INTERVAL (not a network started by this version of scripts/tor-testnet.sh)",
                    dir.join("env").display()
                ))
            })?;
        let conf = read(dir.join("dirauth.conf"))?;
        // DirAuthority <nickname> orport=P no-v2 v3ident=V ip:DIRPORT FP
        let mut v3idents = std::collections::BTreeMap::new();
        for line in conf.lines().filter(|l| l.starts_with("DirAuthority ")) {
            let words: Vec<&str> = line.split_whitespace().collect();
            let v3 = words
                .iter()
                .find_map(|w| w.strip_prefix("v3ident="))
                .ok_or_else(|| invalid(format!("{}: no v3ident in {line:?}", dir.join("dirauth.conf").display())))?;
            v3idents.insert(words[1].to_owned(), v3.to_owned());
        }
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?.filter_map(|e| e.ok().map(|e| e.path())).collect();
        entries.sort();
        let (mut authorities, mut fallbacks) = (Vec::new(), Vec::new());
        for d in entries {
            let name = d.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
            let auth = name.strip_prefix("auth-");
            if auth.is_none() && !name.starts_with("relay-") {
                continue;
            }
            let torrc = read(d.join("torrc"))?;
            let orport = torrc
                .lines()
                .find_map(|l| l.strip_prefix("ORPort "))
                .and_then(|p| p.trim().parse::<SocketAddr>().ok())
                .ok_or_else(|| invalid(format!("{}: no ORPort ip:port", d.join("torrc").display())))?;
            let second = |p: PathBuf| -> io::Result<String> {
                let text = read(p.clone())?;
                text.split_whitespace()
                    .nth(1)
                    .map(str::to_owned)
                    .ok_or_else(|| invalid(format!("{}: not `<nickname> <identity>`", p.display())))
            };
            let relay = TestRelay {
                rsa_identity: second(d.join("data/fingerprint"))?,
                ed_identity: second(d.join("data/fingerprint-ed25519"))?,
                orport,
            };
            match auth {
                Some(k) => {
                    let nick = format!("beatauth{k}");
                    let v3ident = v3idents.get(&nick).cloned().ok_or_else(|| {
                        invalid(format!("{}: no DirAuthority line for {nick}", dir.join("dirauth.conf").display()))
                    })?;
                    authorities.push(TestAuthority { v3ident, relay });
                }
                None => fallbacks.push(relay),
            }
        }
        if authorities.is_empty() {
            return Err(invalid(format!("{}: no auth-* directories (not a tor-testnet.sh network)", dir.display())));
        }
        let net = TestNetwork {
            authorities,
            fallbacks,
            time_period: TestNetwork::time_period_for_voting_interval(Duration::from_secs(voting)),
        };
        net.check().map_err(|e| invalid(format!("{} (TOR_VOTING_INTERVAL={voting}): {e}", dir.display())))?;
        Ok(net)
    }

    /// What arti needs of a private network: an authority, and an onion time period of whole
    /// minutes from 5 to 14400 (a voting interval of at least 15 s). Returns the minutes.
    pub fn check(&self) -> io::Result<u64> {
        if self.authorities.is_empty() {
            return Err(invalid("testnet: no directory authorities"));
        }
        let minutes = self.time_period.as_secs() / 60;
        if self.time_period.as_secs() % 60 != 0 || !(5..=14_400).contains(&minutes) {
            return Err(invalid(format!(
                "testnet: the onion time period must be whole minutes, 5 to 14400, not {:?}",
                self.time_period
            )));
        }
        Ok(minutes)
    }

    /// Apply this network to an arti configuration.
    fn apply(&self, b: &mut TorClientConfigBuilder) -> io::Result<()> {
        let minutes = self.check()?;
        let mut v3idents = Vec::with_capacity(self.authorities.len());
        for a in &self.authorities {
            v3idents.push(
                RsaIdentity::from_hex(&a.v3ident)
                    .ok_or_else(|| invalid(format!("testnet: bad authority v3ident {:?}", a.v3ident)))?,
            );
        }
        let mut caches = Vec::new();
        for r in self.authorities.iter().map(|a| &a.relay).chain(&self.fallbacks) {
            let rsa = RsaIdentity::from_hex(&r.rsa_identity)
                .ok_or_else(|| invalid(format!("testnet: bad RSA identity {:?}", r.rsa_identity)))?;
            let ed = Ed25519Identity::from_base64(r.ed_identity.trim_end_matches('='))
                .ok_or_else(|| invalid(format!("testnet: bad ed25519 identity {:?}", r.ed_identity)))?;
            let mut f = FallbackDir::builder();
            f.rsa_identity(rsa).ed_identity(ed).orports().push(r.orport);
            caches.push(f);
        }
        b.tor_network().authorities().set_v3idents(v3idents);
        b.tor_network().set_fallback_caches(caches);
        // Every relay is on 127.0.0.1 (or one host): a prefix longer than 32 bits puts no two
        // relays in one "family", else no 3-hop path exists.
        b.path_rules().ipv4_subnet_family_prefix(33).ipv6_subnet_family_prefix(129);
        b.address_filter().allow_onion_addrs(true);
        b.override_net_params().insert("hsdir_interval".to_owned(), i32::try_from(minutes).unwrap_or(1440));
        // Circuits on one host build in milliseconds, so the circuit-build-timeout estimator
        // learns a timeout near its 10 ms floor after its first 100 circuits; then any busy
        // moment times circuits out (rendezvous, descriptor uploads), and onion services stop
        // answering. A floor of 2 s on the estimator's 3-hop timeout (which arti scales down
        // for shorter circuits) keeps it from going below what a loaded machine needs.
        b.override_net_params().insert("cbtmintimeout".to_owned(), 2_000);
        // Test networks' exits only reach private addresses: exit circuits built in advance
        // for ports 80/443 would only fail. Onion circuits are built on demand.
        b.preemptive_circuits().set_initial_predicted_ports(Vec::new());
        b.preemptive_circuits().disable_at_threshold(0);
        // Vanguards (lite) keep a small set of second-hop relays and forbid reusing them in a
        // path; with a dozen relays, onion circuits then often find no valid path at all.
        *b.vanguards() = toml::from_str(r#"mode = "disabled""#)
            .map_err(|e| io::Error::other(format!("testnet: vanguards configuration: {e}")))?;
        Ok(())
    }
}

/// Tor through an embedded arti client and onion service.
pub struct ArtiTor {
    client: Arc<TorClient<PreferredRuntime>>,
    service: Arc<RunningOnionService>,
    onion: String,
    port: u16,
    incoming: Mutex<mpsc::Receiver<io::Result<BoxStream>>>,
    server: tokio::task::AbortHandle,
    closed: Arc<AtomicBool>,
    /// Per dialled address: the isolation its dials use, and when to take a new one.
    isolation: std::sync::Mutex<HashMap<String, (IsolationToken, Freshness)>>,
}

impl fmt::Debug for ArtiTor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArtiTor").field("onion", &self.onion).field("port", &self.port).finish_non_exhaustive()
    }
}

impl Drop for ArtiTor {
    fn drop(&mut self) {
        self.server.abort();
        // The bootstrap task runs on until it has succeeded or failed once more: an onion
        // service only notices that it was dropped once it has had a directory, and keeps its
        // state directory locked until then.
        self.closed.store(true, Ordering::Relaxed);
    }
}

impl ArtiTor {
    /// Start arti with `config` (inside a tokio runtime), launch the onion service and start
    /// bootstrapping in the background. Returns without waiting for the bootstrap
    /// ([`ArtiTor::bootstrap`] waits) or for the service to be published: dials wait for the
    /// bootstrap, and peers reach the service once its descriptor is on the network (seconds
    /// after the bootstrap on a healthy network).
    pub async fn new(config: ArtiConfig) -> io::Result<Self> {
        let nickname = HsNickname::new(config.nickname.clone())
            .map_err(|e| invalid(format!("bad onion service nickname {:?}: {e}", config.nickname)))?;
        let mut b = TorClientConfigBuilder::from_directories(&config.state_dir, &config.cache_dir);
        if let Some(net) = &config.testnet {
            net.apply(&mut b)?;
        }
        let tor_config = b.build().map_err(|e| invalid(format!("arti configuration: {}", chain(&e))))?;
        let runtime = PreferredRuntime::current()?;
        let client = TorClient::with_runtime(runtime)
            .config(tor_config)
            // Wait a little for the state directory's lock (a previous instance shutting down).
            .local_resource_timeout(arti_client::MAX_LOCAL_RESOURCE_TIMEOUT)
            .create_unbootstrapped_async()
            .await
            .map_err(|e| tor_err("start arti", &e))?;

        let expected = match &config.onion_secret {
            Some(seed) => Some(install_onion_key(&client, &nickname, seed)?),
            None => None,
        };

        let mut svc = OnionServiceConfigBuilder::default();
        svc.nickname(nickname.clone());
        let svc = svc.build().map_err(|e| invalid(format!("onion service configuration: {}", chain(&e))))?;
        let (service, rend_requests) = client
            .launch_onion_service(svc)
            .map_err(|e| tor_err("launch the onion service", &e))?
            .ok_or_else(|| io::Error::other("the onion service is disabled"))?;
        let hsid = service.onion_address().ok_or_else(|| io::Error::other("the onion service has no identity key"))?;
        if let Some(want) = expected {
            if hsid != want {
                return Err(io::Error::other("the onion service does not use the configured onion key"));
            }
        }
        let onion = hsid.display_unredacted().to_string();

        // A launched service waits for a directory, which only a bootstrap brings.
        let closed = Arc::new(AtomicBool::new(false));
        tokio::spawn(bootstrap_until_done(client.clone(), closed.clone()));
        let (tx, rx) = mpsc::channel(BACKLOG);
        let server = tokio::spawn(serve(rend_requests, config.onion_port, tx)).abort_handle();
        Ok(ArtiTor {
            client,
            service,
            onion,
            port: config.onion_port,
            incoming: Mutex::new(rx),
            server,
            closed,
            isolation: std::sync::Mutex::new(HashMap::new()),
        })
    }

    /// Our onion address, `<56 characters>.onion`.
    pub fn onion_address(&self) -> &str {
        &self.onion
    }

    /// The onion service's virtual port.
    pub fn onion_port(&self) -> u16 {
        self.port
    }

    /// Our address on this transport, the form peers dial: `<onion>:<port>`.
    pub fn address(&self) -> String {
        format!("{}:{}", self.onion, self.port)
    }

    /// Wait until arti has bootstrapped (a usable directory of the network).
    pub async fn bootstrap(&self) -> io::Result<()> {
        self.client.bootstrap().await.map_err(|e| tor_err("bootstrap", &e))
    }

    /// The circuit isolation the next dial of `addr` would use (tests: see "Stale
    /// descriptors" in the module doc).
    #[doc(hidden)]
    pub fn dial_isolation(&self, addr: &str) -> Option<IsolationToken> {
        self.isolation.lock().unwrap_or_else(|p| p.into_inner()).get(addr).map(|(t, _)| *t)
    }

    /// The onion service's state and current problem, if any (for logs).
    pub fn service_status(&self) -> String {
        let status = self.service.status();
        match status.current_problem() {
            Some(p) => format!("{:?} ({p:?})", status.state()),
            None => format!("{:?}", status.state()),
        }
    }
}

impl Transport for ArtiTor {
    fn kind(&self) -> TransportKind {
        TransportKind::Tor
    }

    fn dial<'a>(&'a self, addr: &'a str) -> BoxFuture<'a, io::Result<BoxStream>> {
        Box::pin(async move {
            let token = {
                let mut peers = self.isolation.lock().unwrap_or_else(|p| p.into_inner());
                peers
                    .entry(addr.to_owned())
                    .or_insert_with(|| (IsolationToken::new(), Freshness::new(Instant::now())))
                    .0
            };
            let mut prefs = StreamPrefs::new();
            prefs.set_isolation(token);
            let mut outcome = DialOutcome { tor: self, addr, token, ok: false };
            let result = self.client.connect_with_prefs(addr, &prefs).await;
            outcome.ok = result.is_ok();
            drop(outcome);
            let data = result.map_err(|e| tor_err(&format!("connect to {addr}"), &e))?;
            Ok(bridge(data))
        })
    }

    fn accept(&self) -> BoxFuture<'_, io::Result<super::Accepted>> {
        Box::pin(async move {
            match self.incoming.lock().await.recv().await {
                // An onion service learns nothing about who connects.
                Some(r) => r.map(|s| (s, "onion".to_string())),
                None => Err(io::Error::other("the onion service stopped")),
            }
        })
    }
}

/// The onion address (`<56 characters>.onion`) of the service whose identity key has this
/// seed ([`ArtiConfig::onion_secret`]).
pub fn onion_address_for_seed(seed: &[u8; 32]) -> String {
    hsid_of(&hsid_keypair(seed)).display_unredacted().to_string()
}

fn hsid_keypair(seed: &[u8; 32]) -> HsIdKeypair {
    HsIdKeypair::from(ExpandedKeypair::from(&Keypair::from_bytes(seed)))
}

fn hsid_of(kp: &HsIdKeypair) -> HsId {
    HsIdKey::from(kp).id()
}

/// Put the identity key with this seed into arti's keystore for service `nickname` (unless it
/// is there already), and return its onion identity.
fn install_onion_key(client: &TorClient<PreferredRuntime>, nickname: &HsNickname, seed: &[u8; 32]) -> io::Result<HsId> {
    let keypair = hsid_keypair(seed);
    let want = hsid_of(&keypair);
    let keymgr = client.keymgr().map_err(|e| tor_err("open the keystore", &e))?;
    let keystore_err = |what: &str, e: tor_keymgr::Error| io::Error::other(format!("{what}: {}", chain(&e)));
    let public = HsIdPublicKeySpecifier::new(nickname.clone());
    let stored = || -> io::Result<Option<HsId>> {
        Ok(keymgr.get::<HsIdKey>(&public).map_err(|e| keystore_err("read the onion key", e))?.map(|k| k.id()))
    };
    match stored()? {
        Some(id) if id == want => return Ok(want),
        None => {}
        Some(_) => {
            // Another identity: arti keeps keys derived from it (the blinded identity and the
            // descriptor signing key of each time period) and would go on publishing under
            // them, and maybe its public key on its own. They all go; the rest of the
            // service's state (introduction points) does not depend on the identity.
            for role in ["kp_hs_id", "kp_hs_blind_id+*", "ks_hs_blind_id+*", "ks_hs_desc_sign+*"] {
                let pattern = KeyPathPattern::Arti(format!("hss/{nickname}/{role}"));
                let entries = keymgr.list_matching(&pattern).map_err(|e| keystore_err("list the onion keys", e))?;
                for entry in entries {
                    keymgr.remove_entry(&entry).map_err(|e| keystore_err("remove an old onion key", e))?;
                }
            }
        }
    }
    keymgr
        .insert(keypair, &HsIdKeypairSpecifier::new(nickname.clone()), KeystoreSelector::Primary, true)
        .map_err(|e| keystore_err("store the onion key", e))?;
    if stored()? != Some(want) {
        return Err(io::Error::other("the keystore holds another onion key for this service"));
    }
    Ok(want)
}

/// Bootstrap (arti retries internally for a while; we retry after that until it works or the
/// transport is dropped).
async fn bootstrap_until_done(client: Arc<TorClient<PreferredRuntime>>, closed: Arc<AtomicBool>) {
    while client.bootstrap().await.is_err() && !closed.load(Ordering::Relaxed) {
        tokio::time::sleep(BOOTSTRAP_RETRY).await;
    }
}

/// Accept every rendezvous; turn `BEGIN`s for `port` into streams on `tx`.
async fn serve(
    rend_requests: impl Stream<Item = RendRequest> + Send + 'static,
    port: u16,
    tx: mpsc::Sender<io::Result<BoxStream>>,
) {
    let requests = handle_rend_requests(rend_requests);
    let mut requests = std::pin::pin!(requests);
    while let Some(req) = requests.next().await {
        if tx.is_closed() {
            return;
        }
        tokio::spawn(answer(req, port, tx.clone()));
    }
}

/// Accept one stream request if it is a `BEGIN` to `port`, else refuse it.
async fn answer(req: StreamRequest, port: u16, tx: mpsc::Sender<io::Result<BoxStream>>) {
    let wanted = matches!(req.request(), IncomingStreamRequest::Begin(b) if b.port() == port);
    if !wanted {
        let _ = req.reject(End::new_with_reason(EndReason::DONE)).await;
        return;
    }
    // A stream that fails on its own (its dialler closed it before CONNECTED) is dropped, not
    // reported: `accept` errors mean a broken service, and a stranger must not be able to make
    // the transport reopen (see `net::resilient`).
    if let Ok(data) = req.accept(Connected::new_empty()).await {
        let _ = tx.send(Ok(bridge(data))).await;
    }
}

/// A local pipe standing for `data`; a task forwards both ways (see the module doc).
fn bridge(data: DataStream) -> BoxStream {
    let (ours, theirs) = tokio::io::duplex(PIPE_BYTES);
    tokio::spawn(forward(data, theirs));
    Box::new(ours)
}

async fn forward(data: DataStream, local: DuplexStream) {
    let (mut tor_rd, mut tor_wr) = data.split();
    let (mut loc_rd, mut loc_wr) = tokio::io::split(local);
    let up = async move {
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = match loc_rd.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if tor_wr.write_all(&buf[..n]).await.is_err() || tor_wr.flush().await.is_err() {
                return;
            }
        }
        // Our side closed: flush and send END.
        let _ = tor_wr.shutdown().await;
    };
    let down = async move {
        let mut buf = vec![0u8; CHUNK];
        loop {
            // An error here (END reason MISC included) comes after every byte of the stream:
            // all of it has been written out below, so it only ends the stream.
            let n = match tor_rd.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if loc_wr.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
        let _ = loc_wr.shutdown().await;
    };
    tokio::pin!(up, down);
    tokio::select! {
        // Tor ended the stream: what we still write fails, and our side closes after its EOF.
        () = &mut down => up.await,
        // Our side is done: take in what Tor still delivers for a while (a peer that never
        // ends the stream must not keep this task forever).
        () = &mut up => {
            let _ = tokio::time::timeout(LINGER, down).await;
        }
    }
}

fn invalid(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg.into())
}

fn tor_err(what: &str, e: &arti_client::Error) -> io::Error {
    io::Error::other(format!("tor: {what}: {}", chain(e)))
}

/// An error and its sources, `a: b: c`.
fn chain(e: &dyn StdError) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn onion_address_follows_from_the_seed() {
        let a = onion_address_for_seed(&[7; 32]);
        assert_eq!(a.len(), 56 + ".onion".len(), "{a}");
        assert!(a.ends_with(".onion"));
        assert!(a[..56].bytes().all(|c| matches!(c, b'a'..=b'z' | b'2'..=b'7')), "{a}");
        assert_eq!(a, onion_address_for_seed(&[7; 32]));
        assert_ne!(a, onion_address_for_seed(&[8; 32]));
        // The address parses back to the key's identity (checksum and version are right).
        let id: HsId = a.parse().unwrap();
        assert_eq!(id, hsid_of(&hsid_keypair(&[7; 32])));
        // The same address as the node's own onion code computes (what goes into cluster files).
        let public = ed25519_dalek::SigningKey::from_bytes(&[7; 32]).verifying_key().to_bytes();
        assert_eq!(a, crate::keystore::onion::onion_hostname(&public));
    }

    #[test]
    fn freshness_renews_a_failing_isolation_ever_more_rarely() {
        let t0 = Instant::now();
        let s = |n: u64| t0 + Duration::from_secs(n);
        // A long-lived isolation that fails: renewed at once (the peer restarted).
        let mut f = Freshness::new(t0);
        assert!(f.failed(s(3600)));
        // Failures within the next 10 s keep it; then 20 s, 40 s, ...
        assert!(!f.failed(s(3605)));
        assert!(f.failed(s(3610)));
        assert!(!f.failed(s(3629)));
        assert!(f.failed(s(3630)));
        assert!(!f.failed(s(3669)));
        assert!(f.failed(s(3670)));
        // Up to 30 minutes, never more: a day of failures every second renews 51 times.
        let mut renewals = 0;
        for t in 3671..3671 + 86_400 {
            renewals += u32::from(f.failed(s(t)));
        }
        assert_eq!(renewals, 51);
        assert_eq!(f.keep, FRESH_MAX);
        // 30 minutes without a failure (the link was up): the next run starts from 10 s.
        let last = s(3671 + 86_400 - 1);
        assert_eq!(f.last_failure, Some(last));
        // 29:59 after the last failure: the same run (whatever it renews, it keeps 30 min).
        let mut same = f;
        same.failed(last + FRESH_MAX - Duration::from_secs(1));
        assert_eq!(same.keep, FRESH_MAX);
        assert!(f.failed(last + FRESH_MAX));
        assert_eq!(f.keep, FRESH_MIN);
        // A member that accepts a stream now and then, failing every 12 s, gains nothing:
        // successes do not reset the run, so a day costs about as many renewals as a dead peer's.
        let mut b = Freshness::new(t0);
        let byzantine = (1..=86_400 / 12).filter(|k| b.failed(s(k * 12))).count();
        assert!(byzantine <= 60, "{byzantine} renewals (one every 12 s would be 7200)");
        // A fresh isolation is kept through failures for its first 10 s.
        let mut g = Freshness::new(s(100));
        assert!(!g.failed(s(109)));
        assert!(g.failed(s(110)));
        // A clock that goes nowhere (same instant) renews nothing.
        let mut h = Freshness::new(s(5));
        assert!(!h.failed(s(5)));
    }

    #[test]
    fn testnet_time_period() {
        let p = TestNetwork::time_period_for_voting_interval(Duration::from_secs(20));
        assert_eq!(p, Duration::from_secs(8 * 60));
        let net = TestNetwork { authorities: Vec::new(), fallbacks: Vec::new(), time_period: p };
        assert!(net.apply(&mut TorClientConfigBuilder::default()).is_err(), "no authorities");
    }

    /// A directory laid out as `scripts/tor-testnet.sh` and tor leave it.
    fn fake_testnet(dir: &Path, voting: Option<u64>) {
        let w = |p: &str, text: &str| {
            let p = dir.join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        let v3 = "AB".repeat(20);
        let voting = voting.map_or(String::new(), |v| format!("TOR_VOTING_INTERVAL={v}\n"));
        w("env", &format!("TOR_TESTNET_DIR=/x\nTOR_NODES=4\n{voting}TOR_NET_PORTS=\"15000\"\n"));
        w("dirauth.conf", &format!("DirAuthority beatauth0 orport=15000 no-v2 v3ident={v3} 10.77.0.1:15020 CD\n"));
        for (d, port, rsa) in [("auth-0", 15000, "11"), ("relay-3", 15003, "33")] {
            w(&format!("{d}/torrc"), &format!("Nickname x\nORPort 10.77.0.1:{port}\n"));
            w(&format!("{d}/data/fingerprint"), &format!("x {}\n", rsa.repeat(20)));
            w(&format!("{d}/data/fingerprint-ed25519"), "x AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE\n");
        }
        w("node-0/torrc", "not a relay\n");
    }

    #[test]
    fn testnet_read_from_the_scripts_directory() {
        let dir = tempfile::tempdir().unwrap();
        fake_testnet(dir.path(), Some(20));
        let net = TestNetwork::from_testnet_dir(dir.path()).unwrap();
        assert_eq!(net.authorities.len(), 1);
        assert_eq!(net.authorities[0].v3ident, "AB".repeat(20));
        assert_eq!(net.authorities[0].relay.orport, "10.77.0.1:15000".parse().unwrap());
        assert_eq!(net.authorities[0].relay.rsa_identity, "11".repeat(20));
        assert_eq!(net.fallbacks.len(), 1, "node-* is not a relay");
        assert_eq!(net.fallbacks[0].orport, "10.77.0.1:15003".parse().unwrap());
        assert_eq!(net.time_period, Duration::from_secs(8 * 60));
        net.apply(&mut TorClientConfigBuilder::default()).unwrap();
        // arti needs a time period of 5 minutes or more: a 10 s voting interval gives 4.
        let dir = tempfile::tempdir().unwrap();
        fake_testnet(dir.path(), Some(10));
        let e = TestNetwork::from_testnet_dir(dir.path()).unwrap_err().to_string();
        assert!(e.contains("TOR_VOTING_INTERVAL=10") && e.contains("5 to 14400"), "{e}");
        // A network from before the script wrote its voting interval; a relay not started.
        let dir = tempfile::tempdir().unwrap();
        fake_testnet(dir.path(), None);
        let e = TestNetwork::from_testnet_dir(dir.path()).unwrap_err().to_string();
        assert!(e.contains("no TOR_VOTING_INTERVAL"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        fake_testnet(dir.path(), Some(20));
        std::fs::remove_file(dir.path().join("relay-3/data/fingerprint-ed25519")).unwrap();
        let e = TestNetwork::from_testnet_dir(dir.path()).unwrap_err().to_string();
        assert!(e.contains("relay-3/data/fingerprint-ed25519"), "{e}");
    }
}

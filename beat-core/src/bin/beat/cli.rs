//! The daemon's command line, declared once with clap: every flag together with the `BEAT_*`
//! variable it may come from (`env`), so `beat --help` lists both and the precedence is
//! clap's: a flag wins over the environment. `--config FILE` sits below both: its keys are the
//! variables' names, and a key fills in a variable only when the environment does not set it
//! (see `load_config` in `main.rs`). Values stay strings here; `main.rs` checks each with an
//! error that names the setting.
//!
//! Secrets (`BEAT_PASSPHRASE`, `BEAT_KEY_HEX`, `BEAT_API_TOKEN`) have `hide_env_values`, so
//! `--help` never shows them, and none of these types implements `Debug`.

// The doc comments below are the help text clap prints (plain text: `<ID>` is a placeholder,
// not an HTML tag).
#![allow(rustdoc::invalid_html_tags)]

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// BEAT: asynchronous Byzantine-fault-tolerant consensus for small committees.
///
/// With no command, runs one node: `beat ID [PORT [METRICS_PORT]]` (or `BEAT_NODE_ID`, …).
/// Without key files the node uses insecure deterministic dev keys, on loopback only.
#[derive(Parser)]
#[command(
    name = "beat",
    disable_version_flag = true,
    after_help = "Settings: a flag wins over its environment variable, which wins over the same key in \
                  --config FILE (a TOML file of the BEAT_* names), which wins over the default. \
                  docs/guide.md explains each."
)]
pub struct Cli {
    /// A TOML file of settings, keyed by the BEAT_* names (`BEAT_PEERS = "…"`, `BEAT_PORT = 7000`)
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Print the version, git revision and enabled features
    #[arg(short = 'V', long)]
    pub version: bool,

    #[command(flatten)]
    pub logs: LogArgs,

    #[command(flatten)]
    pub keys: KeyArgs,

    #[command(flatten)]
    pub node: NodeArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run a whole cluster in this process on loopback, with load and a live table
    Local(LocalArgs),
    /// Deal a committee: cluster.toml (public) and one sealed key file per node
    Keygen(KeygenArgs),
    /// Write this node's onion service key as a tor HiddenServiceDir; print the onion address
    OnionKey {
        /// Directory to write (tor's HiddenServiceDir)
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Talk to a node's client API (submit, watch, read, health checks)
    Client(ClientArgs),
    /// Print the client API's OpenAPI document (what /v1/openapi.json serves)
    Openapi,
    /// The same as --version
    #[command(hide = true)]
    Version,
}

/// Logging, for every command.
#[derive(Args)]
pub struct LogArgs {
    /// Log filter (`beat=info`: links, rejoins, catch-ups, repairs; `beat=debug`: every epoch) [default: warn]
    #[arg(long = "log", env = "RUST_LOG", global = true, value_name = "FILTER")]
    pub rust_log: Option<String>,
    /// `text`, or `json` (one JSON object per line, for log pipelines) [default: text]
    #[arg(long, env = "BEAT_LOG_FORMAT", global = true, value_name = "FORMAT")]
    pub log_format: Option<String>,
}

/// The node's keys: a cluster file and a sealed key file from `beat keygen`, and the key
/// file's secret (exactly one of the three).
#[derive(Args)]
pub struct KeyArgs {
    /// Cluster file from `beat keygen` (public) [default: insecure dev keys]
    #[arg(long, env = "BEAT_CLUSTER", global = true, value_name = "FILE", help_heading = "Keys")]
    pub cluster: Option<String>,
    /// This node's sealed key file from `beat keygen`
    #[arg(long, env = "BEAT_KEY_FILE", global = true, value_name = "FILE", help_heading = "Keys")]
    pub key_file: Option<String>,
    /// The key file's passphrase: from the environment or --config only (on the command line
    /// every process could read it; refused there)
    #[arg(
        long,
        env = "BEAT_PASSPHRASE",
        hide_env_values = true,
        allow_hyphen_values = true,
        global = true,
        help_heading = "Keys"
    )]
    pub passphrase: Option<String>,
    /// The key file's raw 32-byte key, in hex: from the environment or --config only (refused
    /// on the command line, as the passphrase)
    #[arg(
        long,
        env = "BEAT_KEY_HEX",
        hide_env_values = true,
        allow_hyphen_values = true,
        global = true,
        value_name = "HEX",
        help_heading = "Keys"
    )]
    pub key_hex: Option<String>,
    /// A file holding the key file's raw key in hex (`node-<id>.secret` from keygen)
    #[arg(long, env = "BEAT_KEY_HEX_FILE", global = true, value_name = "FILE", help_heading = "Keys")]
    pub key_hex_file: Option<String>,
}

/// One node's settings.
#[derive(Args)]
pub struct NodeArgs {
    /// This node's id
    #[arg(env = "BEAT_NODE_ID", value_name = "ID")]
    pub node_id: Option<String>,
    /// Consensus listen port [default: 7000 + ID]
    #[arg(env = "BEAT_PORT", value_name = "PORT")]
    pub port: Option<String>,
    /// Prometheus `GET /metrics` port [default: 9090 + ID]
    #[arg(env = "BEAT_METRICS_PORT", value_name = "METRICS_PORT")]
    pub metrics_port: Option<String>,

    /// `host:port` of every node, comma-separated, by id [default: the cluster file's, else 127.0.0.1:7000..7003]
    #[arg(long, env = "BEAT_PEERS", value_name = "LIST", help_heading = "Node")]
    pub peers: Option<String>,
    /// Address the consensus listener binds [default: 0.0.0.0; dev keys: this node's own loopback host]
    #[arg(long, env = "BEAT_BIND", value_name = "IP", help_heading = "Node")]
    pub bind: Option<String>,
    /// The node's store [default: ./beat-data/node-<ID>]
    #[arg(long, env = "BEAT_DATA_DIR", value_name = "DIR", help_heading = "Node")]
    pub data_dir: Option<String>,
    /// Dev keys: BEAT0 … BEAT4; with a cluster file it may only repeat the file's variant [default: BEAT0]
    #[arg(long, env = "BEAT_VARIANT", value_name = "VARIANT", help_heading = "Node")]
    pub variant: Option<String>,
    /// Checkpoint and snapshot every this many epochs (the WAL is truncated behind) [default: 64]
    #[arg(long, env = "BEAT_SNAPSHOT_EVERY", value_name = "EPOCHS", help_heading = "Node")]
    pub snapshot_every: Option<String>,
    /// Bytes queued per peer and network while the peer is down (`64MiB`, `512KiB`, …) [default: 64MiB]
    #[arg(long, env = "BEAT_PEER_QUEUE_BYTES", value_name = "BYTES", help_heading = "Node")]
    pub peer_queue_bytes: Option<String>,
    /// BEAT3/4: seconds between scrub passes; 0: only the pass at start [default: 86400]
    #[arg(long, env = "BEAT_SCRUB_SECONDS", value_name = "SECONDS", help_heading = "Node")]
    pub scrub_seconds: Option<String>,
    /// Submit this many synthetic `set` transactions per second (demos, tests) [default: 0]
    #[arg(long, env = "BEAT_LOAD_TPS", value_name = "N", help_heading = "Node")]
    pub load_tps: Option<String>,
    /// Append every accepted peer frame's sender, slot and digest to this file (equivocation evidence)
    #[arg(long, env = "BEAT_AUDIT_LOG", value_name = "FILE", help_heading = "Node")]
    pub audit_log: Option<String>,
    /// `1`: print `commit epoch=<e> digest=<hex> txs=<k>` per committed epoch
    #[arg(long, env = "BEAT_LOG_COMMITS", value_name = "0|1", help_heading = "Node")]
    pub log_commits: Option<String>,

    /// `ip:port` for metrics, or `off` [default: 127.0.0.1:<METRICS_PORT>]
    #[arg(long, env = "BEAT_METRICS_LISTEN", value_name = "ADDR", help_heading = "Metrics and client API")]
    pub metrics_listen: Option<String>,
    /// `ip:port` of the client API, or `off`; other hosts than loopback need --api-tokens [default: 127.0.0.1:<8080 + ID>]
    #[arg(long, env = "BEAT_API_LISTEN", value_name = "ADDR", help_heading = "Metrics and client API")]
    pub api_listen: Option<String>,
    /// File of API token hashes (`name:hex` lines from `beat client token NAME`)
    #[arg(long, env = "BEAT_API_TOKENS", value_name = "FILE", help_heading = "Metrics and client API")]
    pub api_tokens: Option<String>,
    /// API requests per second per token (bursts of twice that) [default: 200]
    #[arg(long, env = "BEAT_API_RATE", value_name = "N", help_heading = "Metrics and client API")]
    pub api_rate: Option<String>,

    /// Networks to use: `clearnet,tor,i2p`, any non-empty subset [default: clearnet, plus Tor / I2P when configured]
    #[arg(long, env = "BEAT_TRANSPORTS", value_name = "LIST", help_heading = "Networks")]
    pub transports: Option<String>,
    /// How to reach Tor: `socks` (a tor daemon: --tor-socks, --tor-listen) or `arti` (Tor in-process, a beat built with `--features tor`) [default: socks]
    #[arg(long = "tor", env = "BEAT_TOR", value_name = "socks|arti", help_heading = "Networks")]
    pub tor_mode: Option<String>,
    /// With --tor arti: arti's state (guards, the onion service's keys and state) and cache [default: <data dir>/arti]
    #[arg(long, env = "BEAT_ARTI_DIR", value_name = "DIR", help_heading = "Networks")]
    pub arti_dir: Option<String>,
    /// With --tor arti: a private Tor network started by scripts/tor-testnet.sh in DIR, instead of the public one (tests)
    #[arg(long, env = "BEAT_TOR_TESTNET", value_name = "DIR", help_heading = "Networks")]
    pub tor_testnet: Option<String>,
    /// A tor daemon's SocksPort (`ip:port`)
    #[arg(long, env = "BEAT_TOR_SOCKS", value_name = "ADDR", help_heading = "Networks")]
    pub tor_socks: Option<String>,
    /// Where the node listens for its onion service (HiddenServicePort target) [default: 127.0.0.1:<PORT + 1000>]
    #[arg(long, env = "BEAT_TOR_LISTEN", value_name = "ADDR", help_heading = "Networks")]
    pub tor_listen: Option<String>,
    /// Every node's `….onion:port`, by id [default: the cluster file's]
    #[arg(long, env = "BEAT_TOR_PEERS", value_name = "LIST", help_heading = "Networks")]
    pub tor_peers: Option<String>,
    /// An I2P router's SAMv3 bridge (`ip:port`)
    #[arg(long, env = "BEAT_I2P_SAM", value_name = "ADDR", help_heading = "Networks")]
    pub i2p_sam: Option<String>,
    /// File with the node's I2P private destination, created through SAM if missing [default: <data dir>/i2p-destination.key]
    #[arg(long, env = "BEAT_I2P_KEY", value_name = "FILE", help_heading = "Networks")]
    pub i2p_key: Option<String>,
    /// Instead of SAM: an I2P router's SOCKS proxy (`ip:port`)
    #[arg(long, env = "BEAT_I2P_SOCKS", value_name = "ADDR", help_heading = "Networks")]
    pub i2p_socks: Option<String>,
    /// With --i2p-socks: the target of the router's server tunnel (`ip:port`)
    #[arg(long, env = "BEAT_I2P_LISTEN", value_name = "ADDR", help_heading = "Networks")]
    pub i2p_listen: Option<String>,
    /// Every node's I2P destination or `….b32.i2p`, by id [default: the cluster file's]
    #[arg(long, env = "BEAT_I2P_PEERS", value_name = "LIST", help_heading = "Networks")]
    pub i2p_peers: Option<String>,
}

#[derive(Args)]
pub struct LocalArgs {
    /// Committee size
    #[arg(long, default_value_t = 4)]
    pub nodes: usize,
    /// Stop after this many seconds (0: run until Ctrl-C)
    #[arg(long, default_value_t = 0)]
    pub seconds: u64,
    /// BEAT0 … BEAT4
    #[arg(long, default_value = "BEAT0")]
    pub variant: String,
}

#[derive(Args)]
pub struct KeygenArgs {
    /// Committee size (4 to 7 for f = 1, 2)
    #[arg(long, default_value = "4")]
    pub nodes: String,
    /// Directory to write cluster.toml and node-<id>.key (and node-<id>.secret) into; must not hold a committee
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Host of every node's clearnet address
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Node i listens on BASE_PORT + i
    #[arg(long, default_value = "7000")]
    pub base_port: String,
    /// Add each node's onion address (derived from its identity) on this port
    #[arg(long, value_name = "PORT")]
    pub tor_port: Option<String>,
    /// Seal key file i under line i + 1 of FILE, instead of a random key per node
    #[arg(long, value_name = "FILE")]
    pub passphrases: Option<PathBuf>,
    /// BEAT0 … BEAT4
    #[arg(long, default_value = "BEAT0")]
    pub variant: String,
    /// Transactions per proposal [default: the variant's service default]
    #[arg(long, value_name = "B")]
    pub batch_size: Option<String>,
    /// Largest transaction in bytes [default: the variant's]
    #[arg(long, value_name = "BYTES")]
    pub max_tx_size: Option<String>,
    /// Largest proposal in bytes [default: the variant's]
    #[arg(long, value_name = "BYTES")]
    pub max_proposal_bytes: Option<String>,
    /// Epochs a committed transaction id is remembered (duplicates refused) [default: the variant's]
    #[arg(long, value_name = "E")]
    pub dedup_epochs: Option<String>,
}

#[derive(Args)]
pub struct ClientArgs {
    /// The node's client API [default: http://127.0.0.1:8080]
    #[arg(long = "node", env = "BEAT_API_URL", value_name = "URL", global = true)]
    pub url: Option<String>,
    /// Bearer token (from `beat client token`; BEAT_API_TOKEN keeps it out of the process list)
    #[arg(long, env = "BEAT_API_TOKEN", hide_env_values = true, allow_hyphen_values = true, global = true)]
    pub token: Option<String>,
    #[command(subcommand)]
    pub command: ClientCommand,
}

#[derive(Subcommand)]
pub enum ClientCommand {
    /// Submit transactions; print their ids
    Submit {
        /// The transactions are base64, not text
        #[arg(long)]
        base64: bool,
        /// Transactions
        #[arg(required = true, value_name = "TX")]
        txs: Vec<String>,
    },
    /// A transaction's state: pending, committed (epoch, position) or unknown
    Get {
        /// Transaction id (from submit)
        id: String,
    },
    /// Follow the committed log (Ctrl-C to stop)
    Watch {
        /// First epoch to print
        #[arg(long, value_name = "EPOCH")]
        from: Option<u64>,
    },
    /// The node's status (JSON)
    Status,
    /// Exit 0 if the node runs, else 1 with the reason (container health checks, probes)
    Health {
        /// Healthy only once the node has caught up with the committee
        #[arg(long)]
        ready: bool,
    },
    /// The key-value app's value of KEY
    Kv {
        /// Key
        #[arg(allow_hyphen_values = true)]
        key: String,
    },
    /// Store FILE (BEAT3/4); print its blob id
    PutBlob {
        /// File to store
        file: PathBuf,
    },
    /// Read a blob (BEAT3/4), whole or a byte range
    GetBlob {
        /// Blob id (from put-blob)
        id: String,
        /// Bytes A to B, inclusive (HTTP Range)
        #[arg(long, value_name = "A-B")]
        range: Option<String>,
        /// Write to FILE instead of stdout
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Load through the API: accepted and committed tx/s, submit-to-commit p50/p99
    Bench {
        /// Numbers of concurrent clients, one run each
        #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
        clients: Vec<usize>,
        /// Seconds per run
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// Make an API token: prints the token and the line for the BEAT_API_TOKENS file
    Token {
        /// The token's name (letters, digits, - _ . @)
        name: String,
    },
}

//! `vault`: set up a family, run a phone, and use it from the command line.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use beat_core::api::client::{path_segment as encode, Client, Reply};
use beat_core::beat::Variant;
use beat_vault::home::{self, InitSpec};
use beat_vault::vault::Vault;
use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "vault",
    about = "A family's shared, encrypted file vault on their phones, kept by BEAT consensus",
    version
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Deal a new family: one bundle per phone (its keys, the family key, the addresses).
    Init {
        /// Where to write the bundles (`<out>/<id>-<name>/`).
        #[arg(long)]
        out: PathBuf,
        /// The family's name.
        #[arg(long, default_value = "Our family")]
        family: String,
        /// Member names, comma-separated (4 to 7 phones).
        #[arg(long, value_delimiter = ',', required = true)]
        members: Vec<String>,
        /// Each phone's host, comma-separated (one for all: every phone on one machine).
        #[arg(long, value_delimiter = ',', default_value = "127.0.0.1")]
        hosts: Vec<String>,
        /// First port: directory nodes, then storage nodes, then web UIs, n ports each.
        #[arg(long, default_value_t = 7400)]
        base_port: u16,
        /// beat3 (whole-file reads) or beat4 (range reads from one or two phones).
        #[arg(long, default_value = "beat3")]
        variant: String,
        /// GiB each phone gives the family.
        #[arg(long, default_value_t = 16)]
        capacity_gib: u64,
        /// Seconds between each phone's health reports.
        #[arg(long, default_value_t = 60)]
        heartbeat_s: u64,
        /// Days the trash keeps files.
        #[arg(long, default_value_t = 30)]
        retention_days: u64,
        /// Seconds between scrub passes (each phone re-verifies every piece it holds).
        #[arg(long, default_value_t = 6 * 3600)]
        scrub_s: u64,
    },
    /// Install a member's bundle on this phone (a new phone, or the replacement of a lost one).
    Join {
        /// The bundle `vault init` wrote for this member (or the family's backup of it).
        #[arg(long)]
        bundle: PathBuf,
        /// This phone's vault home.
        #[arg(long, env = "VAULT_HOME")]
        home: PathBuf,
    },
    /// Run this phone: its two nodes, its outbox and its web UI.
    Serve {
        #[arg(long, env = "VAULT_HOME")]
        home: PathBuf,
    },
    /// Upload a local file.
    Put {
        local: PathBuf,
        /// Its path in the vault (default: `/` and the local file name).
        path: Option<String>,
        #[arg(long, env = "VAULT_HOME")]
        home: PathBuf,
        /// Seconds to wait for the family to commit it (0: queue and return).
        #[arg(long, default_value_t = 120)]
        wait: u64,
    },
    /// Download a file.
    Get {
        path: String,
        /// Where to write it (default: its name, here).
        #[arg(long)]
        out: Option<PathBuf>,
        /// An older version.
        #[arg(long)]
        version: Option<u64>,
        #[arg(long, env = "VAULT_HOME")]
        home: PathBuf,
    },
    /// List files.
    Ls {
        #[arg(long, env = "VAULT_HOME")]
        home: PathBuf,
    },
    /// Move a file to the trash.
    Rm {
        path: String,
        #[arg(long, env = "VAULT_HOME")]
        home: PathBuf,
    },
    /// Rename a file.
    Mv {
        from: String,
        to: String,
        #[arg(long, env = "VAULT_HOME")]
        home: PathBuf,
    },
    /// A file's versions.
    Versions {
        path: String,
        #[arg(long, env = "VAULT_HOME")]
        home: PathBuf,
    },
    /// Make an old version (or a file in the trash) current again.
    Restore {
        path: String,
        version: u64,
        #[arg(long, env = "VAULT_HOME")]
        home: PathBuf,
    },
    /// The family's health: is every file safe, which phone is away, repair progress.
    Health {
        #[arg(long, env = "VAULT_HOME")]
        home: PathBuf,
    },
    /// Set a member's quota (agreed by the family through consensus).
    Quota {
        /// Member id (see `vault health`).
        member: u8,
        /// Bytes (suffixes K, M, G allowed).
        bytes: String,
        #[arg(long, env = "VAULT_HOME")]
        home: PathBuf,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vault: {e}");
            ExitCode::FAILURE
        }
    }
}

fn web_addr(home: &Path) -> Result<std::net::SocketAddr, String> {
    let text = std::fs::read_to_string(home.join("vault.toml"))
        .map_err(|e| format!("{}: {e}", home.join("vault.toml").display()))?;
    let c: home::HomeConfig = toml::from_str(&text).map_err(|e| format!("vault.toml: {e}"))?;
    Ok(c.web)
}

/// One request to this phone's vault (`beat-core`'s API client: HTTP/1.1 on loopback), with
/// the phone's access token.
fn call(home: &Path, method: &str, target: &str, body: &[u8], timeout_s: u64) -> Result<Reply, String> {
    let token_file = home.join("data").join("web.token");
    let token = std::fs::read_to_string(&token_file)
        .map_err(|e| format!("{}: {e} (is `vault serve --home {}` running?)", token_file.display(), home.display()))?;
    let addr = web_addr(home)?;
    let mut client = Client::new(&addr.to_string(), None)?;
    client.timeout = Duration::from_secs(timeout_s + 30);
    let headers = [
        ("X-Vault", "1".to_string()),
        ("X-Vault-Token", token.trim().to_string()),
        ("Content-Type", "application/json".to_string()),
    ];
    client
        .request(method, target, &headers, body)
        .map_err(|e| format!("cannot reach the vault at {addr} ({e}): is `vault serve` running?"))
}

/// The JSON body of a 2xx answer, or the error the vault gave.
fn ok_json(r: &Reply) -> Result<serde_json::Value, String> {
    if r.status == 413 {
        return Err("the file is larger than the web API takes (256 MiB)".into());
    }
    let v: serde_json::Value = serde_json::from_slice(&r.body)
        .map_err(|e| format!("the vault answered {} with a non-JSON body: {e}", r.status))?;
    if r.status >= 300 {
        return Err(v["error"].as_str().map_or_else(|| format!("HTTP {}", r.status), str::to_string));
    }
    Ok(v)
}

fn current(home: &Path, path: &str) -> Result<Option<u64>, String> {
    let ls = ok_json(&call(home, "GET", "/api/ls", b"", 0)?)?;
    Ok(ls["files"].as_array().and_then(|fs| fs.iter().find(|f| f["path"] == path)).and_then(|f| f["version"].as_u64()))
}

fn show_outcome(r: &Reply) -> Result<(), String> {
    let v = ok_json(r)?;
    if r.status == 202 {
        println!(
            "queued (operation {}): it will be saved when enough phones are reachable",
            v["id"].as_str().unwrap_or("")
        );
    } else if let Some(d) = v["outcome"].get("Done") {
        if d["conflict"].as_bool() == Some(true) {
            println!("someone changed it at the same time: kept both; yours is {}", d["path"].as_str().unwrap_or(""));
        } else {
            println!(
                "done: {}{}",
                d["path"].as_str().unwrap_or(""),
                d["version"].as_u64().map(|v| format!(" v{v}")).unwrap_or_default()
            );
        }
    }
    Ok(())
}

fn parse_bytes(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, mult) = match s.to_ascii_uppercase().chars().last() {
        Some('K') => (&s[..s.len() - 1], 1u64 << 10),
        Some('M') => (&s[..s.len() - 1], 1 << 20),
        Some('G') => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    num.trim()
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| format!("{s:?} is not a size (e.g. 500M, 2G)"))
}

fn op(home: &Path, body: serde_json::Value) -> Result<(), String> {
    show_outcome(&call(home, "POST", "/api/op", body.to_string().as_bytes(), 30)?)
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.cmd {
        Cmd::Init {
            out,
            family,
            members,
            hosts,
            base_port,
            variant,
            capacity_gib,
            heartbeat_s,
            retention_days,
            scrub_s,
        } => {
            let variant = match variant.to_ascii_lowercase().as_str() {
                "beat3" => Variant::Beat3,
                "beat4" => Variant::Beat4,
                v => return Err(format!("--variant {v:?}: files are stored with beat3 or beat4")),
            };
            let spec = InitSpec {
                family,
                members,
                hosts,
                base_port,
                variant,
                capacity: capacity_gib.saturating_mul(1 << 30),
                heartbeat_ms: heartbeat_s.max(1) * 1000,
                retention_ms: retention_days.saturating_mul(86_400_000),
                scrub_interval_ms: scrub_s.max(1).saturating_mul(1000),
            };
            for b in home::init(&out, &spec)? {
                println!("{}", b.display());
            }
            println!("Give each phone its bundle (`vault join --bundle … --home …`) and keep a copy of every bundle somewhere safe: it is how a lost phone is replaced.");
            Ok(())
        }
        Cmd::Join { bundle, home } => {
            home::join(&bundle, &home)?;
            println!("joined: start it with `vault serve --home {}`", home.display());
            Ok(())
        }
        Cmd::Serve { home } => serve(&home),
        Cmd::Put { local, path, home, wait } => {
            let bytes = std::fs::read(&local).map_err(|e| format!("{}: {e}", local.display()))?;
            let path = path.unwrap_or_else(|| {
                format!("/{}", local.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default())
            });
            let base = current(&home, &path)?.map(|v| format!("&base={v}")).unwrap_or_default();
            show_outcome(&call(
                &home,
                "PUT",
                &format!("/api/files?path={}{base}&wait={wait}", encode(&path)),
                &bytes,
                wait,
            )?)
        }
        Cmd::Get { path, out, version, home } => {
            let v = version.map(|v| format!("&version={v}")).unwrap_or_default();
            let r = call(&home, "GET", &format!("/api/files?path={}{v}", encode(&path)), b"", 120)?;
            if r.status != 200 {
                return Err(ok_json(&r).err().unwrap_or_else(|| format!("HTTP {}", r.status)));
            }
            let out = out.unwrap_or_else(|| PathBuf::from(path.rsplit('/').next().unwrap_or("file")));
            std::fs::write(&out, &r.body).map_err(|e| format!("{}: {e}", out.display()))?;
            println!(
                "{} bytes to {} (SHA-256 {}, checked)",
                r.body.len(),
                out.display(),
                r.header("x-vault-sha256").unwrap_or("")
            );
            Ok(())
        }
        Cmd::Ls { home } => {
            let ls = ok_json(&call(&home, "GET", "/api/ls", b"", 0)?)?;
            for f in ls["files"].as_array().into_iter().flatten() {
                println!(
                    "{:>12}  v{:<4} {:<10} {}",
                    f["size"],
                    f["version"],
                    f["owner"].as_str().unwrap_or(""),
                    f["path"].as_str().unwrap_or("")
                );
            }
            let trash = ls["trash"].as_array().map_or(0, Vec::len);
            if trash > 0 {
                println!("({trash} in the trash)");
            }
            Ok(())
        }
        Cmd::Rm { path, home } => {
            let base = current(&home, &path)?.ok_or_else(|| format!("{path}: no such file"))?;
            op(&home, serde_json::json!({ "op": "rm", "path": path, "base": base, "wait": 20 }))
        }
        Cmd::Mv { from, to, home } => {
            let base = current(&home, &from)?.ok_or_else(|| format!("{from}: no such file"))?;
            op(&home, serde_json::json!({ "op": "mv", "from": from, "to": to, "base": base, "wait": 20 }))
        }
        Cmd::Versions { path, home } => {
            let v = ok_json(&call(&home, "GET", &format!("/api/versions?path={}", encode(&path)), b"", 0)?)?;
            for x in v["versions"].as_array().into_iter().flatten() {
                let cur = if x["current"].as_bool() == Some(true) { " (current)" } else { "" };
                println!("v{:<5} {:>12}  {}{cur}", x["version"], x["size"], x["owner"].as_str().unwrap_or(""));
            }
            Ok(())
        }
        Cmd::Restore { path, version, home } => {
            op(&home, serde_json::json!({ "op": "restore", "path": path, "version": version, "wait": 20 }))
        }
        Cmd::Health { home } => {
            let h = ok_json(&call(&home, "GET", "/api/health", b"", 0)?)?;
            println!("{}", h["status"].as_str().unwrap_or(""));
            for m in h["members"].as_array().into_iter().flatten() {
                println!(
                    "  {:<10} {:<8} {:>3}% held   last seen {}",
                    m["name"].as_str().unwrap_or(""),
                    if m["online"].as_bool() == Some(true) { "online" } else { "away" },
                    m["progress"],
                    m["last_seen_s"].as_u64().map_or("never".into(), |s| format!("{s} s ago"))
                );
            }
            Ok(())
        }
        Cmd::Quota { member, bytes, home } => {
            let bytes = parse_bytes(&bytes)?;
            op(&home, serde_json::json!({ "op": "quota", "member": member, "bytes": bytes, "wait": 20 }))
        }
    }
}

fn serve(home: &Path) -> Result<(), String> {
    let loaded = home::load(home)?;
    let listen = loaded.config.web;
    if !listen.ip().is_loopback() {
        return Err(format!("vault.toml: web = {listen}: the web UI only listens on loopback"));
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    let vault = Arc::new(Vault::start(loaded)?);
    // A fresh access token for this run's web UI and API (see beat_vault::web).
    let token = beat_vault::crypt::Key::generate().to_hex().to_string();
    let token_file = home.join("data").join("web.token");
    let _ = std::fs::remove_file(&token_file);
    beat_core::keystore::storage::write_new_file(&token_file, token.as_bytes(), true)
        .map_err(|e| format!("{}: {e}", token_file.display()))?;
    let app = beat_vault::web::router(vault.clone(), listen, token.clone());
    let result: Result<(), String> = rt.block_on(async move {
        let l = tokio::net::TcpListener::bind(listen).await.map_err(|e| format!("web UI on {listen}: {e}"))?;
        eprintln!(
            "vault: {}'s phone is up; open http://{listen}/?token={token}",
            vault.home().config.members[usize::from(vault.member())]
        );
        axum::serve(l, app)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .map_err(|e| e.to_string())
    });
    result
}

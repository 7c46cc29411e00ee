//! Trusted-dealer setup of a local test cluster: `cluster.toml` and one sealed key file per node,
//! each under its own passphrase.
//!
//! ```text
//! printf 'first node passphrase\nsecond…\nthird…\nfourth…\n' > passphrases.txt
//! cargo run --release -p beat-core --example dealer -- ./cluster passphrases.txt
//! ```
//!
//! `n` is the number of lines in the passphrase file; node `i` gets line `i + 1` and the
//! clearnet address `127.0.0.1:(7000 + i)` (edit `cluster.toml` afterwards to change
//! addresses). The committee runs BEAT0 with the default consensus settings. Key files are
//! sealed with Argon2id (OWASP's parameters) and ChaCha20-Poly1305; existing files are never
//! overwritten.

use beat_core::beat::Settings;
use beat_core::keystore::{self, Addresses, DealSpec, KdfParams, KeySource};
use beat_core::SessionId;
use rand_core::{OsRng, RngCore};

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: dealer <directory> <passphrase file: one line per node>";
    let dir = std::path::PathBuf::from(args.next().ok_or(usage)?);
    let file = args.next().ok_or(usage)?;
    let text = std::fs::read_to_string(&file).map_err(|e| format!("{file}: {e}"))?;
    let keys: Vec<KeySource> = text.lines().map(KeySource::passphrase).collect();
    let n = keys.len();

    let mut session = [0u8; 32];
    OsRng.fill_bytes(&mut session);
    let addresses: Vec<Addresses> = (0..n).map(|i| Addresses::clearnet(format!("127.0.0.1:{}", 7000 + i))).collect();
    let spec = DealSpec { session: SessionId(session), settings: Settings::default(), addresses, onion_port: None };
    let cluster = keystore::write_cluster(&dir, &spec, &keys, &KdfParams::default(), &mut OsRng)?;

    println!("wrote {} (n = {}, f = {})", dir.join(keystore::CLUSTER_FILE_NAME).display(), n, cluster.params().f);
    for node in &cluster.nodes {
        println!("  {}  identity {}", dir.join(keystore::node_key_file_name(node.id)).display(), node.identity);
    }
    // Check what was written the way a node will.
    let loaded = keystore::load_cluster(&dir.join(keystore::CLUSTER_FILE_NAME))?;
    for (node, key) in loaded.nodes.iter().zip(&keys) {
        keystore::load_node_keys(&dir.join(keystore::node_key_file_name(node.id)), key, &loaded)?;
    }
    println!("every key file opens with its own passphrase and matches the cluster file");
    Ok(())
}

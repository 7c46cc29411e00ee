//! Trusted-dealer setup of a local test cluster: `cluster.toml` and one sealed key file per node.
//!
//! ```text
//! BEAT_PASSPHRASE='a long passphrase' cargo run --release -p beat-core --example dealer -- ./cluster 4
//! ```
//!
//! Node `i` gets the clearnet address `127.0.0.1:(7000 + i)`; edit `cluster.toml` afterwards
//! to change addresses. The key files are sealed with the passphrase (Argon2id with OWASP's
//! parameters); existing files are never overwritten.

use beat_core::keystore::{self, Addresses, KdfParams, KeySource};
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
    let usage = "usage: dealer <directory> <n>   (passphrase in BEAT_PASSPHRASE)";
    let dir = std::path::PathBuf::from(args.next().ok_or(usage)?);
    let n: usize = args.next().ok_or(usage)?.parse().map_err(|_| usage)?;
    let passphrase = std::env::var("BEAT_PASSPHRASE").map_err(|_| "set BEAT_PASSPHRASE")?;
    let key = KeySource::passphrase(passphrase);

    let mut session = [0u8; 32];
    OsRng.fill_bytes(&mut session);
    let addresses: Vec<Addresses> = (0..n).map(|i| Addresses::clearnet(format!("127.0.0.1:{}", 7000 + i))).collect();
    let cluster =
        keystore::write_cluster(&dir, SessionId(session), &addresses, None, &key, &KdfParams::default(), &mut OsRng)?;

    println!("wrote {} (n = {}, f = {})", dir.join(keystore::CLUSTER_FILE_NAME).display(), n, cluster.params().f);
    for node in &cluster.nodes {
        println!("  {}  identity {}", dir.join(keystore::node_key_file_name(node.id)).display(), node.identity);
    }
    // Check what was written the way a node will.
    let loaded = keystore::load_cluster(&dir.join(keystore::CLUSTER_FILE_NAME))?;
    for node in &loaded.nodes {
        keystore::load_node_keys(&dir.join(keystore::node_key_file_name(node.id)), &key, &loaded)?;
    }
    println!("every key file opens and matches the cluster file");
    Ok(())
}

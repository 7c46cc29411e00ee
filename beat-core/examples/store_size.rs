//! Disk footprint of the persistent stores: 10,000 WAL records of 1 KiB (10 MiB of live data),
//! appended one durable commit per record and in batches of 100.
//!
//! ```text
//! cargo run --release -p beat-core --example store_size                  # redb
//! cargo run --release -p beat-core --example store_size --features sled  # redb and sled
//! ```
//!
//! Prints, per backend and append pattern, the bytes its files occupy and the ratio to the
//! live data; for redb also after `RedbStore::compact` (redb grows its file in regions and
//! never shrinks it by itself).

use std::path::Path;

use beat_core::state::{RedbStore, Store, StoreError};

/// Opens a store in a directory.
type Open = dyn Fn(&Path) -> Result<Box<dyn Store>, StoreError>;

const RECORDS: u64 = 10_000;
const RECORD_BYTES: usize = 1024;

/// Total length of the regular files under `dir`.
fn files_bytes(dir: &Path) -> std::io::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() { files_bytes(&entry.path())? } else { meta.len() };
    }
    Ok(total)
}

fn report(label: &str, bytes: u64) {
    let live = RECORDS * RECORD_BYTES as u64;
    println!(
        "{label:28} {:6.2} MiB on disk, {:.2}x the live data",
        bytes as f64 / f64::from(1 << 20),
        bytes as f64 / live as f64
    );
}

/// Append the records in batches of `batch` to a fresh store, close it; returns its directory.
fn fill(open: &Open, batch: u64) -> Result<tempfile::TempDir, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let store = open(dir.path())?;
    for first in (0..RECORDS).step_by(batch as usize) {
        let payloads: Vec<Vec<u8>> = (first..first + batch).map(|seq| vec![(seq % 251) as u8; RECORD_BYTES]).collect();
        let records: Vec<(u64, &[u8])> = (first..).zip(payloads.iter().map(Vec::as_slice)).collect();
        store.wal_append(&records)?;
    }
    store.flush()?;
    Ok(dir)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!(
        "{RECORDS} WAL records of {RECORD_BYTES} bytes = {:.2} MiB live",
        (RECORDS * RECORD_BYTES as u64) as f64 / f64::from(1 << 20)
    );
    for batch in [1u64, 100] {
        let dir = fill(&|dir| Ok(Box::new(RedbStore::open(dir)?)), batch)?;
        report(&format!("redb, batches of {batch}"), files_bytes(dir.path())?);
        let mut store = RedbStore::open(dir.path())?;
        while store.compact()? {}
        drop(store);
        report(&format!("redb, batches of {batch}, compacted"), files_bytes(dir.path())?);
    }
    #[cfg(feature = "sled")]
    for batch in [1u64, 100] {
        let dir = fill(&|dir| Ok(Box::new(beat_core::state::SledStore::open(dir)?)), batch)?;
        report(&format!("sled, batches of {batch}"), files_bytes(dir.path())?);
    }
    Ok(())
}

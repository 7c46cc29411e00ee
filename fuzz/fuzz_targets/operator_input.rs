//! What an operator (or whoever can write a node's configuration) hands it: the cluster file,
//! sealed key files, their plaintext layout, consensus settings, raw keys and variant names.
//!
//! The first byte picks a mode:
//!
//! | mode | bytes are | asserts |
//! |---|---|---|
//! | 0 | a cluster file (`ClusterConfig::from_toml`) | what validates writes back (`to_toml`) to a file that validates to the same committee, and writing is idempotent |
//! | 1 | `[consensus]` settings (TOML → `Settings`) | `validate` and `bind_session` never panic; TOML round trip |
//! | 2 | a node key file's plaintext (`NodeKeyFile::from_bytes`) | what parses writes back byte for byte (the layout is canonical) |
//! | 3 | a sealed key file (`keystore::storage::open`) under a raw key, and under a passphrase when the file's Argon2 cost is small | no panic; what opens is parsed as a `NodeKeyFile` |
//! | 4 | text for `KeySource::raw_from_hex` and `Variant::from_name` | a raw key is exactly 64 hex digits; variant names round-trip |
//!
//! Parsing `N` bytes raises the heap by at most `512·N + 1 MiB` (TOML documents build trees).
#![no_main]

use beat_core::beat::{Settings, Variant};
use beat_core::keystore::storage::{self, HEADER_LEN};
use beat_core::keystore::{ClusterConfig, KeySource, NodeKeyFile};
use beat_core::{Params, SessionId};
use beat_fuzz::alloc::{assert_bounded, measure};
use libfuzzer_sys::fuzz_target;

const ALLOC_PER_BYTE: usize = 512;
const ALLOC_FIXED: usize = 1 << 20;

/// The raw key the corpus's raw-sealed files are sealed under (`examples/gen_corpus.rs`).
pub const RAW_KEY_HEX: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
/// The passphrase of the corpus's passphrase-sealed files.
pub const PASSPHRASE: &str = "fuzz passphrase";
/// Largest Argon2 cost (KiB × passes) tried per input: the bounds a file may ask for
/// (256 MiB × 16 passes) would make one input take seconds.
const MAX_ARGON2_COST: u64 = 64 * 2;

fn cluster(text: &str) {
    let (cfg, peak) = measure(|| ClusterConfig::from_toml(text));
    assert_bounded("ClusterConfig::from_toml", text.len(), peak, ALLOC_PER_BYTE, ALLOC_FIXED);
    let Ok(cfg) = cfg else { return };
    let written = cfg.to_toml().expect("a valid cluster writes");
    let back = ClusterConfig::from_toml(&written).expect("a written cluster file validates");
    assert_eq!(back.base_session, cfg.base_session);
    assert_eq!(back.nodes, cfg.nodes);
    assert_eq!(back.public.params, cfg.public.params);
    assert_eq!(back.public.settings, cfg.public.settings);
    assert_eq!(back.public.session, cfg.public.session);
    assert_eq!(back.to_toml().expect("writes"), written, "writing is not idempotent");
    assert_eq!(cfg.public.session, cfg.public.settings.bind_session(&cfg.base_session, cfg.public.params));
}

fn settings(text: &str) {
    let (s, peak) = measure(|| toml::from_str::<Settings>(text));
    assert_bounded("Settings from TOML", text.len(), peak, ALLOC_PER_BYTE, ALLOC_FIXED);
    let Ok(s) = s else { return };
    let _ = s.validate();
    let _ = s.max_txs_per_proposal();
    let _ = s.bind_session(&SessionId([0; 32]), Params::new(4).expect("n = 4"));
    let back: Settings = toml::from_str(&toml::to_string(&s).expect("settings write")).expect("settings reread");
    assert_eq!(back, s);
}

fn key_file(bytes: &[u8]) {
    let Ok(file) = NodeKeyFile::from_bytes(bytes) else { return };
    assert_eq!(&file.to_bytes()[..], bytes, "the key file layout is not canonical");
    assert!(file.id < file.params.n);
}

fn sealed(bytes: &[u8]) {
    let raw = KeySource::raw_from_hex(RAW_KEY_HEX).expect("hex key");
    if let Ok(plain) = storage::open(bytes, &raw) {
        let _ = NodeKeyFile::from_bytes(&plain);
    }
    // A passphrase makes `open` run Argon2 with the file's parameters: only cheap ones here.
    if bytes.len() >= HEADER_LEN && bytes[9] == 1 {
        let u32_at =
            |at: usize| u64::from(u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]));
        if u32_at(10) * u32_at(14) > MAX_ARGON2_COST || u32_at(18) > 4 {
            return;
        }
    }
    if let Ok(plain) = storage::open(bytes, &KeySource::passphrase(PASSPHRASE)) {
        let _ = NodeKeyFile::from_bytes(&plain);
    }
}

fn names(text: &str) {
    match KeySource::raw_from_hex(text) {
        Ok(_) => {
            let t = text.trim();
            assert!(t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()), "raw key from {text:?}");
        }
        Err(_) => assert!(hex::decode(text.trim()).map_or(true, |k| k.len() != 32)),
    }
    if let Some(v) = Variant::from_name(text) {
        assert_eq!(Variant::from_name(v.name()), Some(v));
        assert!(text.trim().to_ascii_uppercase().ends_with(&v.name()[4..]));
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, input)) = data.split_first() else { return };
    match mode % 5 {
        0 => {
            if let Ok(text) = std::str::from_utf8(input) {
                cluster(text);
            }
        }
        1 => {
            if let Ok(text) = std::str::from_utf8(input) {
                settings(text);
            }
        }
        2 => key_file(input),
        3 => sealed(input),
        _ => names(&String::from_utf8_lossy(input)),
    }
});

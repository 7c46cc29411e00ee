//! # BEAT — asynchronous BFT consensus for small committees
//!
//! BEAT is a family of asynchronous Byzantine-fault-tolerant atomic broadcast protocols
//! (Duan, Reiter, Zhang, *BEAT: Asynchronous BFT Made Practical*, CCS 2018) for committees of
//! `n = 3f + 1 ..` nodes, `f = ⌊(n−1)/3⌋`.
//!
//! The crate is layered; data flows downward only:
//!
//! | module | what |
//! |---|---|
//! | [`crypto`] | BLS12-381 threshold coin, Ristretto255 threshold ElGamal (Feldman VSS, DLEQ, TDH2-style ciphertexts), hashing with domain separation |
//! | [`codec`] | the wire envelope and bounded CBOR decoding |
//! | [`proto`] | sans-IO protocols: [`proto::rbc`], [`proto::aba`], [`proto::acs`], and the [`proto::Step`] / [`proto::Fault`] they return |
//! | [`beat`] | BEAT epochs composed from `proto` and `crypto` |
//! | `sim` | (feature `sim`) the deterministic simulator with named Byzantine adversaries |
//! | [`keystore`] | trusted-dealer setup: public cluster file (TOML), sealed node key files (Argon2id + ChaCha20-Poly1305), ed25519 identities |
//! | [`state`] | the node's persistent [`state::Store`]: WAL, snapshots, committed log, fragments, metadata; in memory, redb (default feature `redb`), sled (feature `sled`) |
//!
//! Every protocol is a *sans-IO state machine*: a message or an input goes in, a
//! [`proto::Step`] (messages to send, outputs, faults observed) comes out. No protocol touches
//! sockets, clocks, threads or disk, and randomness is passed in, so one `u64` seed reproduces a
//! whole simulated run.
#![forbid(unsafe_code)]

#[cfg(feature = "api")]
pub mod api;
pub mod app;
pub mod beat;
pub mod codec;
pub mod crypto;
#[cfg(feature = "node")]
pub mod driver;
pub mod keystore;
#[cfg(feature = "node")]
pub mod metrics;
#[cfg(feature = "node")]
pub mod net;
pub mod node;
pub mod proto;
#[cfg(feature = "sim")]
pub mod sim;
pub mod state;

mod types;
pub use types::{NodeId, Params, ParamsError, SessionId};

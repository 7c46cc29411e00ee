//! # Family vault — the four-phone storage app on BEAT
//!
//! A family's phones each give some storage; consensus keeps one shared directory; files survive
//! any one phone being lost, broken or offline. The reference app for teams building on BEAT's
//! storage committees: see `demo-apps/family-vault/README.md` for the walk-through.
//!
//! Each phone runs two BEAT nodes: one in the **directory committee** (BEAT1: small operations,
//! ordered and applied by every phone alike, [`dir::DirectoryApp`]) and one in the **storage
//! committee** (BEAT3, or BEAT4 for range reads), which disperses the encrypted chunks so any
//! `k = f + 1` phones can rebuild them. [`vault::Vault`] ties them together with an on-disk
//! outbox; [`web`] serves the UI on loopback; [`home`] deals a family and installs a phone.

pub mod crypt;
pub mod dir;
pub mod home;
pub mod vault;
#[cfg(feature = "web")]
pub mod web;

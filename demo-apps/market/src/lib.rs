//! # beat-market: a market pipeline on BEAT
//!
//! The reference for the [`beat_core::app::ConsensusApp`] pattern on a stream:
//!
//! ```text
//! DataFeed ──► MarketBatch ──► BeatNode (BEAT0/1/2) ──► committed log ──► MarketState
//!  ticks,       one per node     threshold-encrypted     same order        same hash
//!  Greeks,      and epoch        until the common set    on every node     on every node
//!  orders                        is fixed
//! ```
//!
//! - [`types`]: ticks, Greeks, orders and batches, in fixed-point integers.
//! - [`feed`]: [`feed::DataFeed`], [`feed::SyntheticFeed`], [`feed::FlexbuffersFeed`] and
//!   traders.
//! - [`state`]: [`state::MarketState`], the deterministic fold (quotes, VWAP, Greeks, an order
//!   book with price-time priority) and its hash.
//! - [`app`]: [`app::MarketApp`] (the `ConsensusApp`) and [`app::MarketConsensusNode`] (a
//!   `BeatNode` that batches and submits).
//! - [`sim`]: the same market on a simulated committee, deterministic, with every node's view
//!   of each epoch recorded for the front-running check.
//! - [`live`]: four real nodes on loopback TCP and the terminal table (`beat-market run`).

pub mod app;
pub mod feed;
pub mod live;
pub mod sim;
pub mod state;
pub mod types;

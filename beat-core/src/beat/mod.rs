//! BEAT epochs composed from [`crate::proto`] and [`crate::crypto`].

pub mod batch;
pub mod beat0;
pub mod keys;

pub use batch::Batch;
pub use beat0::{Beat0, Config};
pub use keys::{deal, NodeKeys, PublicKeys};

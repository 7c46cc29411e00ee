//! The wire format: CBOR (RFC 8949) through `ciborium` and `serde`, decoded within bounds.
//!
//! * [`encode`] writes a value; [`decode`] reads one back from a slice no longer than a given
//!   maximum, refuses trailing bytes, and never pre-allocates from a length field (ciborium
//!   reads byte strings in scratch-sized segments and serde caps collection pre-allocation),
//!   so a hostile frame costs at most its own size in memory.
//! * [`Envelope`] is what travels between nodes: protocol version, session and the message.
//!   Golden vectors in the tests freeze its encoding.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::SessionId;

/// The wire protocol version this build speaks.
pub const WIRE_VERSION: u16 = 1;

/// Default maximum size of one frame (and of one decoded message).
pub const MAX_FRAME_BYTES: usize = 64 << 20;

/// Maximum nesting depth of a decoded message.
const RECURSION_LIMIT: usize = 64;

/// Why bytes were refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    /// The input is larger than allowed.
    #[error("frame of {size} bytes exceeds the limit of {max}")]
    TooLarge { size: usize, max: usize },
    /// The input is not a valid encoding of the expected type.
    #[error("malformed CBOR: {0}")]
    Malformed(String),
    /// Bytes remain after the value.
    #[error("{0} trailing bytes after the value")]
    TrailingBytes(usize),
    /// The envelope carries a version this build does not speak.
    #[error("unsupported wire version {0} (this build speaks {WIRE_VERSION})")]
    UnsupportedVersion(u16),
    /// The envelope belongs to another session.
    #[error("message for another session")]
    WrongSession,
}

/// Serialize `value` to CBOR.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail, and every BEAT type serializes infallibly.
    ciborium::into_writer(value, &mut out).expect("CBOR serialization into a Vec is infallible");
    out
}

/// Deserialize one `T` from exactly `bytes`, which must be at most `max` bytes long.
pub fn decode<T: DeserializeOwned>(bytes: &[u8], max: usize) -> Result<T, DecodeError> {
    if bytes.len() > max {
        return Err(DecodeError::TooLarge { size: bytes.len(), max });
    }
    let mut reader = bytes;
    let value = ciborium::de::from_reader_with_recursion_limit(&mut reader, RECURSION_LIMIT);
    let value: T = value.map_err(|e| DecodeError::Malformed(e.to_string()))?;
    if !reader.is_empty() {
        return Err(DecodeError::TrailingBytes(reader.len()));
    }
    Ok(value)
}

/// What travels between two nodes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope<M> {
    /// [`WIRE_VERSION`] of the sender.
    pub version: u16,
    /// The session the message belongs to.
    pub session: SessionId,
    /// The message (which names its epoch, instance and kind).
    pub message: M,
}

impl<M: Serialize + DeserializeOwned> Envelope<M> {
    /// Wrap a message of `session`.
    pub fn new(session: SessionId, message: M) -> Self {
        Envelope { version: WIRE_VERSION, session, message }
    }

    /// Encode to bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        encode(self)
    }

    /// Decode a frame for `session`, refusing other versions and sessions.
    pub fn from_bytes(bytes: &[u8], session: &SessionId, max: usize) -> Result<Self, DecodeError> {
        let env: Self = decode(bytes, max)?;
        if env.version != WIRE_VERSION {
            return Err(DecodeError::UnsupportedVersion(env.version));
        }
        if env.session != *session {
            return Err(DecodeError::WrongSession);
        }
        Ok(env)
    }
}

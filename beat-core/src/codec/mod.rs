//! The wire format: CBOR (RFC 8949) through `ciborium` and `serde`, decoded within bounds.
//!
//! * [`encode`] writes a value; [`decode`] reads one back from a slice no longer than a given
//!   maximum, refuses trailing bytes, and never pre-allocates from a length field (ciborium
//!   reads byte strings in scratch-sized segments and serde caps collection pre-allocation at
//!   1 MiB), so a hostile frame costs at most a small multiple of its own size plus 1 MiB per
//!   nesting level, transiently (the fuzz targets assert `64·N + 8 MiB`).
//! * [`Envelope`] is what travels between nodes: protocol version, session and the message.
//!   Golden vectors in the tests freeze its encoding.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::SessionId;

/// The wire protocol version this build speaks.
pub const WIRE_VERSION: u16 = 4;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::beat::{Content, Message};
    use crate::proto::aba::{AbaContent, AbaMessage, BoolSet};
    use crate::proto::acs::{AcsContent, AcsMessage};
    use crate::proto::broadcast::BroadcastMessage;
    use crate::proto::rbc::RbcMessage;

    fn session() -> SessionId {
        SessionId([7; 32])
    }

    fn val() -> Envelope<Message> {
        let rbc = RbcMessage::Val(b"hello".to_vec());
        Envelope::new(
            session(),
            Message {
                epoch: 3,
                content: Content::Acs(AcsMessage {
                    proposer: 2,
                    content: AcsContent::Broadcast(BroadcastMessage::Rbc(rbc)),
                }),
            },
        )
    }

    fn dec_shares() -> Message {
        use crate::crypto::elgamal::{DecryptionShares, DleqProof};
        use curve25519_dalek::{ristretto::CompressedRistretto, Scalar};
        let shares = DecryptionShares {
            shares: vec![CompressedRistretto([1; 32])],
            proof: DleqProof { c: Scalar::from(5u8), z: Scalar::from(7u8) },
        };
        Message { epoch: 4, content: Content::DecShares { proposer: 1, shares } }
    }

    fn conf() -> Envelope<Message> {
        let aba = AbaMessage { round: 5, content: AbaContent::Conf(BoolSet::BOTH) };
        Envelope::new(
            session(),
            Message { epoch: 1, content: Content::Acs(AcsMessage { proposer: 0, content: AcsContent::Aba(aba) }) },
        )
    }

    /// Golden vectors: the encoding of these messages is frozen. A change here is a wire
    /// format change and needs a new `WIRE_VERSION`.
    #[test]
    fn golden_vectors() {
        // {"version": 4, "session": h'07…07', "message": {"epoch": 3, "content": {"Acs":
        //  {"proposer": 2, "content": {"Broadcast": {"Rbc": {"Val": h'68656c6c6f'}}}}}}}
        // (version 2: broadcasts are tagged by kind since AVID joined RBC; version 3: one batched
        // DLEQ proof per share list, points and scalars as byte strings; version 4: the TDH2
        // proof binds the payload's digest, not the payload — same encoding, other proofs, so
        // mixed versions must refuse each other's frames rather than fault each other.)
        let golden = concat!(
            "a3",
            "6776657273696f6e",
            "04",
            "6773657373696f6e",
            "5820",
            "0707070707070707070707070707070707070707070707070707070707070707",
            "676d657373616765",
            "a2",
            "6565706f6368",
            "03",
            "67636f6e74656e74",
            "a1",
            "63416373",
            "a2",
            "6870726f706f736572",
            "02",
            "67636f6e74656e74",
            "a1",
            "6942726f616463617374",
            "a1",
            "63526263",
            "a1",
            "6356616c",
            "45",
            "68656c6c6f",
        );
        assert_eq!(hex::encode(val().to_bytes()), golden);
        // {"epoch": 4, "content": {"DecShares": {"proposer": 1, "shares": {"shares": h'01…01',
        //  "proof": {"c": h'05 00…', "z": h'07 00…'}}}}}
        let golden_shares = concat!(
            "a2",
            "6565706f6368",
            "04",
            "67636f6e74656e74",
            "a1",
            "69446563536861726573",
            "a2",
            "6870726f706f736572",
            "01",
            "66736861726573",
            "a2",
            "66736861726573",
            "5820",
            "0101010101010101010101010101010101010101010101010101010101010101",
            "6570726f6f66",
            "a2",
            "6163",
            "5820",
            "0500000000000000000000000000000000000000000000000000000000000000",
            "617a",
            "5820",
            "0700000000000000000000000000000000000000000000000000000000000000",
        );
        assert_eq!(hex::encode(encode(&dec_shares())), golden_shares);
        let bytes = conf().to_bytes();
        assert_eq!(Envelope::<Message>::from_bytes(&bytes, &session(), MAX_FRAME_BYTES).unwrap(), conf());
    }

    #[test]
    fn round_trip_and_refusals() {
        let bytes = val().to_bytes();
        assert_eq!(Envelope::<Message>::from_bytes(&bytes, &session(), MAX_FRAME_BYTES).unwrap(), val());
        // Trailing bytes.
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(
            Envelope::<Message>::from_bytes(&longer, &session(), MAX_FRAME_BYTES),
            Err(DecodeError::TrailingBytes(1))
        );
        // Oversized.
        assert!(matches!(Envelope::<Message>::from_bytes(&bytes, &session(), 10), Err(DecodeError::TooLarge { .. })));
        // Wrong session.
        assert_eq!(
            Envelope::<Message>::from_bytes(&bytes, &SessionId([8; 32]), MAX_FRAME_BYTES),
            Err(DecodeError::WrongSession)
        );
        // Every truncation fails cleanly.
        for cut in 0..bytes.len() {
            assert!(Envelope::<Message>::from_bytes(&bytes[..cut], &session(), MAX_FRAME_BYTES).is_err());
        }
        // Wrong version.
        let mut next = val();
        next.version = WIRE_VERSION + 1;
        assert_eq!(
            Envelope::<Message>::from_bytes(&next.to_bytes(), &session(), MAX_FRAME_BYTES),
            Err(DecodeError::UnsupportedVersion(WIRE_VERSION + 1))
        );
    }

    #[test]
    fn hostile_length_fields_do_not_allocate() {
        // A byte string claiming 2^63 bytes, and an array claiming 2^32 elements.
        for frame in [vec![0x5b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], vec![0x9a, 0xff, 0xff, 0xff, 0xff]] {
            assert!(decode::<serde_bytes::ByteBuf>(&frame, MAX_FRAME_BYTES).is_err());
            assert!(decode::<Vec<u64>>(&frame, MAX_FRAME_BYTES).is_err());
        }
        // Deep nesting is refused, not a stack overflow.
        let deep = vec![0x81; 10_000];
        assert!(decode::<ciborium::Value>(&deep, MAX_FRAME_BYTES).is_err());
        // Invalid BoolSet.
        let aba = AbaMessage { round: 0, content: AbaContent::BVal(true) };
        let mut bytes = encode(&aba);
        assert!(decode::<AbaMessage>(&bytes, 1024).is_ok());
        bytes = encode(&ciborium::Value::Map(vec![
            (ciborium::Value::Text("round".into()), ciborium::Value::Integer(0.into())),
            (
                ciborium::Value::Text("content".into()),
                ciborium::Value::Map(vec![(ciborium::Value::Text("Conf".into()), ciborium::Value::Integer(9.into()))]),
            ),
        ]));
        assert!(decode::<AbaMessage>(&bytes, 1024).is_err());
    }
}

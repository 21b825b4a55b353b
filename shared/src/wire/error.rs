//! What can go wrong between the two sides, typed: reading or writing, a frame that
//! is too large or does not decode, a peer of another protocol version.

use std::io;
use std::sync::Arc;

use thiserror::Error;

/// An I/O error that can be cloned and compared (by kind), as every error the JIT
/// keeps must be.
#[derive(Clone, Debug, Error)]
#[error("{0}")]
pub struct IoError(pub Arc<io::Error>);

impl PartialEq for IoError {
    fn eq(&self, other: &Self) -> bool {
        self.0.kind() == other.0.kind()
    }
}

impl Eq for IoError {}

impl From<io::Error> for IoError {
    fn from(err: io::Error) -> Self {
        IoError(Arc::new(err))
    }
}

impl IoError {
    /// The kind of the error.
    pub fn kind(&self) -> io::ErrorKind {
        self.0.kind()
    }
}

/// What can go wrong reading, writing or decoding a frame, or with a peer.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum ProtocolError {
    /// The stream ended between frames.
    #[error("connection closed")]
    Closed,
    /// Reading or writing failed.
    #[error("{0}")]
    Io(IoError),
    /// A header announcing more than [`MAX_FRAME`](super::framing::MAX_FRAME) bytes
    /// (refused before anything is allocated), or a message too large to send.
    #[error("malformed frame: frame of {0} bytes is too large")]
    TooLarge(usize),
    /// A message that postcard could not encode.
    #[error("cannot encode a message: {0}")]
    Encode(postcard::Error),
    /// The frame is malformed.
    #[error("malformed frame: {0}")]
    Malformed(#[from] Malformed),
    /// The controller's `Hello` is for another protocol version (the executor's
    /// refusal).
    #[error("toy speaks protocol {theirs}, this executor speaks {ours}")]
    Version {
        /// The executor's version.
        ours: u32,
        /// The controller's version.
        theirs: u32,
    },
    /// A session that does not open with `Hello`.
    #[error("the first request must be Hello")]
    NotHello,
    /// A request the executor does not serve here (its name).
    #[error("unexpected request {0}")]
    Unexpected(&'static str),
}

impl From<io::Error> for ProtocolError {
    fn from(err: io::Error) -> Self {
        ProtocolError::Io(err.into())
    }
}

/// How a frame is malformed.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum Malformed {
    /// The stream ended inside a header.
    #[error("stream ended inside a frame header")]
    CutHeader,
    /// The stream ended inside a payload.
    #[error("stream ended inside a frame")]
    CutPayload,
    /// Header bytes that must be zero are not.
    #[error("reserved header bytes are not zero")]
    Reserved,
    /// The payload is no message (postcard's reason).
    #[error("{0}")]
    Decode(#[from] postcard::Error),
    /// The payload goes on after its message.
    #[error("trailing bytes")]
    Trailing,
    /// An `Auth` token longer than [`MAX_TOKEN`](super::messages::MAX_TOKEN).
    #[error("token too long")]
    TokenTooLong,
}

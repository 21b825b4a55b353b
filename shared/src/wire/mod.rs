//! The wire protocol between `toy` (the controller) and `toy-executor` (the target).
//!
//! One job per module: [`messages`] says what can be said and in which order,
//! [`framing`] cuts a byte stream into bounded frames, [`codec`] turns a message into
//! a frame's payload and back (lists within [`bounded`] memory), and [`error`] says
//! what can go wrong.

pub mod bounded;
pub mod codec;
pub mod error;
pub mod framing;
pub mod messages;

pub use codec::{read_message, write_message};
pub use error::{IoError, Malformed, ProtocolError};
pub use messages::{Message, Op, RunResult, VERSION};

#[cfg(test)]
mod tests;

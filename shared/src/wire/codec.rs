//! Messages to payloads and back, with postcard: its wire format has a written
//! specification and is stable since 1.0 (bincode, the other candidate, stopped
//! development in 2025).
//!
//! Decoding reads from the frame's bytes only: a string or byte string is a length
//! checked against the bytes left, then copied; a list's length is a size hint only
//! if that many bytes are left (postcard), and a list never grows past
//! [`MAX_LIST_BYTES`](super::bounded::MAX_LIST_BYTES). So a hostile frame costs at
//! most its (bounded) length plus that, and ends in a [`ProtocolError`], never a
//! panic (`tests/alloc.rs` measures it).

use std::io::{Read, Write};

use super::error::{Malformed, ProtocolError};
use super::framing::{read_frame, write_frame};
use super::messages::{MAX_TOKEN, Message};

/// The payload of `message`.
pub fn encode(message: &Message) -> Result<Vec<u8>, ProtocolError> {
    postcard::to_allocvec(message).map_err(ProtocolError::Encode)
}

/// The message in `payload`, which must hold exactly one.
pub fn decode(payload: &[u8]) -> Result<Message, ProtocolError> {
    let (message, rest) = postcard::take_from_bytes::<Message>(payload).map_err(Malformed::from)?;
    if !rest.is_empty() {
        return Err(Malformed::Trailing.into());
    }
    if let Message::Auth { token } = &message
        && token.len() > MAX_TOKEN
    {
        return Err(Malformed::TokenTooLong.into());
    }
    Ok(message)
}

/// Writes one message as a frame (unflushed).
pub fn write_message(w: &mut impl Write, seq: u32, message: &Message) -> Result<(), ProtocolError> {
    write_frame(w, seq, &encode(message)?)
}

/// Reads one frame and decodes its message: its sequence number and the message.
pub fn read_message(r: &mut impl Read) -> Result<(u32, Message), ProtocolError> {
    let (seq, payload) = read_frame(r)?;
    Ok((seq, decode(&payload)?))
}

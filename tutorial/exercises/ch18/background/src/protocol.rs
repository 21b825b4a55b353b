// ANCHOR: head
//! The executor's protocol: the messages that the controller and the executor send
//! each other, and the frames that carry them over a byte stream.

use std::io::{self, Read, Write};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
// ANCHOR_END: head

// ANCHOR: to_executor
/// What the controller sends: requests, and the answer to a `Resolve`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ToExecutor {
    /// Map `len` writable bytes; answered by `Address`.
    Reserve(u64),
    /// Copy bytes to the start of a reserved block; answered by `Done`.
    Write(u64, Vec<u8>),
    /// Make a block executable, and never writable again; answered by `Done`.
    Finalize(u64),
    /// Unmap a block; answered by `Done`.
    Release(u64),
    /// Take one more stub; answered by `Stub` with its id.
    AddStub,
    /// Point stub `id` at an address, or back at its trampoline; answered by `Done`.
    SetSlot(u32, Option<u64>),
    /// Call the function `() -> f64` at this address; answered by `Value`, after any
    /// number of `Output`s and `Resolve`s.
    Run(u64),
    /// The answer to `Resolve`: the function's code, compiled and linked.
    Resolved(u64),
    // ANCHOR: unresolved
    /// The answer to `Resolve` when the function cannot be compiled: why. The code
    /// that called it is left, and the `Run` ends with `Failed`.
    Unresolved(String),
    // ANCHOR_END: unresolved
}
// ANCHOR_END: to_executor

// ANCHOR: to_controller
/// What the executor sends: answers, and its own questions while code runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ToController {
    /// The first message: where the stubs start, and where each native is.
    Hello {
        /// The address of stub 0.
        stubs: u64,
        /// Each native's name and address.
        natives: Vec<(String, u64)>,
    },
    /// A reserved block's address.
    Address(u64),
    /// A new stub's id.
    Stub(u32),
    /// A request done.
    Done,
    /// A request refused, and why.
    Failed(String),
    /// Bytes that `putchard` or `printd` wrote.
    Output(Vec<u8>),
    /// A first call of function `id`: compile it, then answer `Resolved`.
    Resolve(u32),
    /// What a `Run` returned.
    Value(f64),
    // ANCHOR: overflowed
    /// A `Run` filled the executor's JIT stack, and was left.
    Overflowed,
    // ANCHOR_END: overflowed
}
// ANCHOR_END: to_controller

// ANCHOR: frame
/// The largest payload a frame may announce: 16 MiB, far more than an object of
/// ours, far less than what a corrupt length could make us allocate.
pub const MAX_FRAME: usize = 16 << 20;

/// Writes `message` as one frame: its length (4 bytes, little-endian), then its
/// postcard encoding.
pub fn send<T: Serialize>(out: &mut impl Write, message: &T) -> io::Result<()> {
    let payload = postcard::to_stdvec(message).map_err(io::Error::other)?;
    if payload.len() > MAX_FRAME {
        let message = format!(
            "a message of {} bytes: more than {MAX_FRAME}",
            payload.len()
        );
        return Err(io::Error::new(io::ErrorKind::InvalidInput, message));
    }
    let mut frame = (payload.len() as u32).to_le_bytes().to_vec();
    frame.extend_from_slice(&payload);
    out.write_all(&frame)?;
    out.flush()
}

/// Reads one frame and decodes its message. A length over `MAX_FRAME` or a payload
/// that is not exactly one message is `InvalidData`; a stream that ends between
/// frames is `UnexpectedEof`.
pub fn receive<T: DeserializeOwned>(input: &mut impl Read) -> io::Result<T> {
    let mut length = [0; 4];
    input.read_exact(&mut length)?;
    let length = u32::from_le_bytes(length) as usize;
    if length > MAX_FRAME {
        let message = format!("a frame of {length} bytes: more than {MAX_FRAME}");
        return Err(io::Error::new(io::ErrorKind::InvalidData, message));
    }
    let mut payload = vec![0; length];
    input.read_exact(&mut payload)?;
    let invalid = |err: String| io::Error::new(io::ErrorKind::InvalidData, err);
    match postcard::take_from_bytes(&payload) {
        Ok((message, [])) => Ok(message),
        Ok((_, rest)) => Err(invalid(format!("{} bytes after the message", rest.len()))),
        Err(err) => Err(invalid(format!("a malformed message: {err}"))),
    }
}
// ANCHOR_END: frame

// ANCHOR: tests
#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(message: ToExecutor) -> ToExecutor {
        let mut bytes = Vec::new();
        send(&mut bytes, &message).unwrap();
        receive(&mut &bytes[..]).unwrap()
    }

    #[test]
    fn messages_survive_the_wire() {
        for message in [
            ToExecutor::Reserve(4096),
            ToExecutor::Write(0x7f00_0000_1000, vec![0xc3; 300]),
            ToExecutor::SetSlot(7, None),
            ToExecutor::SetSlot(7, Some(u64::MAX)),
            ToExecutor::Run(0x1234),
        ] {
            assert_eq!(round_trip(message.clone()), message);
        }
    }

    #[test]
    fn a_frame_is_a_length_and_postcard() {
        let mut bytes = Vec::new();
        send(&mut bytes, &ToExecutor::Reserve(300)).unwrap();
        // Length 3; variant 0 (`Reserve`); 300 as a varint: 0xac 0x02.
        assert_eq!(bytes, [3, 0, 0, 0, 0, 0xac, 0x02]);
    }

    /// What `receive` makes of `bytes`, as a `ToController`.
    fn error(bytes: &[u8]) -> (io::ErrorKind, String) {
        let err = receive::<ToController>(&mut &bytes[..]).unwrap_err();
        (err.kind(), err.to_string())
    }

    #[test]
    fn malformed_frames_are_errors() {
        use io::ErrorKind::{InvalidData, UnexpectedEof};
        // A length of 4 GiB: refused before anything is allocated.
        let (kind, text) = error(&[0xff, 0xff, 0xff, 0xff, 1, 2, 3]);
        assert_eq!(kind, InvalidData);
        assert_eq!(text, "a frame of 4294967295 bytes: more than 16777216");
        // Variant 200: there is no such message.
        assert_eq!(error(&[1, 0, 0, 0, 200]).0, InvalidData);
        // `Output` announcing a million bytes in a frame of four.
        assert_eq!(error(&[4, 0, 0, 0, 5, 0xc0, 0x84, 0x3d]).0, InvalidData);
        // `Done` followed by a stray byte.
        let (kind, text) = error(&[2, 0, 0, 0, 3, 9]);
        assert_eq!(
            (kind, text.as_str()),
            (InvalidData, "1 bytes after the message")
        );
        // A frame cut short, and nothing at all: the peer is gone.
        assert_eq!(error(&[5, 0, 0, 0, 3]).0, UnexpectedEof);
        assert_eq!(error(&[]).0, UnexpectedEof);
    }
}
// ANCHOR_END: tests

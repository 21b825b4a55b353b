//! Frames: a byte stream cut into bounded payloads.
//!
//! ```text
//! 0: u32 payload length (at most MAX_FRAME)
//! 4: u32 0 (reserved)
//! 8: u32 sequence number: a reply carries its request's
//! ```
//!
//! Integers are little-endian. A header's length is checked against [`MAX_FRAME`]
//! before the payload is allocated, so a frame costs at most that much memory.

use std::io::{self, Read, Write};

use super::error::{Malformed, ProtocolError};

/// Largest payload accepted.
pub const MAX_FRAME: usize = 16 << 20;
/// Bytes of a frame header.
pub const HEADER: usize = 12;

/// A parsed frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Bytes of payload that follow (at most [`MAX_FRAME`]).
    pub len: usize,
    /// The sequence number.
    pub seq: u32,
}

/// Parses a frame header, refusing a payload larger than [`MAX_FRAME`].
pub fn parse_header(header: &[u8; HEADER]) -> Result<Header, ProtocolError> {
    let [l0, l1, l2, l3, r0, r1, r2, r3, s0, s1, s2, s3] = *header;
    let len = u32::from_le_bytes([l0, l1, l2, l3]) as usize;
    if len > MAX_FRAME {
        return Err(ProtocolError::TooLarge(len));
    }
    if [r0, r1, r2, r3] != [0; 4] {
        return Err(Malformed::Reserved.into());
    }
    let seq = u32::from_le_bytes([s0, s1, s2, s3]);
    Ok(Header { len, seq })
}

/// Writes one frame (unflushed).
pub fn write_frame(w: &mut impl Write, seq: u32, payload: &[u8]) -> Result<(), ProtocolError> {
    if payload.len() > MAX_FRAME {
        return Err(ProtocolError::TooLarge(payload.len()));
    }
    let mut header = [0u8; HEADER];
    header[0..4].copy_from_slice(&(payload.len() as u32).to_le_bytes());
    header[8..12].copy_from_slice(&seq.to_le_bytes());
    w.write_all(&header)?;
    w.write_all(payload)?;
    Ok(())
}

/// Reads one frame: its sequence number and payload.
pub fn read_frame(r: &mut impl Read) -> Result<(u32, Vec<u8>), ProtocolError> {
    let mut header = [0u8; HEADER];
    let mut got = 0;
    while got < HEADER {
        match r.read(&mut header[got..]) {
            Ok(0) if got == 0 => return Err(ProtocolError::Closed),
            Ok(0) => return Err(Malformed::CutHeader.into()),
            Ok(n) => got += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err.into()),
        }
    }
    let Header { len, seq } = parse_header(&header)?;
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload).map_err(|err| match err.kind() {
        io::ErrorKind::UnexpectedEof => Malformed::CutPayload.into(),
        _ => ProtocolError::from(err),
    })?;
    Ok((seq, payload))
}

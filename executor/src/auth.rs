//! Authenticating a TCP connection within a deadline, and refusing one with a
//! `Failed` answer that reaches the client.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use thiserror::Error;

use toy_shared::wire::codec::{decode, encode};
use toy_shared::wire::error::{Malformed, ProtocolError};
use toy_shared::wire::framing::{HEADER, Header, parse_header, write_frame};
use toy_shared::wire::messages::{MAX_TOKEN, Message};

/// The largest `Auth` payload: the message's tag, the token's length (a varint of at
/// most 2 bytes for MAX_TOKEN) and the token.
const MAX_AUTH: usize = 3 + MAX_TOKEN;
/// How long a refused connection is drained before it is closed.
const LINGER: Duration = Duration::from_secs(1);

/// Why a connection is not served.
#[derive(Debug, Error)]
pub(crate) enum Refusal {
    /// The client left (or was pushed out) before authenticating.
    #[error("connection closed")]
    Closed,
    /// The deadline passed first.
    #[error("authentication timed out after {} s", .0.as_secs_f64())]
    TimedOut(Duration),
    /// A frame that is not `Auth` with the right token (its sequence number).
    #[error("authentication failed: wrong or missing token")]
    Wrong(u32),
    /// A header announcing more than an `Auth` frame can hold.
    #[error("authentication failed: a frame of {0} bytes is no Auth frame")]
    TooLarge(usize),
    /// A malformed frame.
    #[error("authentication failed: {0}")]
    Broken(ProtocolError),
    /// Authenticated, but every session is taken (the `Auth` frame's sequence number,
    /// the most sessions served at once).
    #[error(
        "executor busy: it serves {1} controller(s) at once (--max-sessions), all \
         taken; try again later"
    )]
    Busy(u32, usize),
    /// Authenticated, but no session process could be started (the sequence number,
    /// why).
    #[error("cannot start an executor process: {1}")]
    NoSession(u32, io::Error),
}

impl Refusal {
    /// The sequence number the answer carries: the request's, when it is known.
    fn seq(&self) -> u32 {
        match self {
            Refusal::Wrong(seq) | Refusal::Busy(seq, _) | Refusal::NoSession(seq, _) => *seq,
            _ => 0,
        }
    }
}

/// Reads the `Auth` frame within `timeout` of `accepted`, and not a byte more (the
/// `Hello` behind it is the session's); its sequence number if the token is right.
pub(crate) fn authenticate(
    stream: &TcpStream,
    accepted: Instant,
    timeout: Duration,
    token: &[u8],
) -> Result<u32, Refusal> {
    let mut reader = Deadline {
        stream,
        until: accepted + timeout,
    };
    let io_refusal = |e: io::Error| match e.kind() {
        io::ErrorKind::TimedOut => Refusal::TimedOut(timeout),
        io::ErrorKind::UnexpectedEof => Refusal::Broken(Malformed::CutPayload.into()),
        _ => Refusal::Closed,
    };
    let mut header = [0u8; HEADER];
    match read_full(&mut reader, &mut header).map_err(io_refusal)? {
        0 => return Err(Refusal::Closed),
        HEADER => {}
        _ => return Err(io_refusal(io::ErrorKind::UnexpectedEof.into())),
    }
    let Header { len, seq } = parse_header(&header).map_err(Refusal::Broken)?;
    // Checked before reading (or allocating) the payload.
    if len > MAX_AUTH {
        return Err(Refusal::TooLarge(len));
    }
    let mut payload = vec![0u8; len];
    reader.read_exact(&mut payload).map_err(io_refusal)?;
    match decode(&payload) {
        Ok(Message::Auth { token: given }) if tokens_match(&given, token) => Ok(seq),
        Ok(_) => Err(Refusal::Wrong(seq)),
        Err(e) => Err(Refusal::Broken(e)),
    }
}

/// Fills `buf` unless the stream ends first; how many bytes it got.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match reader.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Reads from a stream until an instant: the deadline covers all reads together, so
/// a client trickling bytes cannot extend it.
struct Deadline<'a> {
    stream: &'a TcpStream,
    until: Instant,
}

impl Read for Deadline<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        self.stream.set_read_timeout(Some(left))?;
        let mut stream = self.stream;
        stream.read(buf).map_err(|e| match e.kind() {
            // What SO_RCVTIMEO's expiry looks like.
            io::ErrorKind::WouldBlock => io::ErrorKind::TimedOut.into(),
            _ => e,
        })
    }
}

/// Answers `Failed` with the refusal and closes the connection, reading (and
/// dropping) what the client still sends for a moment: closing with unread bytes
/// would reset the connection and could discard the answer before the client reads it.
pub(crate) fn refuse(stream: &TcpStream, refusal: &Refusal) {
    if matches!(refusal, Refusal::Closed) {
        return;
    }
    let mut frame = Vec::new();
    let answer = Message::Failed(refusal.to_string());
    let written = encode(&answer).and_then(|p| write_frame(&mut frame, refusal.seq(), &p));
    if written.is_err() {
        return;
    }
    let mut writer = stream;
    let _ = stream.set_write_timeout(Some(LINGER));
    if writer.write_all(&frame).is_err() || stream.shutdown(Shutdown::Write).is_err() {
        return;
    }
    let mut drain = Deadline {
        stream,
        until: Instant::now() + LINGER,
    };
    let mut sink = [0u8; 4096];
    let mut total = 0usize;
    while total < 1 << 20 {
        match drain.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(n) => total += n,
        }
    }
}

/// Compares two tokens in time that depends only on their lengths.
fn tokens_match(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole() {
        assert!(tokens_match(b"abc", b"abc"));
        assert!(!tokens_match(b"abc", b"abd"));
        assert!(!tokens_match(b"abc", b"ab"));
    }

    #[test]
    fn the_largest_auth_frame_fits_max_auth() {
        let auth = Message::Auth {
            token: vec![b'x'; MAX_TOKEN],
        };
        assert_eq!(encode(&auth).expect("encodes").len(), MAX_AUTH);
    }
}

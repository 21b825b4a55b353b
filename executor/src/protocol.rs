//! The wire protocol between `toy` (the controller) and `toy-executor`.
//!
//! Every message is one frame: a 12-byte header, then the payload.
//!
//! ```text
//! 0: u32 payload length (at most MAX_FRAME)
//! 4: u8  kind
//! 5: u8  0 (flags, reserved)
//! 6: u16 0 (reserved)
//! 8: u32 sequence number: a reply carries its request's
//! ```
//!
//! All integers are little-endian; strings and byte strings are a u32 length and the
//! bytes; lists are a u32 count and the items. Decoding checks every length against
//! the bytes actually present before allocating, so a malformed frame costs no more
//! memory than its (bounded) size, and ends in a [`ProtocolError`], never a panic.
//!
//! A session: (over TCP) `Auth`; `Hello` → `Welcome`; then requests, each answered by
//! exactly one reply or `Failed`. `Run` is answered by `Finished`, and before it, by
//! any number of `Output` frames and of `Resolve` requests from the executor, which
//! the controller answers with `Resolved` after making requests of its own.

use std::io::{self, Read, Write};

use crate::Addr;

/// Version of this protocol; both sides must speak the same.
pub const VERSION: u32 = 1;
/// Largest payload accepted.
pub const MAX_FRAME: usize = 16 << 20;
/// Bytes of a frame header.
pub const HEADER: usize = 12;
/// Longest authentication token accepted.
pub const MAX_TOKEN: usize = 256;

/// A change to executor memory, sent in batches.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// Writes bytes at an address of reserved memory.
    Write {
        /// Where.
        addr: Addr,
        /// What.
        bytes: Vec<u8>,
    },
    /// Makes written memory ready to run.
    Finalize {
        /// Start of the block.
        addr: Addr,
        /// Its size.
        size: u64,
    },
    /// Gives a block back.
    Release {
        /// Start of the block.
        addr: Addr,
    },
    /// Points a stub's slot at a target.
    SetSlot {
        /// The slot.
        slot: Addr,
        /// The new target.
        target: Addr,
    },
    /// Registers a debug object for a block with GDB's JIT interface.
    Debug {
        /// Start of the block the object describes.
        addr: Addr,
        /// The object file.
        bytes: Vec<u8>,
    },
}

/// How a `Run` ended.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RunResult {
    /// The expression's value.
    Value(f64),
    /// Ctrl-C stopped it.
    Interrupted,
    /// The JIT stack overflowed at this instruction.
    StackOverflow {
        /// The faulting instruction.
        pc: Addr,
    },
    /// The controller declined to resolve this function.
    Unresolved {
        /// The function's id.
        id: u32,
    },
}

// ANCHOR: messages
/// One message.
#[derive(Clone, Debug, PartialEq)]
pub enum Message {
    /// Controller: the token (TCP only, before anything else).
    Auth {
        /// The token's bytes.
        token: Vec<u8>,
    },
    /// Controller: the opening request.
    Hello {
        /// The controller's protocol version.
        version: u32,
        /// Whether program output should be sent at each newline (a terminal).
        line_buffered: bool,
    },
    /// Controller: reserve executable memory.
    Reserve {
        /// Bytes.
        size: u64,
        /// Alignment.
        align: u64,
    },
    /// Controller: create a chunk of stubs for ids `first..first + 64`.
    CreateStubs {
        /// The first id.
        first: u32,
    },
    /// Controller: changes to memory, applied in order.
    Batch(Vec<Op>),
    /// Controller: resolve `extern` names.
    LookupExterns(Vec<String>),
    /// Controller: resolve symbols LLVM introduced.
    LookupSymbols(Vec<String>),
    /// Controller: run the `double(*)(void)` at an address.
    Run {
        /// The entry point.
        addr: Addr,
    },
    /// Controller: the answer to `Resolve` (0: declined).
    Resolved {
        /// Where to continue.
        addr: Addr,
    },
    /// Executor: the answer to `Hello`.
    Welcome {
        /// The executor's protocol version.
        version: u32,
        /// Its target triple.
        triple: String,
        /// Its page size.
        page_size: u64,
        /// Its resolver's address.
        resolver: Addr,
        /// The start of its JIT memory.
        base: Addr,
        /// Its process id.
        pid: u32,
    },
    /// Executor: an address (answers `Reserve` and `CreateStubs`).
    Address {
        /// The address.
        addr: Addr,
        /// Bytes of memory in use afterwards.
        in_use: u64,
    },
    /// Executor: a batch was applied.
    Done {
        /// Bytes of memory in use afterwards.
        in_use: u64,
    },
    /// Executor: resolved externs (address, arity if known).
    Externs(Vec<Option<(Addr, Option<u32>)>>),
    /// Executor: resolved symbols.
    Symbols(Vec<Option<Addr>>),
    /// Executor: program output.
    Output(Vec<u8>),
    /// Executor: code reached the trampoline of this function; compile it.
    Resolve {
        /// The function's id.
        id: u32,
    },
    /// Executor: a `Run` ended.
    Finished(RunResult),
    /// Either side: the request failed.
    Failed(String),
}
// ANCHOR_END: messages

/// What can go wrong reading a frame.
#[derive(Debug)]
pub enum ProtocolError {
    /// The stream ended between frames.
    Closed,
    /// Reading or writing failed (or the stream ended inside a frame).
    Io(io::Error),
    /// The frame is malformed.
    Malformed(String),
}

impl std::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProtocolError::Closed => write!(f, "connection closed"),
            ProtocolError::Io(err) => write!(f, "{err}"),
            ProtocolError::Malformed(what) => write!(f, "malformed frame: {what}"),
        }
    }
}

impl From<io::Error> for ProtocolError {
    fn from(err: io::Error) -> Self {
        ProtocolError::Io(err)
    }
}

fn malformed(what: impl Into<String>) -> ProtocolError {
    ProtocolError::Malformed(what.into())
}

mod kind {
    pub const AUTH: u8 = 1;
    pub const HELLO: u8 = 2;
    pub const RESERVE: u8 = 3;
    pub const CREATE_STUBS: u8 = 4;
    pub const BATCH: u8 = 5;
    pub const LOOKUP_EXTERNS: u8 = 6;
    pub const LOOKUP_SYMBOLS: u8 = 7;
    pub const RUN: u8 = 8;
    pub const RESOLVED: u8 = 9;
    pub const WELCOME: u8 = 64;
    pub const ADDRESS: u8 = 65;
    pub const DONE: u8 = 66;
    pub const EXTERNS: u8 = 67;
    pub const SYMBOLS: u8 = 68;
    pub const OUTPUT: u8 = 69;
    pub const RESOLVE: u8 = 70;
    pub const FINISHED: u8 = 71;
    pub const FAILED: u8 = 72;
}

/// Builds a payload.
#[derive(Default)]
struct Encoder(Vec<u8>);

impl Encoder {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn bytes(&mut self, v: &[u8]) {
        self.u32(v.len() as u32);
        self.0.extend_from_slice(v);
    }
    fn strings(&mut self, v: &[String]) {
        self.u32(v.len() as u32);
        for s in v {
            self.bytes(s.as_bytes());
        }
    }
}

/// Reads a payload; every read is checked against what is left.
struct Decoder<'a>(&'a [u8]);

impl<'a> Decoder<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ProtocolError> {
        if n > self.0.len() {
            return Err(malformed("truncated payload"));
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, ProtocolError> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, ProtocolError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Result<u64, ProtocolError> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(a))
    }
    fn bytes(&mut self) -> Result<Vec<u8>, ProtocolError> {
        let n = self.u32()? as usize;
        Ok(self.take(n)?.to_vec())
    }
    fn string(&mut self) -> Result<String, ProtocolError> {
        String::from_utf8(self.bytes()?).map_err(|_| malformed("string is not UTF-8"))
    }
    /// A list count, checked against the bytes left (each item takes at least `min`).
    fn count(&mut self, min: usize) -> Result<usize, ProtocolError> {
        let n = self.u32()? as usize;
        if n.saturating_mul(min) > self.0.len() {
            return Err(malformed("list longer than its frame"));
        }
        Ok(n)
    }
    fn strings(&mut self) -> Result<Vec<String>, ProtocolError> {
        let n = self.count(4)?;
        (0..n).map(|_| self.string()).collect()
    }
    fn bool(&mut self) -> Result<bool, ProtocolError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(malformed("bad boolean")),
        }
    }
    fn end(self) -> Result<(), ProtocolError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(malformed("trailing bytes"))
        }
    }
}

impl Message {
    /// The message's name, for errors (without formatting its payload).
    pub fn name(&self) -> &'static str {
        match self {
            Message::Auth { .. } => "Auth",
            Message::Hello { .. } => "Hello",
            Message::Reserve { .. } => "Reserve",
            Message::CreateStubs { .. } => "CreateStubs",
            Message::Batch(_) => "Batch",
            Message::LookupExterns(_) => "LookupExterns",
            Message::LookupSymbols(_) => "LookupSymbols",
            Message::Run { .. } => "Run",
            Message::Resolved { .. } => "Resolved",
            Message::Welcome { .. } => "Welcome",
            Message::Address { .. } => "Address",
            Message::Done { .. } => "Done",
            Message::Externs(_) => "Externs",
            Message::Symbols(_) => "Symbols",
            Message::Output(_) => "Output",
            Message::Resolve { .. } => "Resolve",
            Message::Finished(_) => "Finished",
            Message::Failed(_) => "Failed",
        }
    }

    /// The frame kind and payload of this message.
    pub fn encode(&self) -> (u8, Vec<u8>) {
        let mut e = Encoder::default();
        let k = match self {
            Message::Auth { token } => {
                e.bytes(token);
                kind::AUTH
            }
            Message::Hello {
                version,
                line_buffered,
            } => {
                e.u32(*version);
                e.u8(u8::from(*line_buffered));
                kind::HELLO
            }
            Message::Reserve { size, align } => {
                e.u64(*size);
                e.u64(*align);
                kind::RESERVE
            }
            Message::CreateStubs { first } => {
                e.u32(*first);
                kind::CREATE_STUBS
            }
            Message::Batch(ops) => {
                e.u32(ops.len() as u32);
                for op in ops {
                    match op {
                        Op::Write { addr, bytes } => {
                            e.u8(0);
                            e.u64(*addr);
                            e.bytes(bytes);
                        }
                        Op::Finalize { addr, size } => {
                            e.u8(1);
                            e.u64(*addr);
                            e.u64(*size);
                        }
                        Op::Release { addr } => {
                            e.u8(2);
                            e.u64(*addr);
                        }
                        Op::SetSlot { slot, target } => {
                            e.u8(3);
                            e.u64(*slot);
                            e.u64(*target);
                        }
                        Op::Debug { addr, bytes } => {
                            e.u8(4);
                            e.u64(*addr);
                            e.bytes(bytes);
                        }
                    }
                }
                kind::BATCH
            }
            Message::LookupExterns(names) => {
                e.strings(names);
                kind::LOOKUP_EXTERNS
            }
            Message::LookupSymbols(names) => {
                e.strings(names);
                kind::LOOKUP_SYMBOLS
            }
            Message::Run { addr } => {
                e.u64(*addr);
                kind::RUN
            }
            Message::Resolved { addr } => {
                e.u64(*addr);
                kind::RESOLVED
            }
            Message::Welcome {
                version,
                triple,
                page_size,
                resolver,
                base,
                pid,
            } => {
                e.u32(*version);
                e.bytes(triple.as_bytes());
                e.u64(*page_size);
                e.u64(*resolver);
                e.u64(*base);
                e.u32(*pid);
                kind::WELCOME
            }
            Message::Address { addr, in_use } => {
                e.u64(*addr);
                e.u64(*in_use);
                kind::ADDRESS
            }
            Message::Done { in_use } => {
                e.u64(*in_use);
                kind::DONE
            }
            Message::Externs(found) => {
                e.u32(found.len() as u32);
                for item in found {
                    match item {
                        None => e.u8(0),
                        Some((addr, arity)) => {
                            e.u8(1);
                            e.u64(*addr);
                            e.u32(arity.map_or(u32::MAX, |a| a));
                        }
                    }
                }
                kind::EXTERNS
            }
            Message::Symbols(found) => {
                e.u32(found.len() as u32);
                for item in found {
                    match item {
                        None => e.u8(0),
                        Some(addr) => {
                            e.u8(1);
                            e.u64(*addr);
                        }
                    }
                }
                kind::SYMBOLS
            }
            Message::Output(bytes) => {
                e.bytes(bytes);
                kind::OUTPUT
            }
            Message::Resolve { id } => {
                e.u32(*id);
                kind::RESOLVE
            }
            Message::Finished(result) => {
                match result {
                    RunResult::Value(v) => {
                        e.u8(0);
                        e.u64(v.to_bits());
                    }
                    RunResult::Interrupted => e.u8(1),
                    RunResult::StackOverflow { pc } => {
                        e.u8(2);
                        e.u64(*pc);
                    }
                    RunResult::Unresolved { id } => {
                        e.u8(3);
                        e.u32(*id);
                    }
                }
                kind::FINISHED
            }
            Message::Failed(why) => {
                e.bytes(why.as_bytes());
                kind::FAILED
            }
        };
        (k, e.0)
    }

    /// Decodes a payload of frame kind `k`. Never panics; never allocates more than
    /// the payload's length.
    pub fn decode(k: u8, payload: &[u8]) -> Result<Message, ProtocolError> {
        let mut d = Decoder(payload);
        let message = match k {
            kind::AUTH => {
                let token = d.bytes()?;
                if token.len() > MAX_TOKEN {
                    return Err(malformed("token too long"));
                }
                Message::Auth { token }
            }
            kind::HELLO => Message::Hello {
                version: d.u32()?,
                line_buffered: d.bool()?,
            },
            kind::RESERVE => Message::Reserve {
                size: d.u64()?,
                align: d.u64()?,
            },
            kind::CREATE_STUBS => Message::CreateStubs { first: d.u32()? },
            kind::BATCH => {
                let n = d.count(9)?;
                let mut ops = Vec::with_capacity(n);
                for _ in 0..n {
                    ops.push(match d.u8()? {
                        0 => Op::Write {
                            addr: d.u64()?,
                            bytes: d.bytes()?,
                        },
                        1 => Op::Finalize {
                            addr: d.u64()?,
                            size: d.u64()?,
                        },
                        2 => Op::Release { addr: d.u64()? },
                        3 => Op::SetSlot {
                            slot: d.u64()?,
                            target: d.u64()?,
                        },
                        4 => Op::Debug {
                            addr: d.u64()?,
                            bytes: d.bytes()?,
                        },
                        other => return Err(malformed(format!("unknown batch op {other}"))),
                    });
                }
                Message::Batch(ops)
            }
            kind::LOOKUP_EXTERNS => Message::LookupExterns(d.strings()?),
            kind::LOOKUP_SYMBOLS => Message::LookupSymbols(d.strings()?),
            kind::RUN => Message::Run { addr: d.u64()? },
            kind::RESOLVED => Message::Resolved { addr: d.u64()? },
            kind::WELCOME => Message::Welcome {
                version: d.u32()?,
                triple: d.string()?,
                page_size: d.u64()?,
                resolver: d.u64()?,
                base: d.u64()?,
                pid: d.u32()?,
            },
            kind::ADDRESS => Message::Address {
                addr: d.u64()?,
                in_use: d.u64()?,
            },
            kind::DONE => Message::Done { in_use: d.u64()? },
            kind::EXTERNS => {
                let n = d.count(1)?;
                let mut found = Vec::with_capacity(n);
                for _ in 0..n {
                    found.push(match d.u8()? {
                        0 => None,
                        1 => {
                            let addr = d.u64()?;
                            let arity = d.u32()?;
                            Some((addr, (arity != u32::MAX).then_some(arity)))
                        }
                        _ => return Err(malformed("bad option tag")),
                    });
                }
                Message::Externs(found)
            }
            kind::SYMBOLS => {
                let n = d.count(1)?;
                let mut found = Vec::with_capacity(n);
                for _ in 0..n {
                    found.push(match d.u8()? {
                        0 => None,
                        1 => Some(d.u64()?),
                        _ => return Err(malformed("bad option tag")),
                    });
                }
                Message::Symbols(found)
            }
            kind::OUTPUT => Message::Output(d.bytes()?),
            kind::RESOLVE => Message::Resolve { id: d.u32()? },
            kind::FINISHED => Message::Finished(match d.u8()? {
                0 => RunResult::Value(f64::from_bits(d.u64()?)),
                1 => RunResult::Interrupted,
                2 => RunResult::StackOverflow { pc: d.u64()? },
                3 => RunResult::Unresolved { id: d.u32()? },
                _ => return Err(malformed("bad run result")),
            }),
            kind::FAILED => Message::Failed(d.string()?),
            other => return Err(malformed(format!("unknown message kind {other}"))),
        };
        d.end()?;
        Ok(message)
    }
}

/// Writes one frame (unflushed).
pub fn write_frame(w: &mut impl Write, seq: u32, message: &Message) -> io::Result<()> {
    let (k, payload) = message.encode();
    if payload.len() > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "message larger than a frame",
        ));
    }
    let mut header = [0u8; HEADER];
    header[0..4].copy_from_slice(&(payload.len() as u32).to_le_bytes());
    header[4] = k;
    header[8..12].copy_from_slice(&seq.to_le_bytes());
    w.write_all(&header)?;
    w.write_all(&payload)
}

/// Parses a frame header: (payload length, kind, sequence number).
pub fn parse_header(header: &[u8; HEADER]) -> Result<(usize, u8, u32), ProtocolError> {
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
    if len > MAX_FRAME {
        return Err(malformed(format!("frame of {len} bytes is too large")));
    }
    if header[5] != 0 || header[6] != 0 || header[7] != 0 {
        return Err(malformed("reserved header bytes are not zero"));
    }
    let seq = u32::from_le_bytes([header[8], header[9], header[10], header[11]]);
    Ok((len, header[4], seq))
}

/// Reads one frame: its sequence number and message.
pub fn read_frame(r: &mut impl Read) -> Result<(u32, Message), ProtocolError> {
    let mut header = [0u8; HEADER];
    let mut got = 0;
    while got < HEADER {
        match r.read(&mut header[got..]) {
            Ok(0) if got == 0 => return Err(ProtocolError::Closed),
            Ok(0) => return Err(malformed("stream ended inside a frame header")),
            Ok(n) => got += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err.into()),
        }
    }
    let (len, k, seq) = parse_header(&header)?;
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload).map_err(|err| match err.kind() {
        io::ErrorKind::UnexpectedEof => malformed("stream ended inside a frame"),
        _ => ProtocolError::Io(err),
    })?;
    Ok((seq, Message::decode(k, &payload)?))
}

/// Compares two tokens in time that depends only on their lengths.
pub fn tokens_match(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(message: Message) {
        let mut bytes = Vec::new();
        write_frame(&mut bytes, 7, &message).expect("encodes");
        let (seq, back) = read_frame(&mut bytes.as_slice()).expect("decodes");
        assert_eq!((seq, back), (7, message));
    }

    #[test]
    fn every_message_round_trips() {
        round_trip(Message::Auth {
            token: b"secret".to_vec(),
        });
        round_trip(Message::Hello {
            version: VERSION,
            line_buffered: true,
        });
        round_trip(Message::Reserve {
            size: 10,
            align: 16,
        });
        round_trip(Message::CreateStubs { first: 64 });
        round_trip(Message::Batch(vec![
            Op::Write {
                addr: 1,
                bytes: vec![1, 2, 3],
            },
            Op::Finalize { addr: 1, size: 3 },
            Op::Release { addr: 9 },
            Op::SetSlot { slot: 2, target: 3 },
            Op::Debug {
                addr: 4,
                bytes: vec![0x7f, b'E'],
            },
        ]));
        round_trip(Message::LookupExterns(vec!["sin".into(), "".into()]));
        round_trip(Message::LookupSymbols(vec!["memset".into()]));
        round_trip(Message::Run { addr: 5 });
        round_trip(Message::Resolved { addr: 0 });
        round_trip(Message::Welcome {
            version: 1,
            triple: "x86_64-pc-linux-gnu".into(),
            page_size: 4096,
            resolver: 1,
            base: 2,
            pid: 3,
        });
        round_trip(Message::Address { addr: 1, in_use: 2 });
        round_trip(Message::Done { in_use: 2 });
        round_trip(Message::Externs(vec![
            None,
            Some((1, Some(2))),
            Some((3, None)),
        ]));
        round_trip(Message::Symbols(vec![None, Some(4)]));
        round_trip(Message::Output(b"hi\n".to_vec()));
        round_trip(Message::Resolve { id: 3 });
        for result in [
            RunResult::Value(-0.5),
            RunResult::Interrupted,
            RunResult::StackOverflow { pc: 3 },
            RunResult::Unresolved { id: 9 },
        ] {
            round_trip(Message::Finished(result));
        }
        round_trip(Message::Failed("no".into()));
    }

    #[test]
    fn malformed_frames_are_errors() {
        let decode = |bytes: &[u8]| read_frame(&mut &bytes[..]);
        assert!(matches!(decode(&[]), Err(ProtocolError::Closed)));
        assert!(matches!(
            decode(&[1, 0, 0]),
            Err(ProtocolError::Malformed(_))
        ));
        // Oversized: refused from the header, before allocating.
        let mut huge = [0u8; HEADER];
        huge[0..4].copy_from_slice(&u32::MAX.to_le_bytes());
        huge[4] = kind::OUTPUT;
        assert!(matches!(decode(&huge), Err(ProtocolError::Malformed(_))));
        // Unknown kind, truncated payload, trailing bytes, lying list count.
        let frame = |k: u8, payload: &[u8]| {
            let mut f = (payload.len() as u32).to_le_bytes().to_vec();
            f.extend_from_slice(&[k, 0, 0, 0, 1, 0, 0, 0]);
            f.extend_from_slice(payload);
            f
        };
        for bytes in [
            frame(200, &[]),
            frame(kind::RUN, &[1, 2, 3]),
            frame(kind::RUN, &[0; 9]),
            frame(kind::LOOKUP_EXTERNS, &u32::MAX.to_le_bytes()),
            frame(kind::BATCH, &[1, 0, 0, 0, 9]),
            frame(kind::HELLO, &[1, 0, 0, 0, 2]),
        ] {
            assert!(
                matches!(decode(&bytes), Err(ProtocolError::Malformed(_))),
                "{bytes:?}"
            );
        }
        let mut cut = frame(kind::RUN, &[0; 8]);
        cut.truncate(15);
        assert!(matches!(decode(&cut), Err(ProtocolError::Malformed(_))));
    }

    #[test]
    fn random_bytes_never_panic() {
        // A small deterministic fuzz (the real one is fuzz/fuzz_targets/frame.rs).
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 64) as usize;
            let k = (state >> 8) as u8 % 80;
            let payload: Vec<u8> = (0..len).map(|i| (state >> (i % 56)) as u8).collect();
            let _ = Message::decode(k, &payload);
        }
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(tokens_match(b"abc", b"abc"));
        assert!(!tokens_match(b"abc", b"abd"));
        assert!(!tokens_match(b"abc", b"ab"));
    }
}

//! The messages, as Rust types: the wire format is what [`super::codec`] derives from
//! them, so changing a type here changes the protocol (bump [`VERSION`]).
//!
//! A session: (over TCP) `Auth`; `Hello` → `Welcome` (or `Failed` for another
//! protocol version); then requests, each answered by exactly one reply or `Failed`.
//! `Run` is answered by `Finished`, and before it, by any number of `Output` frames
//! and of `Resolve` requests from the executor, which the controller answers with
//! `Resolved` after making requests of its own. A reply carries its request's
//! sequence number; the executor numbers its own requests from 2^31 up.
//!
//! `Auth`, `Hello`, `Welcome` and `Failed` come first and keep their places, and
//! `Hello` and `Welcome` start with the version, so that a peer of another version
//! still reads the handshake and can say which version it met.

use serde::{Deserialize, Serialize};

use crate::Addr;

/// Version of this protocol; both sides must speak the same. 2: postcard payloads.
pub const VERSION: u32 = 2;
/// Longest authentication token accepted.
pub const MAX_TOKEN: usize = 256;

/// A change to executor memory, sent in batches.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Op {
    /// Writes bytes at an address of reserved memory.
    Write {
        /// Where.
        addr: Addr,
        /// What.
        #[serde(with = "serde_bytes")]
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
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
    },
}

/// How a `Run` ended.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Message {
    /// Controller: the token (TCP only, before anything else).
    Auth {
        /// The token's bytes.
        #[serde(with = "serde_bytes")]
        token: Vec<u8>,
    },
    /// Controller: the opening request.
    Hello {
        /// The controller's protocol version.
        version: u32,
        /// Whether program output should be sent at each newline (a terminal).
        line_buffered: bool,
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
    /// Either side: the request failed.
    Failed(String),
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
    Batch(#[serde(deserialize_with = "super::bounded::deserialize")] Vec<Op>),
    /// Controller: resolve `extern` names.
    LookupExterns(#[serde(deserialize_with = "super::bounded::deserialize")] Vec<String>),
    /// Controller: resolve symbols LLVM introduced.
    LookupSymbols(#[serde(deserialize_with = "super::bounded::deserialize")] Vec<String>),
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
    Externs(
        #[serde(deserialize_with = "super::bounded::deserialize")] Vec<Option<(Addr, Option<u32>)>>,
    ),
    /// Executor: resolved symbols.
    Symbols(#[serde(deserialize_with = "super::bounded::deserialize")] Vec<Option<Addr>>),
    /// Executor: program output.
    Output(#[serde(with = "serde_bytes")] Vec<u8>),
    /// Executor: code reached the trampoline of this function; compile it.
    Resolve {
        /// The function's id.
        id: u32,
    },
    /// Executor: a `Run` ended.
    Finished(RunResult),
}
// ANCHOR_END: messages

impl Message {
    /// The message's name, for errors (without formatting its payload).
    pub fn name(&self) -> &'static str {
        match self {
            Message::Auth { .. } => "Auth",
            Message::Hello { .. } => "Hello",
            Message::Welcome { .. } => "Welcome",
            Message::Failed(_) => "Failed",
            Message::Reserve { .. } => "Reserve",
            Message::CreateStubs { .. } => "CreateStubs",
            Message::Batch(_) => "Batch",
            Message::LookupExterns(_) => "LookupExterns",
            Message::LookupSymbols(_) => "LookupSymbols",
            Message::Run { .. } => "Run",
            Message::Resolved { .. } => "Resolved",
            Message::Address { .. } => "Address",
            Message::Done { .. } => "Done",
            Message::Externs(_) => "Externs",
            Message::Symbols(_) => "Symbols",
            Message::Output(_) => "Output",
            Message::Resolve { .. } => "Resolve",
            Message::Finished(_) => "Finished",
        }
    }
}

//! How an executor ended, or why `toy` ended it, typed: the JIT decides by the variant
//! (an ignored Ctrl-C is an interrupt), the CLI prints the `Display` text.
//!
//! [`Stall`] and [`Lie`] are found by the controller, but live here because a
//! [`Termination`] carries them across the [`Executor`](crate::executor::Executor)
//! trait whole rather than as text.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use thiserror::Error;

use crate::Addr;
use crate::wire::{IoError, ProtocolError, VERSION};

/// How an executor ended, or why `toy` ended it. Displayed after "executor ".
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum Termination {
    /// The process exited by itself.
    #[error("exited with status {0}")]
    Exited(i32),
    /// A signal killed the process.
    #[error("terminated by signal {number} ({name})")]
    Signaled {
        /// The signal's number.
        number: i32,
        /// Its name (`SIGSEGV`, …), or `signal` for one without a known name.
        name: &'static str,
    },
    /// The process ended with neither an exit status nor a signal.
    #[error("ended")]
    Ended,
    /// Waiting for the process failed, so how it ended is unknown.
    #[error("lost ({0})")]
    Lost(IoError),
    /// The connection to an executor that is not our child closed or failed.
    #[error("connection lost")]
    ConnectionLost,
    /// The executor binary could not be started.
    #[error("cannot start {}: {error}", .path.display())]
    CannotStart {
        /// The binary.
        path: PathBuf,
        /// Why spawning it failed.
        error: IoError,
    },
    /// No listening executor could be reached.
    #[error("unreachable at {addr}: {error}")]
    Unreachable {
        /// `HOST:PORT`, as given.
        addr: String,
        /// Why connecting failed.
        error: IoError,
    },
    /// `toy` gave up waiting for it and ended it.
    #[error(transparent)]
    Stalled(#[from] Stall),
    /// It said something that cannot be true, and `toy` ended it.
    #[error("broke the protocol: {0}")]
    BrokeProtocol(#[from] Lie),
    /// It ended during the handshake with `peer`.
    #[error("{how} ({peer})")]
    Handshake {
        /// How it ended.
        how: Box<Termination>,
        /// Which executor it was.
        peer: Peer,
    },
}

impl Termination {
    /// Whether Ctrl-C ended it: it ignored the forwarded interrupt and was ended.
    pub fn is_interrupt(&self) -> bool {
        match self {
            Termination::Stalled(Stall::IgnoredInterrupt { .. }) => true,
            Termination::Handshake { how, .. } => how.is_interrupt(),
            _ => false,
        }
    }
}

/// Which executor a connection was to, as a handshake failure names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Peer {
    /// A `toy-executor` binary `toy` started.
    Spawned(PathBuf),
    /// A listening executor at `HOST:PORT`.
    Tcp(String),
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Peer::Spawned(path) => write!(f, "{}", path.display()),
            Peer::Tcp(addr) => write!(f, "at {addr}"),
        }
    }
}

/// Why `toy` gave up waiting for the executor.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum Stall {
    /// A request that runs no user code got no answer in time.
    #[error("did not answer {what} within {} s", .after.as_secs())]
    NoAnswer {
        /// The request.
        what: &'static str,
        /// How long `toy` waited.
        after: Duration,
    },
    /// The executor stopped reading what `toy` sends.
    #[error("did not read its input within {} s", .after.as_secs())]
    NotReading {
        /// How long `toy` waited.
        after: Duration,
    },
    /// Ctrl-C was forwarded and the executor did not stop in time.
    #[error("did not respond to the interrupt within {} s", .grace.as_secs())]
    IgnoredInterrupt {
        /// How long `toy` waited.
        grace: Duration,
    },
}

/// A frame from the executor that cannot be true.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum Lie {
    /// A frame that does not decode.
    #[error("{0}")]
    Malformed(ProtocolError),
    /// Another protocol version.
    #[error("it speaks protocol {found}, toy speaks {VERSION}")]
    Version {
        /// Its version.
        found: u32,
    },
    /// Code for another machine.
    #[error("it runs {found} code, but toy compiles for {expected}")]
    Triple {
        /// Its triple.
        found: String,
        /// The host's.
        expected: String,
    },
    /// Another page size: toy's layout of memory would not fit it.
    #[error("its page size {found} is not this machine's {expected}")]
    PageSize {
        /// Its page size.
        found: u64,
        /// Ours.
        expected: u64,
    },
    /// JIT memory that is not page-aligned or wraps around.
    #[error("its JIT memory at {0:#x} is not a page-aligned region")]
    Base(Addr),
    /// A `Resolve` for an id no stub was created for.
    #[error("it asked for function id {id}, but toy created stubs for ids below {count} only")]
    UnknownId {
        /// The id.
        id: u32,
        /// Ids with stubs.
        count: u64,
    },
    /// A block outside the executor's JIT memory.
    #[error("it placed {size} bytes at {addr:#x}, outside its JIT memory")]
    Outside {
        /// The block.
        addr: Addr,
        /// Its size.
        size: u64,
    },
    /// A block not aligned as asked.
    #[error("it placed a block at {addr:#x}, which is not {align}-byte aligned")]
    Misaligned {
        /// The block.
        addr: Addr,
        /// The alignment asked for.
        align: u64,
    },
    /// A block overlapping one still reserved.
    #[error("it placed a block at {addr:#x} that overlaps the live block at {other:#x}")]
    Overlap {
        /// The block.
        addr: Addr,
        /// The block it overlaps.
        other: Addr,
    },
    /// A list of answers of the wrong length.
    #[error("it sent {found} answers to {asked} look-ups")]
    Count {
        /// Answers.
        found: usize,
        /// Names asked for.
        asked: usize,
    },
    /// More memory in use than exists.
    #[error("it claims {0} bytes of JIT memory in use")]
    InUse(u64),
    /// A run that went on after `toy` declined to resolve a function.
    #[error("it went on after toy declined function id {id} ({what})")]
    IgnoredDecline {
        /// The function.
        id: u32,
        /// How the run ended instead.
        what: String,
    },
    /// A reply of the wrong kind.
    #[error("it answered {to} with {what}")]
    WrongReply {
        /// The request.
        to: &'static str,
        /// The reply's name.
        what: &'static str,
    },
    /// A frame that answers nothing `toy` asked.
    #[error("it sent {what} (sequence number {seq}), an answer to a request never made")]
    Unrequested {
        /// The message's name.
        what: &'static str,
        /// Its sequence number.
        seq: u32,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ExecError;
    use std::io;

    fn io(text: &str) -> IoError {
        io::Error::other(text.to_string()).into()
    }

    const NO_ANSWER: Stall = Stall::NoAnswer {
        what: "Hello",
        after: Duration::from_secs(10),
    };
    const IGNORED: Stall = Stall::IgnoredInterrupt {
        grace: Duration::from_secs(2),
    };

    #[test]
    fn each_termination_reads_as_before() {
        let cases: Vec<(Termination, &str)> = vec![
            (Termination::Exited(3), "exited with status 3"),
            (
                Termination::Signaled {
                    number: 11,
                    name: "SIGSEGV",
                },
                "terminated by signal 11 (SIGSEGV)",
            ),
            (Termination::Ended, "ended"),
            (Termination::Lost(io("no child")), "lost (no child)"),
            (Termination::ConnectionLost, "connection lost"),
            (
                Termination::CannotStart {
                    path: "/no/toy-executor".into(),
                    error: io("not found"),
                },
                "cannot start /no/toy-executor: not found",
            ),
            (
                Termination::Unreachable {
                    addr: "127.0.0.1:1".into(),
                    error: io("refused"),
                },
                "unreachable at 127.0.0.1:1: refused",
            ),
            (NO_ANSWER.into(), "did not answer Hello within 10 s"),
            (
                Stall::NotReading {
                    after: Duration::from_secs(10),
                }
                .into(),
                "did not read its input within 10 s",
            ),
            (
                IGNORED.into(),
                "did not respond to the interrupt within 2 s",
            ),
            (
                Lie::InUse(5).into(),
                "broke the protocol: it claims 5 bytes of JIT memory in use",
            ),
            (
                Termination::Handshake {
                    how: Box::new(NO_ANSWER.into()),
                    peer: Peer::Tcp("127.0.0.1:9".into()),
                },
                "did not answer Hello within 10 s (at 127.0.0.1:9)",
            ),
            (
                Termination::Handshake {
                    how: Box::new(Termination::Exited(1)),
                    peer: Peer::Spawned("/bin/toy-executor".into()),
                },
                "exited with status 1 (/bin/toy-executor)",
            ),
        ];
        for (termination, text) in cases {
            assert_eq!(termination.to_string(), text, "{termination:?}");
        }
        let version = Termination::from(Lie::Version { found: VERSION + 1 });
        let expected = format!(
            "broke the protocol: it speaks protocol {}, toy speaks {VERSION}",
            VERSION + 1
        );
        assert_eq!(version.to_string(), expected);
    }

    #[test]
    fn exec_errors_wrap_the_typed_causes() {
        let died = ExecError::Terminated(Termination::Exited(3));
        assert_eq!(died.to_string(), "executor exited with status 3");
        let memory = ExecError::Memory(io("no memfd"));
        assert_eq!(memory.to_string(), "cannot map JIT memory: no memfd");
    }

    #[test]
    fn only_an_ignored_interrupt_is_an_interrupt() {
        assert!(Termination::from(IGNORED).is_interrupt());
        let during_handshake = Termination::Handshake {
            how: Box::new(IGNORED.into()),
            peer: Peer::Tcp("127.0.0.1:9".into()),
        };
        assert!(during_handshake.is_interrupt());
        assert!(!Termination::from(NO_ANSWER).is_interrupt());
        assert!(!Termination::ConnectionLost.is_interrupt());
        // The word in a path is no interrupt (a text search would have said so).
        let path = Termination::CannotStart {
            path: "/opt/interrupt/toy-executor".into(),
            error: io("not found"),
        };
        assert!(path.to_string().contains("interrupt"));
        assert!(!path.is_interrupt());
    }
}

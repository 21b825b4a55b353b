//! One connection to an executor: starting or reaching it, the handshake, frames
//! under deadlines, and retiring it when it stalls, dies or lies.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::net::{TcpStream, ToSocketAddrs};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};

use toy_executor::take_interrupt;
use toy_shared::wire::{Message, Op, ProtocolError, VERSION, read_message, write_message};
use toy_shared::{Addr, ExecError, ExternSymbol, Lie, Peer, Stall, Termination};

use super::Transport;
use super::check::Ledger;
use super::process::how_it_ended;
use super::timed::{Interrupter, REPLY_TIMEOUT, TimedReader, Watch, set_nonblocking};

/// One live connection.
pub struct Connection {
    reader: BufReader<TimedReader>,
    writer: File,
    /// Frames encoded but not written yet.
    out: Vec<u8>,
    child: Option<Child>,
    tcp: Option<TcpStream>,
    seq: u32,
    pub(super) batch: Vec<Op>,
    pub(super) batch_bytes: usize,
    pub(super) in_use: u64,
    pub(super) externs: HashMap<String, Option<ExternSymbol>>,
    pub(super) symbols: HashMap<String, Option<Addr>>,
    /// What `toy` asked of this executor, to check its answers against.
    pub(super) ledger: Ledger,
    /// How the executor ended, once it has (or was retired).
    pub(super) dead: Option<Termination>,
    /// The executor's process id (from its `Welcome`).
    pub(super) pid: u32,
}

fn io_error(err: std::io::Error) -> ExecError {
    ExecError::Protocol(err.into())
}

/// The target triple `toy` compiles for.
fn host_triple() -> String {
    let triple = inkwell::targets::TargetMachine::get_default_triple();
    triple.as_str().to_string_lossy().into_owned()
}

/// Connects to `addr` (each of its addresses in turn), within [`REPLY_TIMEOUT`] each.
fn connect(addr: &str) -> std::io::Result<TcpStream> {
    let mut last = std::io::Error::other("no address");
    for a in addr.to_socket_addrs()? {
        match TcpStream::connect_timeout(&a, REPLY_TIMEOUT) {
            Ok(stream) => return Ok(stream),
            Err(e) => last = e,
        }
    }
    Err(last)
}

impl Connection {
    /// Starts (or connects to) an executor and shakes hands, within deadlines.
    pub fn open(transport: &Transport) -> Result<Self, ExecError> {
        let (mut conn, peer) = match transport {
            Transport::Spawn(path) => {
                // Its own process group: Ctrl-C at the terminal reaches only `toy`,
                // which forwards it while code runs.
                let mut child = Command::new(path)
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::inherit())
                    .process_group(0)
                    .spawn()
                    .map_err(|e| {
                        ExecError::Terminated(Termination::CannotStart {
                            path: path.clone(),
                            error: e.into(),
                        })
                    })?;
                let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
                    return Err(io_error(std::io::Error::other("no pipes to the executor")));
                };
                let watch = Watch::new(Interrupter::Signal(child.id() as libc::pid_t));
                let reader = File::from(OwnedFd::from(stdout));
                let writer = File::from(OwnedFd::from(stdin));
                let conn = Connection::with(reader, writer, watch, Some(child), None)?;
                (conn, Peer::Spawned(path.clone()))
            }
            Transport::Tcp { addr, .. } => {
                let stream = connect(addr).map_err(|e| {
                    ExecError::Terminated(Termination::Unreachable {
                        addr: addr.clone(),
                        error: e.into(),
                    })
                })?;
                let _ = stream.set_nodelay(true);
                stream.set_nonblocking(true).map_err(io_error)?;
                let watch = Watch::new(Interrupter::Urgent(stream.as_raw_fd()));
                let reader = File::from(OwnedFd::from(stream.try_clone().map_err(io_error)?));
                let writer = File::from(OwnedFd::from(stream.try_clone().map_err(io_error)?));
                let conn = Connection::with(reader, writer, watch, None, Some(stream))?;
                (conn, Peer::Tcp(addr.clone()))
            }
        };
        conn.handshake(transport).map_err(|err| match err {
            ExecError::Terminated(how) => ExecError::Terminated(Termination::Handshake {
                how: Box::new(how),
                peer,
            }),
            // The executor's reason is its own text; only the peer is added.
            ExecError::Refused(why) => ExecError::Refused(format!("{why} ({peer})")),
            other => other,
        })?;
        Ok(conn)
    }

    fn with(
        reader: File,
        writer: File,
        watch: Watch,
        child: Option<Child>,
        tcp: Option<TcpStream>,
    ) -> Result<Self, ExecError> {
        set_nonblocking(&writer).map_err(io_error)?;
        Ok(Connection {
            reader: BufReader::new(TimedReader::new(reader, watch).map_err(io_error)?),
            writer,
            out: Vec::new(),
            child,
            tcp,
            seq: 0,
            batch: Vec::new(),
            batch_bytes: 0,
            in_use: 0,
            externs: HashMap::new(),
            symbols: HashMap::new(),
            ledger: Ledger::default(),
            dead: None,
            pid: 0,
        })
    }

    fn handshake(&mut self, transport: &Transport) -> Result<(), ExecError> {
        // `Auth` has no reply, except `Failed` for a wrong token.
        let auth = match transport {
            Transport::Tcp { token, .. } => Some(self.send(&Message::Auth {
                token: token.as_bytes().to_vec(),
            })?),
            Transport::Spawn(_) => None,
        };
        // The executor buffers its output as ours is buffered.
        let line_buffered = toy_executor::runtime::line_buffered();
        let hello = self.send(&Message::Hello {
            version: VERSION,
            line_buffered,
        })?;
        self.flush()?;
        self.watch().expect_reply("Hello");
        match self.recv()? {
            (s, Message::Failed(why)) if s == hello || Some(s) == auth => {
                Err(ExecError::Refused(why))
            }
            (
                s,
                Message::Welcome {
                    version,
                    triple,
                    page_size,
                    base,
                    pid,
                    ..
                },
            ) if s == hello => {
                let ledger = Ledger::welcome(version, &triple, page_size, base, &host_triple());
                self.ledger = self.check(ledger)?;
                self.pid = pid;
                Ok(())
            }
            (s, other) => Err(self.retire(Lie::Unrequested {
                what: other.name(),
                seq: s,
            })),
        }
    }

    /// The deadlines and interrupt state of this connection's waits.
    pub fn watch(&mut self) -> &mut Watch {
        &mut self.reader.get_mut().watch
    }

    /// The executor's process id, when it is our child.
    pub fn child_pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Encodes a request (unwritten); returns its sequence number.
    pub fn send(&mut self, message: &Message) -> Result<u32, ExecError> {
        self.seq = self.seq.wrapping_add(1) & 0x7fff_ffff;
        let seq = self.seq;
        self.send_as(seq, message)?;
        Ok(seq)
    }

    /// Encodes a frame with the given sequence number (unwritten).
    pub fn send_as(&mut self, seq: u32, message: &Message) -> Result<(), ExecError> {
        if let Some(how) = &self.dead {
            return Err(ExecError::Terminated(how.clone()));
        }
        Ok(write_message(&mut self.out, seq, message)?)
    }

    /// Writes the encoded frames, within [`REPLY_TIMEOUT`].
    pub fn flush(&mut self) -> Result<(), ExecError> {
        let out = std::mem::take(&mut self.out);
        let written = self.reader.get_mut().write_all(&mut self.writer, &out);
        self.out = out;
        self.out.clear();
        written.map_err(|_| self.broken())
    }

    /// Reads the next frame, within the watch's deadlines.
    pub fn recv(&mut self) -> Result<(u32, Message), ExecError> {
        if self.watch().check().is_err() {
            return Err(self.broken());
        }
        match read_message(&mut self.reader) {
            Ok(frame) => Ok(frame),
            Err(ProtocolError::Closed | ProtocolError::Io(_)) => Err(self.broken()),
            Err(err) => Err(self.retire(Lie::Malformed(err))),
        }
    }

    /// Waits for the reply to request `seq`: nothing else may come (the executor's code
    /// is paused while it waits for `toy`).
    pub fn reply(&mut self, seq: u32, what: &'static str) -> Result<Message, ExecError> {
        self.watch().expect_reply(what);
        match self.recv()? {
            (s, Message::Failed(why)) if s == seq => Err(ExecError::Refused(why)),
            (s, reply) if s == seq => Ok(reply),
            (s, other) => Err(self.retire(Lie::Unrequested {
                what: other.name(),
                seq: s,
            })),
        }
    }

    /// Sends the pending batch and `message`, and returns the reply to `message`.
    pub fn call(&mut self, message: Message) -> Result<Message, ExecError> {
        self.watch().restart_grace();
        let what = message.name();
        let batch = self.send_batch()?;
        let seq = self.send(&message)?;
        self.flush()?;
        if let Some(batch) = batch {
            match self.batch_reply(batch) {
                Ok(()) => {}
                Err(err @ ExecError::Refused(_)) => {
                    // The batch failed; the request behind it is answered all the same.
                    self.reply(seq, what)?;
                    return Err(err);
                }
                Err(err) => return Err(err),
            }
        }
        self.reply(seq, what)
    }

    /// Sends pending memory changes (unwritten); returns the batch's sequence number.
    pub fn send_batch(&mut self) -> Result<Option<u32>, ExecError> {
        if self.batch.is_empty() {
            return Ok(None);
        }
        let ops = std::mem::take(&mut self.batch);
        self.batch_bytes = 0;
        self.send(&Message::Batch(ops)).map(Some)
    }

    /// Checks the reply to a batch.
    pub fn batch_reply(&mut self, seq: u32) -> Result<(), ExecError> {
        match self.reply(seq, "Batch")? {
            Message::Done { in_use } => {
                self.in_use = self.check(self.ledger.in_use(in_use))?;
                Ok(())
            }
            other => Err(self.unexpected("Batch", &other)),
        }
    }

    /// Sends the pending batch and waits for it.
    pub fn sync(&mut self) -> Result<(), ExecError> {
        if let Some(batch) = self.send_batch()? {
            self.flush()?;
            self.batch_reply(batch)?;
        }
        Ok(())
    }

    /// A reply of the wrong kind to `to`: the executor is out of step with `toy`.
    pub fn unexpected(&mut self, to: &'static str, message: &Message) -> ExecError {
        self.retire(Lie::WrongReply {
            to,
            what: message.name(),
        })
    }

    /// `result`, or the executor retired for the lie.
    pub fn check<T>(&mut self, result: Result<T, Lie>) -> Result<T, ExecError> {
        result.map_err(|lie| self.retire(lie))
    }

    /// Ends an executor that lied: nothing it says after can be trusted.
    pub fn retire(&mut self, lie: Lie) -> ExecError {
        self.end(Termination::BrokeProtocol(lie))
    }

    /// Kills the executor (or drops the connection) and records why.
    fn end(&mut self, why: Termination) -> ExecError {
        self.kill();
        // The first reason stands: what came after it is its consequence.
        ExecError::Terminated(self.dead.get_or_insert(why).clone())
    }

    fn kill(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(stream) = &self.tcp {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }

    /// Reading or writing failed: the executor stalled (then it is ended) or died.
    fn broken(&mut self) -> ExecError {
        match self.watch().stall.take() {
            Some(stall) => {
                if matches!(stall, Stall::IgnoredInterrupt { .. }) {
                    // Ending the executor is what that Ctrl-C did: the fresh one must
                    // not get it too.
                    take_interrupt();
                }
                self.end(Termination::Stalled(stall))
            }
            None => {
                let how = match (self.dead.take(), &mut self.child) {
                    (Some(how), _) => how,
                    (None, Some(child)) => how_it_ended(child),
                    (None, None) => Termination::ConnectionLost,
                };
                ExecError::Terminated(self.dead.insert(how).clone())
            }
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        // Closing stdin would end the executor; killing it cannot wait on one that
        // is stopped or wedged.
        self.kill();
    }
}

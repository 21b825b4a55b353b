//! An executor in another process (`toy-executor`), over pipes or TCP.
//!
//! Memory changes (writes, finalizes, releases, slot updates) are batched and sent
//! with the next request that needs an answer, so linking one object costs two round
//! trips: `Reserve`, then the batch. Look-ups are batched and cached. While code runs,
//! the executor may ask for a function (`Resolve`): the JIT's callback then makes its
//! own requests, and the answer (`Resolved`) lets the code go on.

use std::collections::HashMap;
use std::io::{BufReader, BufWriter, Read, Write};
use std::net::TcpStream;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use toy_executor::protocol::{
    Message, Op, ProtocolError, RunResult, VERSION, read_frame, write_frame,
};
use toy_executor::{INTERRUPTED, runtime};

use super::{Abort, Addr, ExecError, Executor, ExternSymbol, Loader, Resolve};

/// How to reach an executor.
#[derive(Clone, Debug)]
pub enum Transport {
    /// Spawn this `toy-executor` binary and talk over its stdin and stdout.
    Spawn(PathBuf),
    /// Connect to a listening `toy-executor` and authenticate with the token.
    Tcp {
        /// `HOST:PORT`.
        addr: String,
        /// The executor's token.
        token: String,
    },
}

/// Flush the batch once it holds this many bytes.
const BATCH_BYTES: usize = 1 << 20;
/// How often a waiting controller checks for Ctrl-C, in milliseconds.
const POLL_MS: i32 = 20;

/// One live connection.
struct Connection {
    reader: BufReader<Box<dyn Read + Send>>,
    writer: BufWriter<Box<dyn Write + Send>>,
    /// The descriptor to poll for replies.
    fd: RawFd,
    child: Option<Child>,
    tcp: Option<TcpStream>,
    seq: u32,
    batch: Vec<Op>,
    batch_bytes: usize,
    in_use: u64,
    externs: HashMap<String, Option<ExternSymbol>>,
    symbols: HashMap<String, Option<Addr>>,
    /// How the executor ended, once it has.
    dead: Option<String>,
    /// The executor's process id (from its `Welcome`).
    pid: u32,
    /// Whether Ctrl-C was passed on during the current run.
    interrupt_sent: bool,
}

/// An executor process.
pub struct Remote {
    transport: Transport,
    conn: Connection,
}

impl Remote {
    /// Starts (or connects to) an executor and shakes hands.
    pub fn new(transport: Transport) -> Result<Self, ExecError> {
        let conn = Connection::open(&transport)?;
        Ok(Remote { transport, conn })
    }

    /// The `toy-executor` beside the running binary (or `$TOY_EXECUTOR`).
    pub fn default_binary() -> PathBuf {
        if let Some(path) = std::env::var_os("TOY_EXECUTOR") {
            return PathBuf::from(path);
        }
        std::env::current_exe()
            .map(|exe| exe.with_file_name("toy-executor"))
            .unwrap_or_else(|_| PathBuf::from("toy-executor"))
    }

    /// The executor's process id, when it is our child.
    pub fn child_pid(&self) -> Option<u32> {
        self.conn.child.as_ref().map(Child::id)
    }
}

fn io_error(err: std::io::Error) -> ExecError {
    ExecError::Protocol(err.to_string())
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGKILL => "SIGKILL",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGILL => "SIGILL",
        libc::SIGFPE => "SIGFPE",
        libc::SIGTERM => "SIGTERM",
        libc::SIGINT => "SIGINT",
        libc::SIGPIPE => "SIGPIPE",
        _ => "signal",
    }
}

impl Connection {
    fn open(transport: &Transport) -> Result<Self, ExecError> {
        let mut conn = match transport {
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
                        ExecError::Terminated(format!("cannot start {}: {e}", path.display()))
                    })?;
                let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
                    return Err(ExecError::Protocol("no pipes to the executor".into()));
                };
                let fd = stdout.as_raw_fd();
                Connection::with(Box::new(stdout), Box::new(stdin), fd, Some(child), None)
            }
            Transport::Tcp { addr, .. } => {
                let stream = TcpStream::connect(addr.as_str())
                    .map_err(|e| ExecError::Terminated(format!("unreachable at {addr}: {e}")))?;
                let _ = stream.set_nodelay(true);
                let reader = stream.try_clone().map_err(io_error)?;
                let writer = stream.try_clone().map_err(io_error)?;
                let fd = reader.as_raw_fd();
                Connection::with(Box::new(reader), Box::new(writer), fd, None, Some(stream))
            }
        };
        if let Transport::Tcp { token, .. } = transport {
            conn.send(&Message::Auth {
                token: token.as_bytes().to_vec(),
            })?;
        }
        let line_buffered = {
            use std::io::IsTerminal;
            std::io::stdout().is_terminal()
        };
        match conn.call(Message::Hello {
            version: VERSION,
            line_buffered,
        })? {
            Message::Welcome { version, pid, .. } if version == VERSION => {
                conn.pid = pid;
                Ok(conn)
            }
            Message::Welcome { version, .. } => Err(ExecError::Protocol(format!(
                "executor speaks protocol {version}, not {VERSION}"
            ))),
            other => Err(unexpected(&other)),
        }
    }

    fn with(
        reader: Box<dyn Read + Send>,
        writer: Box<dyn Write + Send>,
        fd: RawFd,
        child: Option<Child>,
        tcp: Option<TcpStream>,
    ) -> Self {
        Connection {
            reader: BufReader::new(reader),
            writer: BufWriter::new(writer),
            fd,
            child,
            tcp,
            seq: 0,
            batch: Vec::new(),
            batch_bytes: 0,
            in_use: 0,
            externs: HashMap::new(),
            symbols: HashMap::new(),
            dead: None,
            pid: 0,
            interrupt_sent: false,
        }
    }

    /// Sends a request (unflushed); returns its sequence number.
    fn send(&mut self, message: &Message) -> Result<u32, ExecError> {
        self.seq = self.seq.wrapping_add(1) & 0x7fff_ffff;
        let seq = self.seq;
        self.send_as(seq, message)?;
        Ok(seq)
    }

    fn send_as(&mut self, seq: u32, message: &Message) -> Result<(), ExecError> {
        match write_frame(&mut self.writer, seq, message) {
            Ok(()) => Ok(()),
            Err(_) => Err(self.died()),
        }
    }

    fn flush(&mut self) -> Result<(), ExecError> {
        self.writer.flush().map_err(|_| self.died())
    }

    /// Reads the next frame, forwarding Ctrl-C to the executor while waiting.
    fn recv(&mut self) -> Result<(u32, Message), ExecError> {
        loop {
            // Checked before every frame: a program printing without pause keeps the
            // stream busy, and must be stoppable too.
            if !self.interrupt_sent && INTERRUPTED.load(std::sync::atomic::Ordering::Relaxed) {
                self.interrupt();
                self.interrupt_sent = true;
            }
            if !self.reader.buffer().is_empty() {
                break;
            }
            let mut pfd = libc::pollfd {
                fd: self.fd,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            if unsafe { libc::poll(&mut pfd, 1, POLL_MS) } > 0 {
                break;
            }
        }
        match read_frame(&mut self.reader) {
            Ok(frame) => Ok(frame),
            Err(ProtocolError::Malformed(why)) => {
                // Nothing after a bad frame can be trusted: this executor is done.
                if let Some(child) = &mut self.child {
                    let _ = child.kill();
                    let _ = child.wait();
                }
                self.dead = Some(format!("broke the protocol (malformed frame: {why})"));
                Err(ExecError::Terminated(self.dead.clone().unwrap_or_default()))
            }
            Err(ProtocolError::Closed | ProtocolError::Io(_)) => Err(self.died()),
        }
    }

    /// Stops the code running in the executor, as Ctrl-C would.
    fn interrupt(&mut self) {
        if let Some(child) = &self.child {
            // SAFETY: signalling our own child process.
            unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
        } else if let Some(stream) = &self.tcp {
            // Urgent data raises SIGURG in the executor, outside the frame stream.
            // SAFETY: sending one byte from a valid buffer on our own socket.
            unsafe { libc::send(stream.as_raw_fd(), b"!".as_ptr().cast(), 1, libc::MSG_OOB) };
        }
    }

    /// The connection broke: how the executor ended.
    fn died(&mut self) -> ExecError {
        if self.dead.is_none() {
            self.dead = Some(self.how_it_ended());
        }
        ExecError::Terminated(self.dead.clone().unwrap_or_default())
    }

    fn how_it_ended(&mut self) -> String {
        let Some(child) = &mut self.child else {
            return "connection lost".into();
        };
        // The pipe closed; the process may take a moment to be reapable.
        let mut status = None;
        for _ in 0..100 {
            match child.try_wait() {
                Ok(Some(s)) => {
                    status = Some(s);
                    break;
                }
                Ok(None) => std::thread::sleep(std::time::Duration::from_millis(10)),
                Err(_) => break,
            }
        }
        let status = match status {
            Some(s) => s,
            None => {
                let _ = child.kill();
                match child.wait() {
                    Ok(s) => s,
                    Err(e) => return format!("lost ({e})"),
                }
            }
        };
        use std::os::unix::process::ExitStatusExt;
        match (status.signal(), status.code()) {
            (Some(sig), _) => format!("terminated by signal {sig} ({})", signal_name(sig)),
            (None, Some(code)) => format!("exited with status {code}"),
            _ => "ended".into(),
        }
    }

    /// Sends pending memory changes (unflushed); returns the batch's sequence number.
    fn send_batch(&mut self) -> Result<Option<u32>, ExecError> {
        if self.batch.is_empty() {
            return Ok(None);
        }
        let ops = std::mem::take(&mut self.batch);
        self.batch_bytes = 0;
        self.send(&Message::Batch(ops)).map(Some)
    }

    /// Checks the reply to a batch.
    fn batch_reply(&mut self, seq: u32) -> Result<(), ExecError> {
        match self.recv()? {
            (s, Message::Done { in_use }) if s == seq => {
                self.in_use = in_use;
                Ok(())
            }
            (s, Message::Failed(why)) if s == seq => Err(ExecError::Protocol(why)),
            (_, other) => Err(unexpected(&other)),
        }
    }

    /// Sends the pending batch and `message`, and returns the reply to `message`.
    fn call(&mut self, message: Message) -> Result<Message, ExecError> {
        let batch = self.send_batch()?;
        let seq = self.send(&message)?;
        self.flush()?;
        if let Some(batch) = batch {
            self.batch_reply(batch)?;
        }
        match self.recv()? {
            (_, Message::Failed(why)) => Err(ExecError::Protocol(why)),
            (s, reply) if s == seq => Ok(reply),
            (_, other) => Err(unexpected(&other)),
        }
    }

    /// Sends the pending batch and waits for it.
    fn sync(&mut self) -> Result<(), ExecError> {
        if let Some(batch) = self.send_batch()? {
            self.flush()?;
            self.batch_reply(batch)?;
        }
        Ok(())
    }

    fn push(&mut self, op: Op) -> Result<(), ExecError> {
        if let Op::Write { bytes, .. } | Op::Debug { bytes, .. } = &op {
            self.batch_bytes += bytes.len();
        }
        self.batch.push(op);
        if self.batch_bytes >= BATCH_BYTES {
            self.sync()?;
        }
        Ok(())
    }

    fn address(&mut self, message: Message) -> Result<Addr, ExecError> {
        match self.call(message)? {
            Message::Address { addr, in_use } => {
                self.in_use = in_use;
                Ok(addr)
            }
            other => Err(unexpected(&other)),
        }
    }
}

/// The names not looked up yet.
fn uncached<T>(names: &[&str], cache: &HashMap<String, T>) -> Vec<String> {
    names
        .iter()
        .filter(|n| !cache.contains_key(**n))
        .map(|n| n.to_string())
        .collect()
}

fn unexpected(message: &Message) -> ExecError {
    ExecError::Protocol(format!("unexpected {} from the executor", message.name()))
}

impl Loader for Connection {
    fn reserve(&mut self, size: u64, align: u64) -> Result<Addr, ExecError> {
        self.address(Message::Reserve { size, align })
    }

    fn write(&mut self, addr: Addr, bytes: &[u8]) -> Result<(), ExecError> {
        self.push(Op::Write {
            addr,
            bytes: bytes.to_vec(),
        })
    }

    fn finalize(&mut self, addr: Addr, size: u64) -> Result<(), ExecError> {
        self.push(Op::Finalize { addr, size })
    }

    fn release(&mut self, addr: Addr) -> Result<(), ExecError> {
        self.push(Op::Release { addr })
    }

    fn set_slot(&mut self, slot: Addr, target: Addr) -> Result<(), ExecError> {
        self.push(Op::SetSlot { slot, target })
    }

    fn register_debug(&mut self, addr: Addr, object: Vec<u8>) -> Result<(), ExecError> {
        self.push(Op::Debug {
            addr,
            bytes: object,
        })
    }

    fn create_stubs(&mut self, first: u32) -> Result<Addr, ExecError> {
        self.address(Message::CreateStubs { first })
    }

    fn lookup_externs(&mut self, names: &[&str]) -> Result<Vec<Option<ExternSymbol>>, ExecError> {
        let missing = uncached(names, &self.externs);
        if !missing.is_empty() {
            let Message::Externs(found) = self.call(Message::LookupExterns(missing.clone()))?
            else {
                return Err(ExecError::Protocol("bad reply to LookupExterns".into()));
            };
            if found.len() != missing.len() {
                return Err(ExecError::Protocol("wrong number of externs".into()));
            }
            for (name, f) in missing.into_iter().zip(found) {
                let f = f.map(|(addr, arity)| (addr, arity.map(|a| a as usize)));
                self.externs.insert(name, f);
            }
        }
        Ok(names
            .iter()
            .map(|n| self.externs.get(*n).copied().flatten())
            .collect())
    }

    fn lookup_symbols(&mut self, names: &[&str]) -> Result<Vec<Option<Addr>>, ExecError> {
        let missing = uncached(names, &self.symbols);
        if !missing.is_empty() {
            let Message::Symbols(found) = self.call(Message::LookupSymbols(missing.clone()))?
            else {
                return Err(ExecError::Protocol("bad reply to LookupSymbols".into()));
            };
            if found.len() != missing.len() {
                return Err(ExecError::Protocol("wrong number of symbols".into()));
            }
            self.symbols.extend(missing.into_iter().zip(found));
        }
        Ok(names
            .iter()
            .map(|n| self.symbols.get(*n).copied().flatten())
            .collect())
    }

    fn memory_in_use(&mut self) -> Result<u64, ExecError> {
        self.sync()?;
        Ok(self.in_use)
    }
}

// ANCHOR: run_loop
impl Executor for Remote {
    fn loader(&mut self) -> &mut dyn Loader {
        &mut self.conn
    }

    fn run(
        &mut self,
        addr: Addr,
        resolve: &mut Resolve<'_>,
    ) -> Result<Result<f64, Abort>, ExecError> {
        let conn = &mut self.conn;
        conn.interrupt_sent = false;
        let batch = conn.send_batch()?;
        let run = conn.send(&Message::Run { addr })?;
        conn.flush()?;
        if let Some(batch) = batch {
            conn.batch_reply(batch)?;
        }
        loop {
            match conn.recv()? {
                (_, Message::Output(bytes)) => runtime::write(&bytes),
                (asked, Message::Resolve { id }) => {
                    let target = resolve(conn, id).unwrap_or(0);
                    conn.sync()?;
                    conn.send_as(asked, &Message::Resolved { addr: target })?;
                    conn.flush()?;
                }
                (s, Message::Finished(result)) if s == run => {
                    return Ok(match result {
                        RunResult::Value(v) => Ok(v),
                        RunResult::Interrupted => Err(Abort::Interrupted),
                        RunResult::StackOverflow { pc } => Err(Abort::StackOverflow { pc }),
                        RunResult::Unresolved { id } => Err(Abort::Unresolved(id)),
                    });
                }
                (s, Message::Failed(why)) if s == run => return Err(ExecError::Protocol(why)),
                (_, other) => return Err(unexpected(&other)),
            }
        }
    }
    // ANCHOR_END: run_loop

    fn terminated(&self) -> Option<String> {
        self.conn.dead.clone()
    }

    fn pid(&self) -> u32 {
        self.conn.pid
    }

    fn restart(&mut self) -> Result<bool, ExecError> {
        if let Some(child) = &mut self.conn.child {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.conn = Connection::open(&self.transport)?;
        Ok(true)
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            // Closing stdin ends the executor; reap it.
            let _ = self.writer.flush();
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

//! `toy-executor --listen`: accepts TCP controllers, authenticates each on its own
//! thread within a deadline, and serves each authenticated one in a fresh
//! `toy-executor` process (at most `max_sessions` at once; past that, a `Failed`
//! "executor busy" answer). No connection can hold up another: the accept loop never
//! reads, an unauthenticated connection is cut off at the deadline (or when newer
//! ones push it out), and a session runs in its own process.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use thiserror::Error;

use crate::protocol::{HEADER, MAX_TOKEN, Message, parse_header, tokens_match, write_frame};
use crate::token::{self, TokenError};

/// Connections being authenticated at once; a newer one pushes the oldest out. A real
/// controller authenticates within a round trip, so only idle ones get pushed.
const MAX_PENDING: usize = 128;
/// The largest `Auth` payload: the token and its length.
const MAX_AUTH: usize = 4 + MAX_TOKEN;
/// How long a refused connection is drained before it is closed (so that the refusal
/// is not lost to a reset).
const LINGER: Duration = Duration::from_secs(1);

/// How to listen.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where (`ADDR:PORT`).
    pub addr: String,
    /// Whether a non-loopback address is allowed.
    pub allow_remote: bool,
    /// Where to write a generated token (else it is printed on stderr).
    pub token_file: Option<PathBuf>,
    /// Time for a connection to present the token, from its accept.
    pub auth_timeout: Duration,
    /// Controllers served at once.
    pub max_sessions: usize,
}

/// Why the listener could not start.
#[derive(Debug, Error)]
pub enum ListenError {
    /// The address does not parse.
    #[error("bad address `{0}`: {1}")]
    BadAddress(String, std::net::AddrParseError),
    /// A non-loopback address without `--allow-remote`.
    #[error(
        "refusing to listen on non-loopback {0} without --allow-remote \
         (anyone who can connect can run code here)"
    )]
    NotLoopback(SocketAddr),
    /// The token (from TOY_EXECUTOR_TOKEN) or its file is unusable.
    #[error("{0}")]
    Token(#[from] TokenError),
    /// Binding failed.
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, io::Error),
    /// Serving over an accepted connection failed (in a session process).
    #[error("{0}")]
    Session(String),
}

impl ListenError {
    /// The exit status for it: 2 for a refused configuration, else 1.
    pub fn exit_code(&self) -> u8 {
        match self {
            ListenError::Token(_) => 2,
            _ => 1,
        }
    }
}

/// Connections not yet authenticated, oldest first, by id.
#[derive(Default)]
struct Pending {
    next: u64,
    queue: VecDeque<(u64, TcpStream)>,
}

/// What the accept loop shares with the connections' threads.
struct Shared {
    token: String,
    auth_timeout: Duration,
    max_sessions: usize,
    pending: Mutex<Pending>,
    sessions: AtomicUsize,
}

/// Listens until killed.
pub fn run(config: &Config) -> Result<(), ListenError> {
    let addr: SocketAddr = config
        .addr
        .parse()
        .map_err(|e| ListenError::BadAddress(config.addr.clone(), e))?;
    if !addr.ip().is_loopback() && !config.allow_remote {
        return Err(ListenError::NotLoopback(addr));
    }
    // Everything is checked before anything listens.
    let from_env = std::env::var("TOY_EXECUTOR_TOKEN")
        .ok()
        .filter(|t| !t.is_empty());
    let token = match &from_env {
        Some(token) => token.clone(),
        None => token::generate()?,
    };
    token::check(token.as_bytes())?;
    // A token from the environment is the caller's to hand over; a generated one goes
    // to the token file, or to stderr.
    let written = match (&from_env, &config.token_file) {
        (None, Some(path)) => {
            token::write_new(path, &token)?;
            Some(path)
        }
        _ => None,
    };
    let listener = TcpListener::bind(addr).map_err(|e| {
        if let Some(path) = written {
            let _ = std::fs::remove_file(path);
        }
        ListenError::Bind(addr, e)
    })?;
    if from_env.is_none() && written.is_none() {
        eprintln!("toy-executor: token {token}");
    }
    let local = listener
        .local_addr()
        .map_err(|e| ListenError::Bind(addr, e))?;
    println!("listening on {local}");
    let _ = io::stdout().flush();
    let shared = Arc::new(Shared {
        token,
        auth_timeout: config.auth_timeout,
        max_sessions: config.max_sessions.max(1),
        pending: Mutex::new(Pending::default()),
        sessions: AtomicUsize::new(0),
    });
    loop {
        let (stream, peer) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(err) => {
                eprintln!("toy-executor: accept failed: {err}");
                // Out of descriptors or memory: give the connections time to end
                // instead of spinning.
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let accepted = Instant::now();
        let Some(id) = shared.enter(&stream) else {
            continue;
        };
        let for_thread = Arc::clone(&shared);
        let spawned = std::thread::Builder::new()
            .name("connection".into())
            .stack_size(256 << 10)
            .spawn(move || for_thread.connection(id, stream, peer, accepted));
        if let Err(err) = spawned {
            shared.leave(id);
            eprintln!("toy-executor: {peer}: cannot start a thread: {err}");
        }
    }
}

impl Shared {
    /// Registers a new connection as pending, pushing out the oldest if there are too
    /// many; its id, or `None` if it cannot be registered.
    fn enter(&self, stream: &TcpStream) -> Option<u64> {
        let clone = stream.try_clone().ok()?;
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        if pending.queue.len() >= MAX_PENDING
            && let Some((_, oldest)) = pending.queue.pop_front()
        {
            // Its thread's next read ends; the thread cleans up.
            let _ = oldest.shutdown(Shutdown::Both);
        }
        let id = pending.next;
        pending.next += 1;
        pending.queue.push_back((id, clone));
        Some(id)
    }

    /// Unregisters a pending connection; whether it was still there (not pushed out).
    fn leave(&self, id: u64) -> bool {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let at = pending.queue.iter().position(|(i, _)| *i == id);
        at.and_then(|at| pending.queue.remove(at)).is_some()
    }

    /// One connection, on its own thread: authentication, then a session process.
    fn connection(&self, id: u64, stream: TcpStream, peer: SocketAddr, accepted: Instant) {
        let mut reader = Deadline {
            stream: &stream,
            until: accepted + self.auth_timeout,
        };
        let outcome = authenticate(&mut reader, self.token.as_bytes());
        if !self.leave(id) {
            return; // pushed out by newer connections
        }
        let seq = match outcome {
            Ok(seq) => seq,
            Err(Refusal::Closed) => return,
            Err(refusal) => {
                let why = match refusal {
                    Refusal::TimedOut => format!(
                        "authentication timed out after {} s",
                        self.auth_timeout.as_secs_f64()
                    ),
                    other => other.to_string(),
                };
                eprintln!("toy-executor: {peer}: {why}");
                return refuse(&stream, 0, &why);
            }
        };
        if stream.set_read_timeout(None).is_err() {
            return;
        }
        let taken = self
            .sessions
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < self.max_sessions).then_some(n + 1)
            });
        if taken.is_err() {
            let why = format!(
                "executor busy: it serves {} controller(s) at once (--max-sessions), \
                 all taken; try again later",
                self.max_sessions
            );
            return refuse(&stream, seq, &why);
        }
        match spawn_session(&stream, peer) {
            Ok(child) => {
                // The child holds the connection now.
                drop(stream);
                reap(child, peer);
            }
            Err(why) => {
                eprintln!("toy-executor: {peer}: {why}");
                refuse(&stream, seq, &why);
            }
        }
        self.sessions.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Starts a fresh `toy-executor` process to serve an authenticated connection (its
/// stdin): a crash of its code ends that process only. It is executed anew, not
/// forked, since this process has threads.
fn spawn_session(stream: &TcpStream, peer: SocketAddr) -> Result<Child, String> {
    let socket = OwnedFd::from(stream.try_clone().map_err(|e| e.to_string())?);
    let log = io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .map_err(|e| e.to_string())?;
    Command::new("/proc/self/exe")
        .arg0("toy-executor")
        .args(["--serve-connection", &peer.to_string()])
        .stdin(Stdio::from(socket))
        // Nothing may write into the listener's stdout (its address line).
        .stdout(Stdio::from(log))
        // Ctrl-C at the listener's terminal ends the listener, not the sessions.
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot start an executor process: {e}"))
}

/// Waits for a session process to end; reports a crash.
fn reap(mut child: Child, peer: SocketAddr) {
    if let Ok(status) = child.wait() {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            eprintln!("toy-executor: {peer}: executor terminated by signal {signal}");
        }
    }
}

/// Serves the authenticated TCP connection from `peer` on stdin: the session process
/// that [`run`] starts for each controller.
pub fn serve_accepted(peer: &str) -> Result<(), ListenError> {
    // SAFETY: a zeroed stat is valid, and fstat fills it for the open fd 0.
    let is_socket = unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        libc::fstat(0, &mut st) == 0 && st.st_mode & libc::S_IFMT == libc::S_IFSOCK
    };
    if !is_socket {
        return Err(ListenError::Session(
            "--serve-connection needs a connected socket on stdin".into(),
        ));
    }
    // SAFETY: fd 0 is an open socket (checked above) that nothing else in this
    // process uses; the stream owns it from here on.
    let stream = unsafe { TcpStream::from_raw_fd(0) };
    crate::server::connection(stream).map_err(|e| ListenError::Session(format!("{peer}: {e}")))
}

/// Why a connection was not authenticated.
#[derive(Debug, Error)]
enum Refusal {
    #[error("connection closed")]
    Closed,
    #[error("authentication timed out")]
    TimedOut,
    #[error("authentication failed: wrong or missing token")]
    Wrong,
    #[error("authentication failed: a frame of {0} bytes is no Auth frame")]
    TooLarge(usize),
    #[error("authentication failed: {0}")]
    Broken(String),
}

/// Reads the `Auth` frame, and not a byte more (the `Hello` behind it is the
/// session's); its sequence number if the token is right.
fn authenticate(reader: &mut Deadline, token: &[u8]) -> Result<u32, Refusal> {
    let io_refusal = |e: io::Error| match e.kind() {
        io::ErrorKind::TimedOut => Refusal::TimedOut,
        io::ErrorKind::UnexpectedEof => Refusal::Broken("the stream ended inside a frame".into()),
        _ => Refusal::Closed,
    };
    let mut header = [0u8; HEADER];
    let got = read_full(reader, &mut header).map_err(io_refusal)?;
    if got == 0 {
        return Err(Refusal::Closed);
    }
    if got < HEADER {
        return Err(io_refusal(io::ErrorKind::UnexpectedEof.into()));
    }
    let (len, kind, seq) = parse_header(&header).map_err(|e| Refusal::Broken(e.to_string()))?;
    // Checked before reading (or allocating) the payload.
    if len > MAX_AUTH {
        return Err(Refusal::TooLarge(len));
    }
    let mut payload = vec![0u8; len];
    reader.read_exact(&mut payload).map_err(io_refusal)?;
    match Message::decode(kind, &payload) {
        Ok(Message::Auth { token: given }) if tokens_match(&given, token) => Ok(seq),
        Ok(_) => Err(Refusal::Wrong),
        Err(e) => Err(Refusal::Broken(e.to_string())),
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

/// Answers `Failed(why)` and closes the connection, reading (and dropping) what the
/// client still sends for a moment: closing with unread bytes would reset the
/// connection and could discard the answer before the client reads it.
fn refuse(stream: &TcpStream, seq: u32, why: &str) {
    let mut frame = Vec::new();
    if write_frame(&mut frame, seq, &Message::Failed(why.into())).is_err() {
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

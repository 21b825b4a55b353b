//! `toy-executor --listen`: accepts TCP controllers, authenticates each on its own
//! thread within a deadline, and serves each authenticated one in a fresh
//! `toy-executor` process (at most `max_sessions` at once; past that, a `Failed`
//! "executor busy" answer). No connection can hold up another: the accept loop never
//! reads, an unauthenticated connection is cut off at the deadline (or when newer
//! ones push it out), and a session runs in its own process.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use thiserror::Error;

use crate::auth::{Refusal, authenticate, refuse};
use crate::server::ServeError;
use crate::token::{self, TokenError};

/// Connections being authenticated at once; a newer one pushes the oldest out. A real
/// controller authenticates within a round trip, so only idle ones get pushed.
const MAX_PENDING: usize = 128;

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
    /// `--serve-connection` without a connected socket on stdin.
    #[error("--serve-connection needs a connected socket on stdin")]
    NotASocket,
    /// Serving over an accepted connection failed (in a session process).
    #[error("{peer}: {source}")]
    Session {
        /// The controller's address.
        peer: String,
        /// What went wrong.
        source: ServeError,
    },
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
            if let Err(err) = token::remove_on_signal(path) {
                eprintln!(
                    "toy-executor: {} will outlive the listener: {err}",
                    path.display()
                );
            }
            Some(path)
        }
        (Some(_), Some(path)) => {
            eprintln!(
                "toy-executor: not writing {}: the token comes from TOY_EXECUTOR_TOKEN",
                path.display()
            );
            None
        }
        (_, None) => None,
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
        let token = self.token.as_bytes();
        let outcome = authenticate(&stream, accepted, self.auth_timeout, token).and_then(|seq| {
            self.sessions
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                    (n < self.max_sessions).then_some(n + 1)
                })
                .map(|_| seq)
                .map_err(|_| Refusal::Busy(seq, self.max_sessions))
        });
        let seq = match outcome {
            Ok(seq) => seq,
            Err(refusal) => {
                if !matches!(refusal, Refusal::Closed | Refusal::Busy(..)) {
                    eprintln!("toy-executor: {peer}: {refusal}");
                }
                // Still counted as pending while it lingers: newer ones push it out.
                refuse(&stream, &refusal);
                self.leave(id);
                return;
            }
        };
        let served = self.leave(id) && stream.set_read_timeout(None).is_ok();
        if served {
            match spawn_session(&stream, peer) {
                Ok(child) => {
                    // The child holds the connection now.
                    drop(stream);
                    reap(child, peer);
                }
                Err(err) => {
                    let refusal = Refusal::NoSession(seq, err);
                    eprintln!("toy-executor: {peer}: {refusal}");
                    refuse(&stream, &refusal);
                }
            }
        }
        self.sessions.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Starts a fresh `toy-executor` process to serve an authenticated connection (its
/// stdin): a crash of its code ends that process only. It is executed anew, not
/// forked, since this process has threads.
fn spawn_session(stream: &TcpStream, peer: SocketAddr) -> io::Result<Child> {
    let socket = OwnedFd::from(stream.try_clone()?);
    let log = io::stderr().as_fd().try_clone_to_owned()?;
    Command::new("/proc/self/exe")
        .arg0("toy-executor")
        .args(["--serve-connection", &peer.to_string()])
        .stdin(Stdio::from(socket))
        // Nothing may write into the listener's stdout (its address line).
        .stdout(Stdio::from(log))
        // Ctrl-C at the listener's terminal ends the listener, not the sessions.
        .process_group(0)
        .spawn()
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
        return Err(ListenError::NotASocket);
    }
    // SAFETY: fd 0 is an open socket (checked above) that nothing else in this
    // process uses; the stream owns it from here on.
    let stream = unsafe { TcpStream::from_raw_fd(0) };
    crate::command::connection(stream).map_err(|source| ListenError::Session {
        peer: peer.into(),
        source,
    })
}

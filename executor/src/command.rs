//! The `toy-executor` command: its command line (`toy-executor [--listen ADDR:PORT
//! ...]`), serving the controller that spawned it over stdin and stdout, and the
//! set-up of an accepted TCP connection (the TCP side is in [`crate::listener`]).

use std::net::TcpStream;
use std::os::fd::{AsRawFd, FromRawFd};
use std::process::ExitCode;
use std::time::Duration;

use thiserror::Error;

use crate::listener::{self, Config};
use crate::server::{ServeError, serve};

const USAGE: &str = "\
usage: toy-executor                      serve one controller on stdin/stdout
       toy-executor --listen ADDR:PORT [--allow-remote] [--token-file FILE]
                    [--auth-timeout SECS] [--max-sessions N]
                                         serve controllers over TCP

The executor runs whatever machine code its controller sends: over TCP every
connection must first present the token, taken from TOY_EXECUTOR_TOKEN (16 to 256
bytes) or generated at start-up (written to FILE with --token-file, which must not
exist yet, else printed on stderr). --listen accepts only loopback addresses unless
--allow-remote is given. A connection has --auth-timeout seconds (default 5) to
present the token; each authenticated controller is served by its own process, at
most --max-sessions (default 16) at once: past that, a controller is told the
executor is busy.";

/// Default of `--auth-timeout`, in seconds.
const AUTH_TIMEOUT: u64 = 5;
/// Default of `--max-sessions`.
const MAX_SESSIONS: usize = 16;

/// What the command line asks for.
enum Mode {
    Pipes,
    Listen(Config),
    /// Internal: serve the authenticated TCP connection (from this peer) on stdin.
    Accepted(String),
}

/// A command line that does not parse.
#[derive(Debug, Error)]
enum UsageError {
    #[error("--auth-timeout takes 0 < SECS <= 3600, not `{0}`")]
    AuthTimeout(String),
    #[error("--max-sessions takes a positive count, not `{0}`")]
    MaxSessions(String),
    #[error("unexpected argument `{0}`")]
    Unexpected(String),
    #[error("--allow-remote, --token-file, --auth-timeout and --max-sessions go with --listen")]
    ListenOnly,
    #[error("--listen and --serve-connection conflict")]
    Conflict,
}

fn parse(args: &[String]) -> Result<Option<Mode>, UsageError> {
    let mut listen = None;
    let mut accepted = None;
    let mut config = Config {
        addr: String::new(),
        allow_remote: false,
        token_file: None,
        auth_timeout: Duration::from_secs(AUTH_TIMEOUT),
        max_sessions: MAX_SESSIONS,
    };
    let mut i = 0;
    while i < args.len() {
        let value = args.get(i + 1);
        match (args[i].as_str(), value) {
            ("--listen", Some(v)) => listen = Some(v.clone()),
            ("--token-file", Some(v)) => config.token_file = Some(v.into()),
            ("--auth-timeout", Some(v)) => {
                let secs: f64 = v
                    .parse()
                    .ok()
                    .filter(|s: &f64| *s > 0.0 && *s <= 3600.0)
                    .ok_or_else(|| UsageError::AuthTimeout(v.clone()))?;
                config.auth_timeout = Duration::from_secs_f64(secs);
            }
            ("--max-sessions", Some(v)) => {
                config.max_sessions = v
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| UsageError::MaxSessions(v.clone()))?;
            }
            ("--serve-connection", Some(v)) => accepted = Some(v.clone()),
            ("--allow-remote", _) => {
                config.allow_remote = true;
                i += 1;
                continue;
            }
            ("-h" | "--help", _) => return Ok(None),
            (other, _) => return Err(UsageError::Unexpected(other.into())),
        }
        i += 2;
    }
    let listen_only = config.allow_remote
        || config.token_file.is_some()
        || config.auth_timeout != Duration::from_secs(AUTH_TIMEOUT)
        || config.max_sessions != MAX_SESSIONS;
    if listen.is_none() && listen_only {
        return Err(UsageError::ListenOnly);
    }
    Ok(Some(match (listen, accepted) {
        (Some(addr), None) => Mode::Listen(Config { addr, ..config }),
        (None, Some(peer)) => Mode::Accepted(peer),
        (None, None) => Mode::Pipes,
        (Some(_), Some(_)) => return Err(UsageError::Conflict),
    }))
}

/// The `toy-executor` command.
pub fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = match parse(&args) {
        Ok(Some(mode)) => mode,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(why) => {
            eprintln!("toy-executor: {why}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    // The listener itself runs no code: Ctrl-C ends it. Its sessions take it (and
    // SIGURG) as an interrupt of the running code.
    if !matches!(mode, Mode::Listen(_))
        && let Err(err) = crate::handle_interrupts()
    {
        eprintln!("toy-executor: cannot handle interrupts: {err}");
    }
    let result = match mode {
        Mode::Pipes => pipes().map_err(|e| (e.to_string(), 1)),
        Mode::Listen(config) => listener::run(&config).map_err(|e| (e.to_string(), e.exit_code())),
        Mode::Accepted(peer) => {
            listener::serve_accepted(&peer).map_err(|e| (e.to_string(), e.exit_code()))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err((why, code)) => {
            eprintln!("toy-executor: {why}");
            ExitCode::from(code)
        }
    }
}

/// Serves the controller that spawned us, over stdin and stdout. Stdout is moved to
/// a fresh descriptor first and fd 1 pointed at stderr, so that nothing else can
/// write into the protocol stream.
fn pipes() -> Result<(), ServeError> {
    // SAFETY: plain descriptor duplication; the new descriptor is owned by `out`.
    let out = unsafe {
        let fd = libc::dup(1);
        if fd < 0 || libc::dup2(2, 1) < 0 {
            return Err(std::io::Error::last_os_error().into());
        }
        std::fs::File::from_raw_fd(fd)
    };
    exit_on_hangup(0, 0);
    serve(std::io::stdin(), out)
}

/// Ends this process as soon as the controller's end of `fd` closes, even while JIT'd
/// code runs (an endless loop never reads again): an executor must not outlive `toy`.
fn exit_on_hangup(fd: libc::c_int, events: libc::c_short) {
    // The watcher must not take the main thread's Ctrl-C and SIGURG: block them while
    // it is created (it inherits the mask), then unblock them here.
    // SAFETY: plain signal-mask manipulation of the calling thread.
    let old = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGURG);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old);
        old
    };
    let spawned = std::thread::Builder::new()
        .name("hangup".into())
        .stack_size(64 << 10)
        .spawn(move || {
            loop {
                let mut pfd = libc::pollfd {
                    fd,
                    events,
                    revents: 0,
                };
                // SAFETY: one valid pollfd; HUP and ERR are always reported.
                let ready = unsafe { libc::poll(&mut pfd, 1, -1) };
                let gone = libc::POLLHUP | libc::POLLERR | libc::POLLRDHUP;
                if ready > 0 && pfd.revents & gone != 0 {
                    // SAFETY: ends the process at once; nothing needs flushing.
                    unsafe { libc::_exit(0) };
                }
            }
        });
    // SAFETY: restores the mask saved above.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut()) };
    if let Err(err) = spawned {
        eprintln!("toy-executor: cannot watch the connection: {err}");
    }
}

/// Serves one authenticated TCP connection; urgent data on it interrupts running code.
pub(crate) fn connection(stream: TcpStream) -> Result<(), ServeError> {
    let _ = stream.set_nodelay(true);
    // SAFETY: F_SETOWN on our own socket makes SIGURG come to this process.
    unsafe { libc::fcntl(stream.as_raw_fd(), libc::F_SETOWN, libc::getpid()) };
    crate::signals::interrupt_on(libc::SIGURG)?;
    let writer = stream.try_clone()?;
    exit_on_hangup(stream.as_raw_fd(), libc::POLLRDHUP);
    serve(stream, writer)
}

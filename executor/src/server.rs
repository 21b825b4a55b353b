//! The executor process: serves [`Local`] to one controller over a byte stream, and
//! its command line (`toy-executor [--listen ADDR:PORT [--allow-remote]]`).

use std::io::{BufReader, BufWriter, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use crate::local::{Local, LocalLoader};
use crate::protocol::{
    Message, Op, ProtocolError, RunResult, VERSION, read_frame, tokens_match, write_frame,
};
use crate::{Abort, ExecError, INTERRUPTED, runtime};

/// The writing half of a connection, shared with the runtime's output sink.
type Shared<W> = Arc<Mutex<BufWriter<W>>>;

fn send<W: Write>(writer: &Shared<W>, seq: u32, message: &Message) -> Result<(), String> {
    let mut w = writer.lock().unwrap_or_else(|e| e.into_inner());
    write_frame(&mut *w, seq, message)
        .and_then(|()| w.flush())
        .map_err(|e| format!("cannot write to the controller: {e}"))
}

/// Answers one request that is not `Run`.
fn handle(loader: &mut LocalLoader, message: Message) -> Message {
    let reply = match message {
        Message::Reserve { size, align } => {
            loader.reserve(size, align).map(|addr| Message::Address {
                addr,
                in_use: loader.memory_in_use(),
            })
        }
        Message::CreateStubs { first } => loader.create_stubs(first).map(|addr| Message::Address {
            addr,
            in_use: loader.memory_in_use(),
        }),
        Message::Batch(ops) => apply(loader, ops).map(|()| Message::Done {
            in_use: loader.memory_in_use(),
        }),
        Message::LookupExterns(names) => {
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            let found = loader.lookup_externs(&names);
            Ok(Message::Externs(
                found
                    .into_iter()
                    .map(|f| f.map(|(addr, arity)| (addr, arity.map(|a| a as u32))))
                    .collect(),
            ))
        }
        Message::LookupSymbols(names) => {
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            Ok(Message::Symbols(loader.lookup_symbols(&names)))
        }
        other => Err(ExecError::Protocol(format!(
            "unexpected request {}",
            other.name()
        ))),
    };
    reply.unwrap_or_else(|err| Message::Failed(err.to_string()))
}

fn apply(loader: &mut LocalLoader, ops: Vec<Op>) -> Result<(), ExecError> {
    for op in ops {
        match op {
            Op::Write { addr, bytes } => loader.write(addr, &bytes)?,
            Op::Finalize { addr, size } => loader.finalize(addr, size)?,
            Op::Release { addr } => loader.release(addr)?,
            Op::SetSlot { slot, target } => loader.set_slot(slot, target)?,
            Op::Debug { addr, bytes } => loader.register_debug(addr, bytes)?,
        }
    }
    Ok(())
}

/// Serves one controller until it hangs up. With a `token`, the first frame must be
/// `Auth` with that token.
pub fn serve<R: Read, W: Write + Send + 'static>(
    reader: R,
    writer: W,
    token: Option<&[u8]>,
) -> Result<(), String> {
    let mut reader = BufReader::new(reader);
    let writer: Shared<W> = Arc::new(Mutex::new(BufWriter::new(writer)));
    let read = |reader: &mut BufReader<R>| match read_frame(reader) {
        Ok(frame) => Ok(Some(frame)),
        Err(ProtocolError::Closed) => Ok(None),
        Err(err) => Err(err.to_string()),
    };
    if let Some(token) = token {
        match read(&mut reader)? {
            Some((_, Message::Auth { token: given })) if tokens_match(&given, token) => {}
            Some((seq, _)) => {
                let why = "authentication failed: wrong or missing token";
                let _ = send(&writer, seq, &Message::Failed(why.into()));
                return Err(why.into());
            }
            None => return Ok(()),
        }
    }
    match read(&mut reader)? {
        Some((
            seq,
            Message::Hello {
                version,
                line_buffered,
            },
        )) => {
            if version != VERSION {
                let why = format!("protocol version {version} is not {VERSION}");
                send(&writer, seq, &Message::Failed(why.clone()))?;
                return Err(why);
            }
            let mut local = Local::new().map_err(|e| e.to_string())?;
            send(
                &writer,
                seq,
                &Message::Welcome {
                    version: VERSION,
                    triple: "x86_64-pc-linux-gnu".into(),
                    // SAFETY: sysconf has no preconditions.
                    page_size: unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64,
                    resolver: local.loader.resolver(),
                    base: local.loader.base(),
                    pid: std::process::id(),
                },
            )?;
            session(&mut reader, &writer, &mut local, line_buffered)
        }
        Some(_) => Err("the first request must be Hello".into()),
        None => Ok(()),
    }
}

fn session<R: Read, W: Write + Send + 'static>(
    reader: &mut BufReader<R>,
    writer: &Shared<W>,
    local: &mut Local,
    line_buffered: bool,
) -> Result<(), String> {
    let sink = Arc::clone(writer);
    runtime::set_sink(
        Box::new(move |bytes| {
            // A failed write shows up as a closed connection at the next read.
            let _ = send(&sink, 0, &Message::Output(bytes.to_vec()));
        }),
        line_buffered,
    );
    let mut next_seq = 1u32 << 31;
    let mut poisoned = false;
    loop {
        let (seq, message) = match read_frame(reader) {
            Ok(frame) => frame,
            Err(ProtocolError::Closed) => return Ok(()),
            Err(err) => {
                let why = err.to_string();
                let _ = send(writer, 0, &Message::Failed(why.clone()));
                return Err(why);
            }
        };
        let Message::Run { addr } = message else {
            let batch = matches!(message, Message::Batch(_));
            let reply = handle(&mut local.loader, message);
            // A Run sent right behind a failed batch must not run half-loaded code.
            poisoned |= batch && matches!(reply, Message::Failed(_));
            send(writer, seq, &reply)?;
            continue;
        };
        if std::mem::take(&mut poisoned) {
            let why = "not run: the memory changes sent before it failed";
            send(writer, seq, &Message::Failed(why.into()))?;
            continue;
        }
        INTERRUPTED.store(false, std::sync::atomic::Ordering::Relaxed);
        let mut broken = None;
        let result = local.run(addr, &mut |loader, id| {
            // Output so far goes first, then the request; serve the controller's
            // requests until it answers.
            runtime::flush();
            next_seq = next_seq.wrapping_add(1).max(1 << 31);
            let asked = next_seq;
            if let Err(err) = send(writer, asked, &Message::Resolve { id }) {
                broken = Some(err);
                return None;
            }
            loop {
                match read_frame(reader) {
                    Ok((seq, Message::Resolved { addr })) if seq == asked => {
                        return (addr != 0).then_some(addr);
                    }
                    Ok((seq, Message::Run { .. })) => {
                        let why = Message::Failed("Run while running".into());
                        if let Err(err) = send(writer, seq, &why) {
                            broken = Some(err);
                            return None;
                        }
                    }
                    Ok((seq, message)) => {
                        if let Err(err) = send(writer, seq, &handle(loader, message)) {
                            broken = Some(err);
                            return None;
                        }
                    }
                    Err(err) => {
                        broken = Some(err.to_string());
                        return None;
                    }
                }
            }
        });
        runtime::flush();
        if let Some(err) = broken {
            return Err(err);
        }
        let reply = match result {
            Ok(Ok(value)) => Message::Finished(RunResult::Value(value)),
            Ok(Err(Abort::Interrupted)) => Message::Finished(RunResult::Interrupted),
            Ok(Err(Abort::StackOverflow { pc })) => {
                Message::Finished(RunResult::StackOverflow { pc })
            }
            Ok(Err(Abort::Unresolved(id))) => Message::Finished(RunResult::Unresolved { id }),
            Err(err) => Message::Failed(err.to_string()),
        };
        send(writer, seq, &reply)?;
    }
}

const USAGE: &str = "\
usage: toy-executor                      serve one controller on stdin/stdout
       toy-executor --listen ADDR:PORT [--allow-remote] [--token-file FILE]
                                         serve controllers over TCP, one at a time

The executor runs whatever machine code its controller sends: over TCP every
connection must first present the token, taken from TOY_EXECUTOR_TOKEN or generated
at start-up (written to FILE with --token-file, else printed on stderr). --listen
accepts only loopback addresses unless --allow-remote is given.";

/// The `toy-executor` command.
pub fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut listen = None;
    let mut allow_remote = false;
    let mut token_file = None;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--listen" if i + 1 < args.len() => {
                listen = Some(args[i + 1].clone());
                i += 1;
            }
            "--token-file" if i + 1 < args.len() => {
                token_file = Some(args[i + 1].clone());
                i += 1;
            }
            "--allow-remote" => allow_remote = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("toy-executor: unexpected argument `{other}`\n{USAGE}");
                return ExitCode::from(2);
            }
        }
        i += 1;
    }
    if let Err(err) = crate::handle_interrupts() {
        eprintln!("toy-executor: cannot handle interrupts: {err}");
    }
    let result = match listen {
        None => pipes(),
        Some(addr) => tcp(&addr, allow_remote, token_file.as_deref()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("toy-executor: {err}");
            ExitCode::from(1)
        }
    }
}

/// Serves the controller that spawned us, over stdin and stdout. Stdout is moved to
/// a fresh descriptor first and fd 1 pointed at stderr, so that nothing else can
/// write into the protocol stream.
fn pipes() -> Result<(), String> {
    // SAFETY: plain descriptor duplication; the new descriptor is owned by `out`.
    let out = unsafe {
        let fd = libc::dup(1);
        if fd < 0 || libc::dup2(2, 1) < 0 {
            return Err(std::io::Error::last_os_error().to_string());
        }
        std::fs::File::from_raw_fd(fd)
    };
    exit_on_hangup(0, 0);
    serve(std::io::stdin(), out, None)
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

fn tcp(addr: &str, allow_remote: bool, token_file: Option<&str>) -> Result<(), String> {
    let addr: SocketAddr = addr
        .parse()
        .map_err(|e| format!("bad address `{addr}`: {e}"))?;
    if !addr.ip().is_loopback() && !allow_remote {
        return Err(format!(
            "refusing to listen on non-loopback {addr} without --allow-remote \
             (anyone who can connect can run code here)"
        ));
    }
    let token = match std::env::var("TOY_EXECUTOR_TOKEN") {
        Ok(token) if !token.is_empty() => token,
        _ => {
            let token = random_token()?;
            match token_file {
                Some(path) => write_private(path, &token)?,
                None => eprintln!("toy-executor: token {token}"),
            }
            token
        }
    };
    let listener = TcpListener::bind(addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    println!("listening on {local}");
    let _ = std::io::stdout().flush();
    for stream in listener.incoming() {
        let stream = match stream {
            Ok(stream) => stream,
            Err(err) => {
                eprintln!("toy-executor: accept failed: {err}");
                continue;
            }
        };
        let peer = stream
            .peer_addr()
            .map_or("?".to_string(), |a| a.to_string());
        // Each controller gets a fresh process: a crash of its code ends that child
        // only, and the listener goes on to the next connection.
        // SAFETY: this process has one thread here, so the child may run Rust code.
        match unsafe { libc::fork() } {
            0 => {
                drop(listener);
                let code = match connection(stream, token.as_bytes()) {
                    Ok(()) => 0,
                    Err(err) => {
                        eprintln!("toy-executor: {peer}: {err}");
                        1
                    }
                };
                std::process::exit(code);
            }
            pid if pid > 0 => {
                drop(stream);
                let mut status = 0;
                // SAFETY: waiting for our own child.
                unsafe { libc::waitpid(pid, &mut status, 0) };
                if libc::WIFSIGNALED(status) {
                    eprintln!(
                        "toy-executor: {peer}: executor terminated by signal {}",
                        libc::WTERMSIG(status)
                    );
                }
            }
            _ => return Err(std::io::Error::last_os_error().to_string()),
        }
    }
    Ok(())
}

/// Serves one TCP connection; urgent data on it interrupts running code.
fn connection(stream: TcpStream, token: &[u8]) -> Result<(), String> {
    let _ = stream.set_nodelay(true);
    // SAFETY: F_SETOWN on our own socket makes SIGURG come to this process.
    unsafe { libc::fcntl(stream.as_raw_fd(), libc::F_SETOWN, libc::getpid()) };
    crate::entry::interrupt_on(libc::SIGURG).map_err(|e| e.to_string())?;
    let writer = stream.try_clone().map_err(|e| e.to_string())?;
    exit_on_hangup(stream.as_raw_fd(), libc::POLLRDHUP);
    serve(stream, writer, Some(token))
}

fn random_token() -> Result<String, String> {
    let mut bytes = [0u8; 24];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| format!("cannot make a token: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn write_private(path: &str, token: &str) -> Result<(), String> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("cannot write {path}: {e}"))?;
    file.write_all(token.as_bytes())
        .map_err(|e| format!("cannot write {path}: {e}"))
}

//! `toy-executor --listen` under hostile clients: idle, slow, numerous and silent
//! connections must not keep a real controller out; malformed frames after
//! authentication end that connection only; `--token-file` and the token itself are
//! checked before anything listens.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::Listener;
use toy_shared::wire::framing::{HEADER, MAX_FRAME};
use toy_shared::wire::{Message, VERSION, read_message, write_message};

/// How long a client that should be served promptly may take: far below the
/// authentication deadlines the tests set (60 s), far above a loaded machine's start-up.
const PROMPTLY: Duration = Duration::from_secs(20);

/// A `toy-executor --listen` on loopback with extra arguments, stopped when dropped.
struct Executor(Listener);

impl std::ops::Deref for Executor {
    type Target = Listener;
    fn deref(&self) -> &Listener {
        &self.0
    }
}

impl Executor {
    fn start(args: &[&str]) -> Executor {
        Executor(Listener::start_with(args))
    }

    /// A raw connection that has sent the right `Auth` and `Hello` and got `Welcome`.
    fn controller(&self) -> TcpStream {
        let mut stream = TcpStream::connect(&self.addr).expect("connects");
        stream
            .set_read_timeout(Some(PROMPTLY))
            .expect("read timeout");
        let auth = Message::Auth {
            token: self.token.as_bytes().to_vec(),
        };
        let hello = Message::Hello {
            version: VERSION,
            line_buffered: false,
        };
        let mut bytes = Vec::new();
        write_message(&mut bytes, 1, &auth).expect("encodes");
        write_message(&mut bytes, 2, &hello).expect("encodes");
        stream.write_all(&bytes).expect("write");
        match read_message(&mut stream) {
            Ok((2, Message::Welcome { .. })) => stream,
            other => panic!("expected Welcome, got {other:?}"),
        }
    }

    /// Runs `toy --connect` with `6 * 7;` and `extra` args; its output, or `None`
    /// (after killing it) if it did not end within `within`.
    fn toy(&self, extra: &[&str], within: Duration) -> Option<Output> {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_toy"));
        cmd.env("TOY_CACHE", "off")
            .args(["--connect", &self.addr, "--echo"])
            .args(extra)
            .env("TOY_EXECUTOR_TOKEN", &self.token);
        finish_within(&mut cmd, b"6 * 7;\n", within)
    }

    /// Asserts that a real client gets its answer within [`PROMPTLY`].
    fn assert_serves(&self, why: &str) {
        let started = Instant::now();
        let output = self
            .toy(&[], PROMPTLY)
            .unwrap_or_else(|| panic!("{why}: a real client was not served within {PROMPTLY:?}"));
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            "Evaluated to 42.000000\n",
            "{why}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(output.status.success(), "{why}");
        eprintln!("{why}: served in {:?}", started.elapsed());
    }
}

/// How many child processes (sessions) the process `pid` has.
fn sessions(pid: u32) -> usize {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .flatten()
        .map(|task| {
            std::fs::read_to_string(task.path().join("children"))
                .unwrap_or_default()
                .split_whitespace()
                .count()
        })
        .sum()
}

/// Runs `cmd` with `input` on stdin; its output, or `None` (after killing it) if it
/// did not end within `within`.
fn finish_within(cmd: &mut Command, input: &[u8], within: Duration) -> Option<Output> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let mut stdin = child.stdin.take().expect("stdin");
    let _ = stdin.write_all(input);
    drop(stdin);
    let pid = child.id() as libc::pid_t;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    match rx.recv_timeout(within) {
        Ok(output) => Some(output.expect("waits")),
        Err(_) => {
            // SAFETY: signalling our own child, not yet reaped (the thread still waits).
            unsafe { libc::kill(pid, libc::SIGKILL) };
            let _ = rx.recv();
            None
        }
    }
}

/// Reads until the peer ends the connection; how long that took, or `None` if it
/// still had not after `within`. Frames that arrive are returned too.
fn wait_closed(stream: &mut TcpStream, within: Duration) -> Option<(Duration, Vec<u8>)> {
    let started = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = within.checked_sub(started.elapsed())?;
        stream
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .expect("read timeout");
        match stream.read(&mut buf) {
            Ok(0) => return Some((started.elapsed(), got)),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock) => {}
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => return Some((started.elapsed(), got)),
        }
    }
}

/// The frames in `bytes`, which must be whole.
fn frames(mut bytes: &[u8]) -> Vec<Message> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        out.push(read_message(&mut bytes).expect("a whole frame").1);
    }
    out
}

#[test]
fn an_idle_unauthenticated_connection_does_not_delay_a_real_client() {
    let executor = Executor::start(&["--auth-timeout", "60"]);
    let _idle = TcpStream::connect(&executor.addr).expect("connects");
    executor.assert_serves("one idle connection");
    // And one that sent half a header.
    let mut half = TcpStream::connect(&executor.addr).expect("connects");
    half.write_all(&[5, 0, 0]).expect("write");
    executor.assert_serves("a half header");
}

#[test]
fn a_one_byte_per_second_client_is_cut_off_at_the_deadline() {
    let executor = Executor::start(&["--auth-timeout", "3"]);
    let mut slow = TcpStream::connect(&executor.addr).expect("connects");
    let mut auth = Vec::new();
    let token = Message::Auth {
        token: executor.token.as_bytes().to_vec(),
    };
    write_message(&mut auth, 1, &token).expect("encodes");
    let started = Instant::now();
    // The trickle: one byte a second of a real Auth frame, on its own thread.
    let mut writer = slow.try_clone().expect("clone");
    let trickle = std::thread::spawn(move || {
        for byte in auth {
            if writer.write_all(&[byte]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_secs(1));
        }
    });
    executor.assert_serves("a 1 byte/s client");
    let (_, reply) =
        wait_closed(&mut slow, Duration::from_secs(30)).expect("the slow client was never cut off");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(2500) && took < Duration::from_secs(15),
        "cut off after {took:?}, the deadline is 3 s in total"
    );
    match frames(&reply).as_slice() {
        [Message::Failed(why)] => assert!(why.contains("timed out"), "{why}"),
        other => panic!("expected one Failed frame, got {other:?}"),
    }
    let _ = slow.shutdown(Shutdown::Both);
    trickle.join().expect("trickle ends");
    executor.assert_serves("after the cut-off");
}

#[test]
fn many_idle_connections_do_not_keep_a_real_client_out() {
    let executor = Executor::start(&["--auth-timeout", "60"]);
    let idle: Vec<TcpStream> = (0..200)
        .map(|_| TcpStream::connect(&executor.addr).expect("connects"))
        .collect();
    executor.assert_serves("200 idle connections");
    drop(idle);
}

#[test]
fn an_oversized_auth_frame_is_refused_at_once() {
    let executor = Executor::start(&["--auth-timeout", "60"]);
    let mut stream = TcpStream::connect(&executor.addr).expect("connects");
    // A header announcing the largest frame, and nothing after it.
    let mut header = [0u8; HEADER];
    header[0..4].copy_from_slice(&(MAX_FRAME as u32).to_le_bytes());
    stream.write_all(&header).expect("write");
    let (took, reply) = wait_closed(&mut stream, PROMPTLY).expect("never refused");
    assert!(took < PROMPTLY, "{took:?}");
    match frames(&reply).as_slice() {
        [Message::Failed(why)] => assert!(why.contains("authentication"), "{why}"),
        other => panic!("expected one Failed frame, got {other:?}"),
    }
}

#[test]
fn an_authenticated_but_silent_controller_does_not_block_another() {
    let executor = Executor::start(&[]);
    let silent = executor.controller();
    executor.assert_serves("a silent controller");
    // A real toy, stopped (SIGSTOP) between two evaluations.
    let mut stopped = Command::new(env!("CARGO_BIN_EXE_toy"))
        .env("TOY_CACHE", "off")
        .args(["--connect", &executor.addr, "--echo"])
        .env("TOY_EXECUTOR_TOKEN", &executor.token)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("toy starts");
    let mut stdin = stopped.stdin.take().expect("stdin");
    stdin.write_all(b"1 + 2;\n").expect("write");
    stdin.flush().expect("flush");
    // Authenticated once the listener runs a second session process for it.
    let deadline = Instant::now() + PROMPTLY;
    while sessions(executor.pid()) < 2 {
        assert!(Instant::now() < deadline, "toy never got a session");
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: signalling our own child.
    unsafe { libc::kill(stopped.id() as libc::pid_t, libc::SIGSTOP) };
    executor.assert_serves("a stopped controller");
    // SAFETY: as above.
    unsafe { libc::kill(stopped.id() as libc::pid_t, libc::SIGKILL) };
    let _ = stopped.wait();
    drop(stdin);
    drop(silent);
}

#[test]
fn a_client_beyond_max_sessions_gets_a_clear_busy_answer() {
    let executor = Executor::start(&["--max-sessions", "1"]);
    let first = executor.controller();
    let output = executor.toy(&[], PROMPTLY).expect("answered promptly");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("executor busy"), "{stderr}");
    assert!(output.stdout.is_empty());
    // Once the first hangs up its slot frees (the listener notices its child's end).
    drop(first);
    let deadline = Instant::now() + PROMPTLY;
    loop {
        let output = executor.toy(&[], PROMPTLY).expect("answered promptly");
        if output.status.success() {
            assert_eq!(output.stdout, b"Evaluated to 42.000000\n");
            break;
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("executor busy"), "{stderr}");
        assert!(Instant::now() < deadline, "the slot never freed");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends the right `Auth`, then `bytes` (and half-closes when `eof`); asserts that
/// the executor answers one `Failed` "malformed frame" and hangs up. `session`: send a
/// `Hello` first and read the `Welcome`.
fn assert_refused_frame(executor: &Executor, what: &str, bytes: &[u8], session: bool) {
    let mut stream = if session {
        executor.controller()
    } else {
        let mut stream = TcpStream::connect(&executor.addr).expect("connects");
        let auth = Message::Auth {
            token: executor.token.as_bytes().to_vec(),
        };
        let mut frame = Vec::new();
        write_message(&mut frame, 1, &auth).expect("encodes");
        stream.write_all(&frame).expect("write");
        stream
    };
    stream.write_all(bytes).expect("write");
    let eof = what == "stream ends inside a frame";
    if eof {
        let _ = stream.shutdown(Shutdown::Write);
    }
    let (_, reply) = wait_closed(&mut stream, PROMPTLY).expect("the executor hangs up");
    match frames(&reply).as_slice() {
        [Message::Failed(why)] => assert!(why.contains("malformed frame"), "{what}: {why}"),
        // The executor also ends as soon as its controller hangs up (it must not
        // outlive it), which may come first when the controller half-closes.
        [] if eof => {}
        other => panic!("{what} (session: {session}): expected one Failed, got {other:?}"),
    }
}

#[test]
fn malformed_frames_after_authentication_end_that_connection_only() {
    let executor = Executor::start(&[]);
    let garbage: [(&str, &[u8]); 6] = [
        ("http", b"GET / HTTP/1.1\r\n\r\n"),
        // A header announcing a 4 GiB frame.
        (
            "oversized",
            &[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 9, 0, 0, 0],
        ),
        // A Reserve frame (tag 4) whose payload stops inside its first varint.
        (
            "truncated payload",
            &[2, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 4, 0x80],
        ),
        (
            "unknown message",
            &[1, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 250],
        ),
        (
            "reserved header bytes",
            &[0, 0, 0, 0, 3, 0, 0, 0, 9, 0, 0, 0],
        ),
        // 10 bytes announced, 1 sent, then the end of the stream.
        (
            "stream ends inside a frame",
            &[10, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 4],
        ),
    ];
    for (what, bytes) in garbage {
        // In place of Hello, right after Auth, and in a session after Welcome.
        assert_refused_frame(&executor, what, bytes, false);
        assert_refused_frame(&executor, what, bytes, true);
    }
    executor.assert_serves("after malformed frames");
}

/// Runs `toy-executor --listen 127.0.0.1:0` with `args` and `token` (none: generate
/// one); its output, or `None` if it was still running (listening) after 10 s.
fn listen(args: &[&str], token: Option<&str>) -> Option<Output> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_toy-executor"));
    cmd.args(["--listen", "127.0.0.1:0"]).args(args);
    match token {
        Some(token) => cmd.env("TOY_EXECUTOR_TOKEN", token),
        None => cmd.env_remove("TOY_EXECUTOR_TOKEN"),
    };
    finish_within(&mut cmd, b"", Duration::from_secs(10))
}

/// Asserts that the listener refused to start, with exit status 2 and `message`.
fn assert_refused(output: Option<Output>, message: &str) {
    let output = output.expect("refused, not listening");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(message), "{stderr}");
    assert!(output.stdout.is_empty(), "no listener: {:?}", output.stdout);
}

fn mode(path: &std::path::Path) -> u32 {
    std::fs::symlink_metadata(path)
        .expect("stat")
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn an_existing_token_file_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("token");
    std::fs::write(&path, "someone else's").expect("write");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let arg = path.to_str().expect("utf-8");
    assert_refused(listen(&["--token-file", arg], None), "already exists");
    assert_eq!(mode(&path), 0o644);
    assert_eq!(
        std::fs::read_to_string(&path).expect("read"),
        "someone else's"
    );
}

#[test]
fn a_symlinked_token_file_is_refused_and_its_target_left_alone() {
    let dir = tempfile::tempdir().expect("temp dir");
    let target = dir.path().join("readable-by-all");
    std::fs::write(&target, "").expect("write");
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let link = dir.path().join("token");
    std::os::unix::fs::symlink(&target, &link).expect("symlink");
    let arg = link.to_str().expect("utf-8");
    assert_refused(listen(&["--token-file", arg], None), "already exists");
    assert_eq!(std::fs::read(&target).expect("read"), b"");
    // A dangling link, which O_CREAT alone would follow to create its target.
    let dangling = dir.path().join("dangling");
    std::os::unix::fs::symlink(dir.path().join("created-through-link"), &dangling)
        .expect("symlink");
    let arg = dangling.to_str().expect("utf-8");
    assert_refused(listen(&["--token-file", arg], None), "already exists");
    assert!(!dir.path().join("created-through-link").exists());
}

#[test]
fn tokens_too_short_or_too_long_are_refused() {
    assert_refused(listen(&[], Some("x")), "at least 16 bytes");
    assert_refused(listen(&[], Some("0123456789abcde")), "at least 16 bytes");
    let long = "t".repeat(257);
    assert_refused(listen(&[], Some(&long)), "at most 256 bytes");
}

#[test]
fn a_new_token_file_is_private_and_works() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("token");
    let mut child = Command::new(env!("CARGO_BIN_EXE_toy-executor"))
        .args(["--listen", "127.0.0.1:0", "--token-file"])
        .arg(&path)
        .env_remove("TOY_EXECUTOR_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read");
    let addr = line.trim().strip_prefix("listening on ").expect("address");
    assert_eq!(mode(&path), 0o600);
    let token = std::fs::read_to_string(&path).expect("read");
    assert!(token.len() >= 32, "{token:?}");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_toy"));
    cmd.env("TOY_CACHE", "off")
        .env_remove("TOY_EXECUTOR_TOKEN")
        .args(["--connect", addr, "--echo", "--token-file"])
        .arg(&path);
    let output = finish_within(&mut cmd, b"6 * 7;\n", PROMPTLY).expect("served");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "Evaluated to 42.000000\n",
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Stopped the usual way, the listener takes its token file along, so that the
    // next start (which refuses an existing file) works.
    // SAFETY: signalling our own child, not yet reaped.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let status = child.wait().expect("ends");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(libc::SIGTERM));
    assert!(!path.exists(), "the token file outlived the listener");
}

#[test]
fn a_hello_of_another_protocol_version_is_refused_naming_both() {
    let executor = Executor::start(&[]);
    let mut stream = TcpStream::connect(&executor.addr).expect("connects");
    let auth = Message::Auth {
        token: executor.token.as_bytes().to_vec(),
    };
    let hello = Message::Hello {
        version: VERSION + 1,
        line_buffered: false,
    };
    let mut bytes = Vec::new();
    write_message(&mut bytes, 1, &auth).expect("encodes");
    write_message(&mut bytes, 2, &hello).expect("encodes");
    stream.write_all(&bytes).expect("write");
    let (_, reply) = wait_closed(&mut stream, PROMPTLY).expect("the executor hangs up");
    let expected = format!(
        "toy speaks protocol {}, this executor speaks {VERSION}",
        VERSION + 1
    );
    match frames(&reply).as_slice() {
        [Message::Failed(why)] => assert!(why.contains(&expected), "{why}"),
        other => panic!("expected one Failed, got {other:?}"),
    }
    executor.assert_serves("after a Hello of another version");
}

//! `toy` never hangs on its executor: a stopped executor gives the prompt back on
//! Ctrl-C (restarted, definitions kept), and an executor that never answers, over a
//! pipe or TCP, is a clear error within a bounded time.

mod common;

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::procs::{executor_of, wait_busy};
use common::tmux::{PLAIN, Term};

/// Far more than the handshake deadline (10 s) on a loaded machine, far less than
/// forever.
const BOUND: Duration = Duration::from_secs(45);

/// Whether a thread of `pid` is blocked in poll(2) or ppoll(2).
fn polling(pid: u32) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    tasks.flatten().any(|task| {
        let text = std::fs::read_to_string(task.path().join("syscall")).unwrap_or_default();
        matches!(text.split_whitespace().next(), Some("7" | "271"))
    })
}

/// Waits until a thread of `toy` sits in poll(2) (waiting for its executor) for 200 ms
/// on end: rustyline waits in read or select, never in poll.
fn wait_until_polling(pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut since = None;
    loop {
        let polling = polling(pid);
        match (polling, since) {
            (true, None) => since = Some(Instant::now()),
            (true, Some(t)) if t.elapsed() >= Duration::from_millis(200) => return,
            (false, _) => since = None,
            _ => {}
        }
        assert!(
            Instant::now() < deadline,
            "toy never waited for its executor"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn signal(pid: u32, sig: i32) {
    // SAFETY: signalling a process this test's child started.
    assert_eq!(unsafe { libc::kill(pid as i32, sig) }, 0, "kill {pid}");
}

/// Ctrl-C at `t`, then the restart report and the prompt within a bounded time.
fn interrupt_and_expect_restart(t: &mut Term) {
    let start = Instant::now();
    t.press(&["C-c"]);
    t.expect("did not respond to the interrupt within 2 s");
    t.expect("all definitions are kept");
    t.expect("toy> ");
    let took = start.elapsed();
    assert!(
        took < Duration::from_secs(15),
        "the prompt came back after {took:?}"
    );
}

#[test]
fn ctrl_c_brings_the_prompt_back_from_a_stopped_executor() {
    let mut t = Term::toy(&["--engine=remote"], PLAIN);
    t.expect("toy> ");
    let toy = t.pid();
    t.enter("def f(x) x * 2");
    t.expect("toy> ");
    t.enter("def spin(x) for i = 0, 1 in x");
    t.expect("toy> ");
    t.enter("f(21)");
    t.expect("Evaluated to 42.0");

    // Stopped while idle: the next evaluation waits for an answer that cannot come.
    let first = executor_of(toy, None);
    signal(first, libc::SIGSTOP);
    t.enter("f(1) + 1");
    t.expect("f(1) + 1");
    wait_until_polling(toy);
    interrupt_and_expect_restart(&mut t);
    t.enter("f(4)");
    // A function defined before still works.
    t.expect("Evaluated to 8.0");

    // Stopped while running code: the forwarded Ctrl-C cannot be acted on.
    let second = executor_of(toy, Some(first));
    t.enter("spin(1)");
    wait_busy(second);
    signal(second, libc::SIGSTOP);
    interrupt_and_expect_restart(&mut t);
    t.enter("f(5)");
    // Definitions kept again.
    t.expect("Evaluated to 10.0");
    t.quit();
}

/// Runs `toy` with `input` on stdin until it exits, at most [`BOUND`] (else kills it
/// and fails); its exit code and stderr.
fn run_bounded(cmd: &mut Command, input: &str) -> (Option<i32>, String) {
    // A file, not a pipe: a hung executor would hold a pipe open after `toy` is gone.
    let err = tempfile::NamedTempFile::new().expect("temp file");
    let mut child: Child = cmd
        .env("TOY_CACHE", "off")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(err.reopen().expect("reopen"))
        .spawn()
        .expect("toy starts");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        let _ = stdin.write_all(input.as_bytes());
    }
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > BOUND {
            let _ = child.kill();
            let _ = child.wait();
            panic!("toy still running after {BOUND:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    err.reopen()
        .expect("reopen")
        .read_to_string(&mut stderr)
        .expect("read stderr");
    (status.code(), stderr)
}

#[test]
fn an_executor_that_never_answers_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mute = dir.path().join("mute-executor");
    std::fs::write(&mute, "#!/bin/sh\nexec sleep 1000\n").expect("write");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&mute, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let (code, stderr) = run_bounded(
        Command::new(env!("CARGO_BIN_EXE_toy"))
            .arg("--engine=remote")
            .env("TOY_EXECUTOR", &mute),
        "1 + 1;\n",
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("executor did not answer Hello"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_silent_tcp_peer_is_a_clear_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address").to_string();
    // Accepts, reads whatever comes, never answers; ends when `toy` hangs up.
    let peer = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("accept");
        let mut sink = Vec::new();
        let _ = stream.read_to_end(&mut sink);
    });
    let (code, stderr) = run_bounded(
        Command::new(env!("CARGO_BIN_EXE_toy"))
            .args(["--connect", &addr])
            .env("TOY_EXECUTOR_TOKEN", "a-secret-of-24-bytes-ok"),
        "1 + 1;\n",
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("executor did not answer Hello"), "{stderr}");
    assert!(stderr.contains(&addr), "names the peer: {stderr}");
    peer.join().expect("the peer saw the connection close");
}

//! The remote executor: crashes, authentication, malformed frames, and the executor
//! binary's independence from LLVM. (The whole suite also runs on `remote` and `tcp`,
//! see `common::ENGINES`.)

mod common;

use std::io::Write;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use common::Listener;
use common::procs::{executor_of, wait_busy};

/// `toy --engine=remote` with piped stdio.
fn spawn_toy(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_toy"))
        .env("TOY_CACHE", "off")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("toy starts")
}

fn send(stdin: &mut ChildStdin, text: &str) {
    stdin.write_all(text.as_bytes()).expect("write");
    stdin.flush().expect("flush");
}

#[test]
fn a_crashed_executor_is_reported_and_replaced_with_definitions_kept() {
    let mut toy = spawn_toy(&["--engine=remote", "--echo"]);
    let mut stdin = toy.stdin.take().expect("stdin");
    send(
        &mut stdin,
        "def f(x) x * 2;\nf(4);\ndef spin(x) for i = 0, 1 in x;\nspin(1);\n",
    );
    let first = executor_of(toy.id(), None);
    wait_busy(first);
    // SAFETY: signalling a child process of the test's child.
    unsafe { libc::kill(first as i32, libc::SIGSEGV) };
    send(&mut stdin, "f(5);\nspin(2);\n");
    let second = loop {
        let pid = executor_of(toy.id(), None);
        if pid != first {
            break pid;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    wait_busy(second);
    // SAFETY: as above.
    unsafe { libc::kill(second as i32, libc::SIGKILL) };
    send(&mut stdin, "f(6);\n");
    drop(stdin);
    let output = toy.wait_with_output().expect("toy ends");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stdout, "Evaluated to 8.000000\nEvaluated to 10.000000\nEvaluated to 12.000000\n",
        "{stderr}"
    );
    assert!(
        stderr.contains("executor terminated by signal 11 (SIGSEGV) while evaluating"),
        "{stderr}"
    );
    assert!(
        stderr.contains("executor terminated by signal 9 (SIGKILL) while evaluating"),
        "{stderr}"
    );
    assert!(
        stderr.contains("<stdin>:4:1"),
        "points at spin(1): {stderr}"
    );
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn stack_overflow_in_the_executor_is_an_error_not_a_crash() {
    let (status, stdout, stderr) = common::Engine::new("remote").run(
        &["--echo"],
        "def inf(x) 1 + inf(x + 1);\ndef ok(x) x;\ninf(0);\nok(3);\n",
    );
    assert_eq!(stdout, "Evaluated to 3.000000\n");
    assert!(stderr.contains("stack overflow"), "{stderr}");
    assert!(!stderr.contains("terminated"), "{stderr}");
    assert_eq!(status, 1);
}

#[test]
fn tcp_connections_need_the_token() {
    let listener = Listener::start();
    for (token, why) in [
        ("a-wrong-token-of-the-right-length", "a wrong token"),
        ("", "no token"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_toy"))
            .env("TOY_CACHE", "off")
            .args(["--connect", &listener.addr])
            .env("TOY_EXECUTOR_TOKEN", token)
            .stdin(Stdio::null())
            .output()
            .expect("toy runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{why}: {stderr}");
        let expected = if token.is_empty() {
            "needs a token"
        } else {
            "authentication failed"
        };
        assert!(stderr.contains(expected), "{why}: {stderr}");
    }
    // The listener is still there for the right token.
    let (status, stdout, stderr) = common::Engine::new("tcp").run(&["--echo"], "6 * 7;\n");
    assert_eq!(
        (status, stdout.as_str()),
        (0, "Evaluated to 42.000000\n"),
        "{stderr}"
    );
}

#[test]
fn listeners_refuse_non_loopback_addresses_unless_allowed() {
    let output = Command::new(env!("CARGO_BIN_EXE_toy-executor"))
        .args(["--listen", "0.0.0.0:0"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--allow-remote"));
}

#[test]
fn a_garbled_executor_is_a_protocol_error_in_toy() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fake = dir.path().join("fake-executor");
    std::fs::write(
        &fake,
        "#!/bin/sh\nprintf 'this is not a frame at all'\ncat > /dev/null\n",
    )
    .expect("write");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let output = Command::new(env!("CARGO_BIN_EXE_toy"))
        .env("TOY_CACHE", "off")
        .args(["--engine=remote"])
        .env("TOY_EXECUTOR", &fake)
        .stdin(Stdio::null())
        .output()
        .expect("toy runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("executor broke the protocol"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Whether the binary at `path` contains LLVM (linked statically, or dynamically).
fn has_llvm(path: &str) -> bool {
    use object::{Object, ObjectSymbol};
    let bytes = std::fs::read(path).expect("read binary");
    let file = object::File::parse(&*bytes).expect("an ELF file");
    let llvm = |name: &str| name.contains("LLVMContextCreate");
    file.symbols().any(|s| s.name().is_ok_and(llvm))
        || file.dynamic_symbols().any(|s| s.name().is_ok_and(llvm))
}

#[test]
fn the_executor_binary_does_not_link_llvm() {
    let output = Command::new("ldd")
        .arg(env!("CARGO_BIN_EXE_toy-executor"))
        .output()
        .expect("ldd runs");
    let libs = String::from_utf8_lossy(&output.stdout);
    assert!(libs.contains("libc.so"), "{libs}");
    assert!(!libs.to_lowercase().contains("llvm"), "{libs}");
    assert!(!has_llvm(env!("CARGO_BIN_EXE_toy-executor")));
    // The check itself works: toy has LLVM (statically linked: see tools/llvm).
    assert!(has_llvm(env!("CARGO_BIN_EXE_toy")));
}

#[test]
fn the_executor_does_not_outlive_toy_even_in_an_endless_loop() {
    let mut toy = spawn_toy(&["--engine=remote"]);
    let mut stdin = toy.stdin.take().expect("stdin");
    send(&mut stdin, "def spin(x) for i = 0, 1 in x;\nspin(1);\n");
    let executor = executor_of(toy.id(), None);
    wait_busy(executor);
    toy.kill().expect("kill toy");
    toy.wait().expect("reaped");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{executor}/stat")).unwrap_or_default();
        // Gone, or a zombie waiting for init to reap it.
        if stat.is_empty()
            || stat
                .rsplit(')')
                .next()
                .is_some_and(|s| s.trim_start().starts_with('Z'))
        {
            break;
        }
        assert!(Instant::now() < deadline, "the executor is still running");
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(stdin);
}

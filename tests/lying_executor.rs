//! An executor that lies: `toy --connect` to a fake executor in this test, which speaks
//! the protocol (`toy_shared::wire`) faithfully except for one lie per case.
//! Each lie is a protocol error and exit status 1 in `toy`, never a panic (101).

use std::io::{BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use toy_shared::wire::{Message, ProtocolError, RunResult, VERSION, read_message, write_message};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Lie {
    /// None at all: the fake is good enough to run the program.
    Honest,
    /// `Resolve` for an id beyond every stub `toy` created.
    UnknownId,
    /// `Resolve` for an id in a stub chunk, but of no function.
    UndefinedId,
    /// A `Welcome` for another protocol version.
    WrongVersion,
    /// A `Welcome` for another target.
    WrongTriple,
    /// A `Welcome` with another page size.
    WrongPageSize,
    /// `Reserve` answered with an address outside the executor's JIT memory.
    AddressOutside,
    /// `Reserve` answered with a misaligned address.
    Misaligned,
    /// `Reserve` answered with a block overlapping one reserved before.
    Overlapping,
    /// `LookupExterns` answered with more entries than names asked for.
    ExtraExterns,
    /// An answer to a request never made.
    Unrequested,
    /// `Finished` for a `Run` never sent.
    FinishedUnasked,
}

/// Where the fake pretends its JIT memory starts.
const BASE: u64 = 0x7f00_0000_0000;

fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as u64 }
}

/// Serves one connection, lying as `lie` says; ends when `toy` hangs up.
fn serve(stream: TcpStream, lie: Lie) -> Result<(), ProtocolError> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    let mut next = BASE + 4096;
    let mut run = 0;
    loop {
        let (seq, message) = read_message(&mut reader)?;
        let mut reserve = |size: u64, align: u64| {
            let addr = next.next_multiple_of(align.max(16));
            next = addr + size;
            addr
        };
        let reply = match message {
            Message::Auth { .. } => continue,
            Message::Hello { .. } => Message::Welcome {
                version: match lie {
                    Lie::WrongVersion => VERSION + 1,
                    _ => VERSION,
                },
                triple: match lie {
                    Lie::WrongTriple => "aarch64-unknown-linux-gnu".into(),
                    _ => "x86_64-pc-linux-gnu".into(),
                },
                page_size: match lie {
                    Lie::WrongPageSize => page_size() * 16,
                    _ => page_size(),
                },
                resolver: BASE,
                base: BASE,
                pid: std::process::id(),
            },
            Message::Reserve { size, align } => {
                let addr = match lie {
                    Lie::AddressOutside => 0x1000,
                    Lie::Misaligned => reserve(size + 1, align) + 1,
                    Lie::Overlapping => BASE + 4096,
                    _ => reserve(size, align),
                };
                if lie == Lie::Unrequested {
                    let stray = Message::Address { addr, in_use: 0 };
                    write_message(&mut writer, seq + 1000, &stray)?;
                }
                Message::Address { addr, in_use: 0 }
            }
            Message::CreateStubs { .. } => Message::Address {
                addr: reserve(64 * 32 + 16, 16),
                in_use: 0,
            },
            Message::Batch(_) => Message::Done { in_use: 0 },
            Message::LookupExterns(names) => {
                let extra = usize::from(lie == Lie::ExtraExterns);
                Message::Externs(vec![Some((BASE, Some(1))); names.len() + extra])
            }
            Message::LookupSymbols(names) => Message::Symbols(vec![Some(BASE); names.len()]),
            Message::Run { .. } => {
                run = seq;
                match lie {
                    Lie::UnknownId => {
                        write_message(&mut writer, 1 << 31, &Message::Resolve { id: 1 << 20 })?;
                        writer.flush()?;
                        continue;
                    }
                    Lie::UndefinedId => {
                        write_message(&mut writer, 1 << 31, &Message::Resolve { id: 63 })?;
                        writer.flush()?;
                        continue;
                    }
                    _ => Message::Finished(RunResult::Value(0.0)),
                }
            }
            Message::Resolved { .. } => {
                write_message(&mut writer, run, &Message::Finished(RunResult::Value(0.0)))?;
                writer.flush()?;
                continue;
            }
            other => Message::Failed(format!("unexpected {}", other.name())),
        };
        if lie == Lie::FinishedUnasked && matches!(reply, Message::Address { .. }) {
            write_message(&mut writer, seq, &Message::Finished(RunResult::Value(1.0)))?;
        } else {
            write_message(&mut writer, seq, &reply)?;
        }
        writer.flush()?;
    }
}

/// Runs `toy --connect` against a fake executor lying as `lie`; exit code, stdout,
/// stderr.
fn run(lie: Lie) -> (Option<i32>, String, String) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address").to_string();
    let fake = std::thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        // One connection only: a reconnect after the lie is refused.
        drop(listener);
        let _ = serve(stream, lie);
    });
    let mut toy = Command::new(env!("CARGO_BIN_EXE_toy"))
        .env("TOY_CACHE", "off")
        .env("TOY_EXECUTOR_TOKEN", "a-secret-of-24-bytes-ok")
        .args(["--connect", &addr, "--echo"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("toy starts");
    let program = "extern sin(x);\nfor i = 0, i < 1 in sin(i);\n";
    let _ = toy
        .stdin
        .take()
        .expect("stdin")
        .write_all(program.as_bytes());
    let deadline = Instant::now() + Duration::from_secs(60);
    while toy.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = toy.kill();
            panic!("{lie:?}: toy hangs");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = toy.wait_with_output().expect("output");
    fake.join().expect("the fake ends");
    let mut stdout = String::new();
    let mut stderr = String::new();
    output.stdout.as_slice().read_to_string(&mut stdout).ok();
    output.stderr.as_slice().read_to_string(&mut stderr).ok();
    (output.status.code(), stdout, stderr)
}

/// `toy` exits 1 with a protocol error that mentions `what`.
fn refused(lie: Lie, what: &str) {
    let (code, _, stderr) = run(lie);
    assert!(!stderr.contains("panicked"), "{lie:?}: {stderr}");
    assert_eq!(code, Some(1), "{lie:?}: {stderr}");
    assert!(stderr.contains("protocol"), "{lie:?}: {stderr}");
    assert!(
        stderr.contains(what),
        "{lie:?}: expected {what:?} in {stderr}"
    );
}

#[test]
fn the_fake_executor_runs_the_program_when_it_does_not_lie() {
    let (code, stdout, stderr) = run(Lie::Honest);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout, "Evaluated to 0.000000\n");
}

#[test]
fn a_resolve_for_an_id_toy_never_created_is_refused() {
    refused(Lie::UnknownId, "function id 1048576");
}

#[test]
fn a_resolve_for_a_stub_of_no_function_is_refused() {
    refused(Lie::UndefinedId, "function id 63");
}

#[test]
fn a_welcome_for_another_protocol_version_is_refused_naming_both() {
    refused(
        Lie::WrongVersion,
        &format!("speaks protocol {}, toy speaks {VERSION}", VERSION + 1),
    );
}

#[test]
fn a_welcome_for_another_target_is_refused_naming_both() {
    refused(
        Lie::WrongTriple,
        "runs aarch64-unknown-linux-gnu code, but toy compiles for x86_64-",
    );
}

#[test]
fn a_welcome_with_another_page_size_is_refused_naming_both() {
    refused(
        Lie::WrongPageSize,
        &format!(
            "page size {} is not this machine's {}",
            page_size() * 16,
            page_size()
        ),
    );
}

#[test]
fn an_address_outside_jit_memory_is_refused() {
    refused(Lie::AddressOutside, "outside");
}

#[test]
fn a_misaligned_address_is_refused() {
    refused(Lie::Misaligned, "aligned");
}

#[test]
fn a_block_overlapping_another_is_refused() {
    refused(Lie::Overlapping, "overlaps");
}

#[test]
fn more_answers_than_questions_are_refused() {
    refused(Lie::ExtraExterns, "2 answers to 1");
}

#[test]
fn an_answer_to_a_request_never_made_is_refused() {
    refused(Lie::Unrequested, "never made");
}

#[test]
fn a_finished_run_that_was_never_started_is_refused() {
    refused(Lie::FinishedUnasked, "Finished");
}

//! How an executor process ended, from its exit status.

use std::os::unix::process::ExitStatusExt;
use std::process::Child;
use std::time::Duration;

use toy_shared::Termination;

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

/// How `child`, whose pipe just closed, ended (reaping it, killed if it lingers).
pub fn how_it_ended(child: &mut Child) -> Termination {
    // The pipe closed; the process may take a moment to be reapable.
    let mut status = None;
    for _ in 0..100 {
        match child.try_wait() {
            Ok(Some(s)) => {
                status = Some(s);
                break;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(_) => break,
        }
    }
    let status = match status {
        Some(s) => s,
        None => {
            let _ = child.kill();
            match child.wait() {
                Ok(s) => s,
                Err(e) => return Termination::Lost(e.into()),
            }
        }
    };
    match (status.signal(), status.code()) {
        (Some(number), _) => Termination::Signaled {
            number,
            name: signal_name(number),
        },
        (None, Some(code)) => Termination::Exited(code),
        _ => Termination::Ended,
    }
}

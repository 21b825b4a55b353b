//! How an executor process ended, in words.

use std::os::unix::process::ExitStatusExt;
use std::process::Child;
use std::time::Duration;

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
pub fn how_it_ended(child: &mut Child) -> String {
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
                Err(e) => return format!("lost ({e})"),
            }
        }
    };
    match (status.signal(), status.code()) {
        (Some(sig), _) => format!("terminated by signal {sig} ({})", signal_name(sig)),
        (None, Some(code)) => format!("exited with status {code}"),
        _ => "ended".into(),
    }
}

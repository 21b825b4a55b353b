//! `toy` reading piped input one item at a time, as a program driving it would: each
//! item's output is read before the next item is sent.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A running `toy` with piped standard streams.
pub struct Piped {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr: Arc<Mutex<String>>,
}

impl Piped {
    /// Starts `toy` with `args` (and the tests' hermetic environment).
    pub fn start(args: &[&str]) -> Piped {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_toy"));
        cmd.args(args)
            .env_remove("NO_COLOR")
            .env("TOY_CACHE", "off")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("toy starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (send, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err = child.stderr.take().expect("piped stderr");
        let collected = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n) = err.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                let text = String::from_utf8_lossy(&chunk[..n]).into_owned();
                collected.lock().expect("stderr lock").push_str(&text);
            }
        });
        let stdin = child.stdin.take();
        Piped {
            child,
            stdin,
            lines,
            stderr,
        }
    }

    /// Sends `text` (a line or more) to toy's standard input.
    pub fn send(&mut self, text: &str) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        stdin
            .write_all(text.as_bytes())
            .expect("toy reads its input");
        stdin.flush().expect("flush");
    }

    /// The next line of toy's standard output, waiting at most `timeout`.
    pub fn line(&self, timeout: Duration) -> String {
        match self.lines.recv_timeout(timeout) {
            Ok(line) => line,
            Err(RecvTimeoutError::Timeout) => panic!(
                "no line of output within {timeout:?}; stderr so far:\n{}",
                self.stderr()
            ),
            Err(RecvTimeoutError::Disconnected) => {
                panic!("toy closed its output; stderr:\n{}", self.stderr())
            }
        }
    }

    /// What toy has written to standard error so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().expect("stderr lock").clone()
    }

    /// Closes toy's input and waits for it: its exit status.
    pub fn finish(mut self) -> i32 {
        drop(self.stdin.take());
        let status = self.child.wait().expect("toy exits");
        status.code().unwrap_or(-1)
    }
}

impl Drop for Piped {
    fn drop(&mut self) {
        // A failed test must not leave toy running.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

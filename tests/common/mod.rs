//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod corpus;
pub mod piped;
pub mod procs;
pub mod programs;
pub mod styled;
pub mod tmux;

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// Every engine; each must give the same output. `tcp` is the remote engine talking
/// to a `toy-executor --listen` on loopback.
pub const ENGINES: &[&str] = &["interp", "eager", "lazy", "remote", "tcp"];

/// A `toy-executor --listen` on loopback, stopped when dropped.
pub struct Listener {
    child: std::process::Child,
    /// Its `HOST:PORT`.
    pub addr: String,
    /// Its token.
    pub token: String,
}

impl Listener {
    /// Starts one on a free port.
    pub fn start() -> Listener {
        Listener::start_with(&[])
    }

    /// Starts one on a free port, with more arguments (`--auth-timeout 3`, ...).
    pub fn start_with(args: &[&str]) -> Listener {
        use std::io::BufRead;
        let token = format!("test-token-{:08}", std::process::id());
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_toy-executor"))
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .env("TOY_EXECUTOR_TOKEN", &token)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("toy-executor starts");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the listener reports its address");
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        Listener { child, addr, token }
    }
}

impl Listener {
    /// The listener's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How to run `toy` on one engine of [`ENGINES`].
pub struct Engine {
    args: Vec<String>,
    listener: Option<Listener>,
}

impl Engine {
    /// The engine called `name` in [`ENGINES`].
    pub fn new(name: &str) -> Engine {
        if name == "tcp" {
            let listener = Listener::start();
            return Engine {
                args: vec!["--connect".into(), listener.addr.clone()],
                listener: Some(listener),
            };
        }
        Engine {
            args: vec![format!("--engine={name}")],
            listener: None,
        }
    }

    /// A `toy` command on this engine.
    pub fn toy(&self) -> Command {
        let mut cmd = toy();
        cmd.args(&self.args);
        if let Some(listener) = &self.listener {
            cmd.env("TOY_EXECUTOR_TOKEN", &listener.token);
        }
        cmd
    }

    /// Runs `toy` on this engine with `args` and `stdin`; returns (status, stdout,
    /// stderr).
    pub fn run(&self, args: &[&str], stdin: &str) -> (i32, String, String) {
        outcome(self.toy().args(args).write_stdin(stdin))
    }
}

/// The built `toy` binary, with a clean environment for diagnostics.
pub fn toy() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_toy"));
    cmd.env_remove("NO_COLOR");
    // Hermetic: what earlier runs cached must not stand in for compiling (tests of the
    // cache pass their own directory).
    cmd.env("TOY_CACHE", "off");
    cmd
}

/// A path relative to the repository root.
pub fn root(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// The `.ks` files in a directory, sorted.
pub fn ks_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root(dir))
        .unwrap_or_else(|e| panic!("cannot read {dir}: {e}"))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "ks"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .ks files in {dir}");
    files
}

/// Runs `toy` with `args` and `stdin`; returns (status, stdout, stderr).
pub fn run(args: &[&str], stdin: &str) -> (i32, String, String) {
    outcome(toy().args(args).write_stdin(stdin))
}

/// Runs a prepared command; returns (status, stdout, stderr).
pub fn outcome(cmd: &mut Command) -> (i32, String, String) {
    let output = cmd.output().expect("toy runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A temporary `.ks` file holding `text`.
pub fn ks_file(text: &str) -> tempfile::NamedTempFile {
    use std::io::Write;
    let mut f = tempfile::Builder::new()
        .suffix(".ks")
        .tempfile()
        .expect("temp file");
    f.write_all(text.as_bytes()).expect("write");
    f
}

//! A real terminal for the REPL tests: `toy` runs in a private tmux server (its own
//! socket in a temporary directory, a 120×40 window, a clean environment), keys go in
//! through `send-keys`, and the screen comes back through `capture-pane`, with its
//! colours when asked. Every wait polls the screen until a condition holds or a
//! deadline passes; the server is killed on drop.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use super::styled::Styled;

/// How long a condition may take to hold on a busy machine.
const TIMEOUT: Duration = Duration::from_secs(30);
/// How often the screen is read while waiting.
const POLL: Duration = Duration::from_millis(25);

/// Environment for a REPL without colours (`NO_COLOR`).
pub const PLAIN: &[(&str, &str)] = &[("NO_COLOR", "1")];
/// Environment for a REPL with colours: none added (the clean environment has no
/// `NO_COLOR`).
pub const COLOURED: &[(&str, &str)] = &[];

/// A program running in its own tmux server. [`Term::expect`] reads the pane's text
/// as a stream, as `expect(1)` does: each expectation consumes the text up to what it
/// found, so the same prompt is waited for again after each command.
pub struct Term {
    /// Holds the socket and the server's configuration.
    dir: tempfile::TempDir,
    /// `HOME` and `XDG_STATE_HOME` of the program, when the terminal made it.
    own_home: Option<tempfile::TempDir>,
    home: PathBuf,
    /// How much of the screen's text the expectations have consumed.
    seen: usize,
}

impl Term {
    /// Starts `toy ARGS` with a fresh home (history and state in a temporary directory).
    pub fn toy(args: &[&str], env: &[(&str, &str)]) -> Term {
        let home = tempfile::tempdir().expect("temp dir");
        let mut term = Term::toy_in(home.path(), args, env);
        term.own_home = Some(home);
        term
    }

    /// Starts `toy ARGS` with `home` as its `HOME` and `XDG_STATE_HOME` (so two runs
    /// can share a history file).
    pub fn toy_in(home: &Path, args: &[&str], env: &[(&str, &str)]) -> Term {
        let mut argv = vec![env!("CARGO_BIN_EXE_toy")];
        argv.extend_from_slice(args);
        Term::start(home, &argv, env)
    }

    /// Starts `argv` (run directly, no shell) with `home` as its `HOME` and
    /// `XDG_STATE_HOME`, `TOY_CACHE=off`, `PATH`, and `env`; nothing else of the test's
    /// environment. The pane stays after the program ends, so its exit status and last
    /// words can be read.
    pub fn start(home: &Path, argv: &[&str], env: &[(&str, &str)]) -> Term {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("tmux.conf");
        std::fs::write(
            &config,
            "set -g remain-on-exit on\nset -g history-limit 100000\nset -g status off\n",
        )
        .expect("write tmux.conf");
        let term = Term {
            dir,
            own_home: None,
            home: home.to_path_buf(),
            seen: 0,
        };
        let mut cmd = term.tmux_command();
        cmd.arg("-f")
            .arg(&config)
            .args(["new-session", "-d", "-x", "120", "-y", "40", "--"])
            .args(argv)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home)
            .env("XDG_STATE_HOME", home)
            .env("TOY_CACHE", "off")
            .env("LANG", "C.UTF-8")
            .envs(env.iter().copied());
        run(&mut cmd);
        term
    }

    /// The program's `HOME`.
    pub fn home(&self) -> &Path {
        &self.home
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("socket")
    }

    fn tmux_command(&self) -> Command {
        let mut cmd = Command::new("tmux");
        cmd.arg("-S").arg(self.socket());
        cmd
    }

    fn tmux(&self, args: &[&str]) -> String {
        let output = run(self.tmux_command().args(args));
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Types `text` literally (no key names).
    pub fn type_text(&self, text: &str) {
        // tmux reads an argument's last `;` as the end of a command (and drops it)
        // unless it is escaped.
        let text = match text.strip_suffix(';') {
            Some(rest) => format!("{rest}\\;"),
            None => text.to_string(),
        };
        self.tmux(&["send-keys", "-l", "--", &text]);
    }

    /// Presses the keys named by tmux (`Enter`, `Tab`, `C-c`, `C-d`, `Up`, `Right`).
    pub fn press(&self, keys: &[&str]) {
        let mut args = vec!["send-keys"];
        args.extend_from_slice(keys);
        self.tmux(&args);
    }

    /// Types `text` and presses Enter.
    pub fn enter(&self, text: &str) {
        self.type_text(text);
        self.press(&["Enter"]);
    }

    /// The whole text of the pane (scroll-back and screen), wrapped lines joined,
    /// blank lines at the bottom left out.
    pub fn text(&self) -> String {
        let text = self.tmux(&["capture-pane", "-p", "-J", "-S", "-"]);
        let mut text = text.trim_end_matches('\n').to_string();
        text.push('\n');
        text
    }

    /// Waits until `needle` appears after what earlier expectations consumed; consumes
    /// up to its end and returns the text from the previous position to there.
    pub fn expect(&mut self, needle: &str) -> String {
        let mut text = String::new();
        let found = self.wait(&format!("{needle:?}"), || {
            text = self.text();
            text.get(self.seen..)
                .and_then(|rest| rest.find(needle))
                .is_some()
        });
        debug_assert!(found);
        let start = self.seen;
        let at = start + text[start..].find(needle).expect("found");
        self.seen = at + needle.len();
        text[start..self.seen].to_string()
    }

    /// Waits until `done` holds for the screen's text, then returns that text.
    pub fn wait_text(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        let mut text = String::new();
        self.wait(what, || {
            text = self.text();
            done(&text)
        });
        text
    }

    /// Waits until `done` holds for the visible screen with its colours.
    pub fn wait_styled(&self, what: &str, done: impl Fn(&Styled) -> bool) -> Styled {
        let mut screen = Styled::default();
        self.wait(what, || {
            screen = Styled::parse(&self.raw_escapes());
            done(&screen)
        });
        screen
    }

    /// The whole pane with its escape codes as tmux renders them.
    pub fn raw_escapes(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-e", "-J", "-S", "-"])
    }

    /// Polls `done` until it holds; past the deadline, fails with the screen.
    fn wait(&self, what: &str, mut done: impl FnMut() -> bool) -> bool {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if done() {
                return true;
            }
            if Instant::now() > deadline {
                panic!(
                    "waited {TIMEOUT:?} for {what}; the terminal shows (consumed up to byte {}):\n{}\n\
                     processes on it:\n{}",
                    self.seen,
                    self.text(),
                    self.processes()
                );
            }
            std::thread::sleep(POLL);
        }
    }

    /// The pane's program and its children, with their states, for a failure's
    /// message.
    fn processes(&self) -> String {
        let pid = self.tmux(&["display-message", "-p", "#{pane_pid} #{pane_dead}"]);
        let mut shown = format!("pane pid, dead: {pid}");
        let mut pids: Vec<String> = pid.split_whitespace().take(1).map(str::to_string).collect();
        while let Some(pid) = pids.pop() {
            let proc = |file: &str| {
                std::fs::read_to_string(format!("/proc/{pid}/{file}")).unwrap_or_default()
            };
            let state = proc("status");
            let state = state
                .lines()
                .find(|l| l.starts_with("State:"))
                .unwrap_or("gone");
            let args = proc("cmdline").replace('\0', " ");
            let threads: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/task"))
                .into_iter()
                .flatten()
                .flatten()
                .map(|task| {
                    let wchan = std::fs::read_to_string(task.path().join("wchan"));
                    let syscall = std::fs::read_to_string(task.path().join("syscall"));
                    let children = std::fs::read_to_string(task.path().join("children"));
                    pids.extend(
                        children
                            .unwrap_or_default()
                            .split_whitespace()
                            .map(str::to_string),
                    );
                    format!(
                        "{}: {} / {}",
                        task.file_name().to_string_lossy(),
                        wchan.unwrap_or_default(),
                        syscall
                            .unwrap_or_default()
                            .split_whitespace()
                            .next()
                            .unwrap_or("")
                    )
                })
                .collect();
            shown += &format!("{pid} {state} {args}\n  threads (wchan / syscall): {threads:?}\n");
        }
        shown
    }

    /// The process id of the program in the pane.
    pub fn pid(&self) -> u32 {
        let pid = self.tmux(&["display-message", "-p", "#{pane_pid}"]);
        pid.trim().parse().expect("a pane pid")
    }

    /// Waits until the program has ended; its exit status.
    pub fn wait_exit(&self) -> i32 {
        // The pane is dead when its terminal closes; its status comes when tmux has
        // reaped the process, on SIGCHLD. Under load tmux 3.3 was seen to miss that
        // signal and leave the program a zombie for good: a dead pane without a status
        // gets the server another SIGCHLD (it then reaps every ended child).
        let ended = "#{pane_dead}:#{pane_dead_status}:#{pane_dead_signal}:#{pid}";
        let mut status = String::new();
        self.wait("the program to end", || {
            status = self.tmux(&["display-message", "-p", ended]);
            let fields: Vec<&str> = status.trim().split(':').collect();
            let dead = fields[0] == "1";
            let known = !fields[1].is_empty() || !fields[2].is_empty();
            if dead && !known {
                let server: i32 = fields[3].parse().expect("the server's pid");
                // SAFETY: a signal to the test's own tmux server, which handles it.
                unsafe { libc::kill(server, libc::SIGCHLD) };
            }
            dead && known
        });
        let fields: Vec<&str> = status.trim().split(':').collect();
        fields[1]
            .parse()
            .unwrap_or_else(|_| panic!("ended by signal {}, not an exit", fields[2]))
    }

    /// Presses Ctrl-D at an empty prompt and expects `toy` to end with status 0.
    pub fn quit(self) {
        self.press(&["C-d"]);
        assert_eq!(self.wait_exit(), 0, "{}", self.text());
    }
}

impl Drop for Term {
    fn drop(&mut self) {
        let _ = self.tmux_command().arg("kill-server").output();
    }
}

/// Runs a tmux command; fails the test clearly if tmux is missing or refuses.
fn run(cmd: &mut Command) -> Output {
    let output = match cmd.output() {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "tmux is not installed: the REPL tests drive `toy` on a real terminal through \
             it. Install it (`apt-get install tmux`; `.ci/run` does)."
        ),
        Err(e) => panic!("cannot run tmux: {e}"),
    };
    assert!(
        output.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// `toy ARGS` at its first prompt, without colours.
pub fn plain(args: &[&str]) -> Term {
    at_prompt(Term::toy(args, PLAIN))
}

/// `term` once its first prompt is out.
pub fn at_prompt(mut term: Term) -> Term {
    term.expect("toy> ");
    term
}

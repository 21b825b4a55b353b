//! The interactive REPL, driven through a pseudo-terminal as a person would use it.

use std::process::Command;

use rexpect::session::{PtySession, spawn_command};

mod common;

const TIMEOUT_MS: u64 = 20_000;

/// Starts `toy` on a terminal with its history in `state`.
fn start(state: &std::path::Path, no_color: bool) -> PtySession {
    start_with(state, no_color, &[])
}

fn start_with(state: &std::path::Path, no_color: bool, args: &[&str]) -> PtySession {
    start_env(state, no_color, args, &[])
}

fn start_env(
    state: &std::path::Path,
    no_color: bool,
    args: &[&str],
    env: &[(&str, &str)],
) -> PtySession {
    start_showing(state, no_color, args, env).0
}

/// Starts `toy` as [`start_env`] does; also gives what it wrote before its first prompt.
fn start_showing(
    state: &std::path::Path,
    no_color: bool,
    args: &[&str],
    env: &[(&str, &str)],
) -> (PtySession, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_toy"));
    cmd.env("TOY_CACHE", "off")
        .args(args)
        .envs(env.iter().copied());
    cmd.env("XDG_STATE_HOME", state).env("TERM", "xterm");
    if no_color {
        cmd.env("NO_COLOR", "1");
    } else {
        cmd.env_remove("NO_COLOR");
    }
    let mut p = spawn_command(cmd, Some(TIMEOUT_MS)).expect("toy starts on a pty");
    let before = p.exp_string("toy> ").expect("first prompt");
    (p, before)
}

/// Types `text` and presses Enter (a terminal sends `\r`).
fn enter(p: &mut PtySession, text: &str) {
    p.send(text).expect("send");
    p.send("\r").expect("send");
    p.flush().expect("flush");
}

fn quit(mut p: PtySession) {
    p.send_control('d').expect("Ctrl-D");
    p.exp_eof().expect("toy exits on Ctrl-D");
    let status = p.process_mut().wait().expect("exit status");
    assert!(
        matches!(status, rexpect::process::WaitStatus::Exited(_, 0)),
        "{status:?}"
    );
}

#[test]
fn multi_line_definitions_evaluation_and_errors() {
    let state = tempfile::tempdir().expect("temp dir");
    let mut p = start(state.path(), true);
    enter(&mut p, "def fib(x)");
    p.exp_string("...> ").expect("continuation prompt");
    enter(&mut p, "if x < 3 then 1 else fib(x-1) + fib(x-2)");
    p.exp_string("toy> ").expect("prompt after the definition");
    enter(&mut p, "fib(20)");
    p.exp_string("Evaluated to 6765.0").expect("value");
    enter(&mut p, "fib(1, 2)");
    p.exp_string("`fib` takes 1 argument(s) but 2 were given")
        .expect("error");
    p.exp_string("<repl>:").expect("location");
    enter(&mut p, "2 * 21");
    p.exp_string("Evaluated to 42.0").expect("the REPL goes on");
    quit(p);
}

#[test]
fn ctrl_c_abandons_input_and_interrupts_evaluation() {
    // No flag: the REPL's default engine (remote).
    for engine in [
        &[][..],
        &["--engine=lazy"],
        &["--engine=eager"],
        &["--engine=interp"],
    ] {
        ctrl_c(engine, &[]);
    }
}

#[test]
fn ctrl_c_reaches_an_executor_over_tcp() {
    let listener = common::Listener::start();
    ctrl_c(
        &["--connect", &listener.addr],
        &[("TOY_EXECUTOR_TOKEN", &listener.token)],
    );
}

fn ctrl_c(args: &[&str], env: &[(&str, &str)]) {
    let state = tempfile::tempdir().expect("temp dir");
    let mut p = start_env(state.path(), true, args, env);
    p.send("1 + 2").expect("send");
    p.flush().expect("flush");
    p.exp_string("1 + 2").expect("echoed");
    p.send_control('c').expect("Ctrl-C");
    // The prompt is drawn by the next readline, after it has set up the terminal: what
    // is typed from here on reaches it.
    p.exp_string("toy> ").expect("fresh prompt");
    enter(&mut p, "3 * 3");
    p.exp_string("Evaluated to 9.0")
        .expect("only the new input ran");

    enter(
        &mut p,
        "extern putchard(c); extern printd(x); def binary : 1 (x y) y;",
    );
    p.exp_string("toy> ").expect("prompt");
    // Each prints a marker, then loops forever: once the marker is out, the evaluation
    // is running, and Ctrl-C must interrupt it.
    enter(&mut p, "def spin(x) printd(x) : for i = 0, 1 in x;");
    p.exp_string("toy> ").expect("prompt");
    enter(
        &mut p,
        "def chatty(x) printd(x + 123) : for i = 0, 1 in putchard(x);",
    );
    p.exp_string("toy> ").expect("prompt");
    enter(&mut p, "spin(42)");
    p.exp_string("42.000000").expect("spin is running");
    p.send_control('c').expect("Ctrl-C");
    p.exp_string("interrupted").expect("evaluation stopped");
    p.exp_string("toy> ").expect("back at the prompt");
    // The definition survived; interrupt it again, this time inside the runtime.
    enter(&mut p, "chatty(0) + 7");
    p.exp_string("123.000000").expect("chatty is running");
    p.send_control('c').expect("Ctrl-C");
    p.exp_string("interrupted").expect("stopped again");
    quit(p);
}

#[test]
fn a_failed_write_ends_the_repl_with_an_error() {
    // Input from the terminal, output to /dev/full: the banner cannot be written.
    let state = tempfile::tempdir().expect("temp dir");
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("exec '{}' >/dev/full", env!("CARGO_BIN_EXE_toy")))
        .env("TOY_CACHE", "off")
        .env("XDG_STATE_HOME", state.path())
        .env("TERM", "xterm")
        .env("NO_COLOR", "1");
    let mut p = spawn_command(cmd, Some(TIMEOUT_MS)).expect("toy starts on a pty");
    p.exp_string("cannot write program output: No space left on device")
        .expect("the error");
    p.exp_eof().expect("toy exits");
    let status = p.process_mut().wait().expect("exit status");
    assert!(
        matches!(status, rexpect::process::WaitStatus::Exited(_, 1)),
        "{status:?}"
    );
}

#[test]
fn tab_completes_functions_and_keywords() {
    let state = tempfile::tempdir().expect("temp dir");
    let mut p = start(state.path(), true);
    enter(&mut p, "def fibonacci(n) n * 3");
    p.exp_string("toy> ").expect("prompt");
    p.send("fibo\t").expect("send");
    p.flush().expect("flush");
    enter(&mut p, "(5)");
    p.exp_string("Evaluated to 15.0").expect("completed name");
    p.send("ext\t").expect("send");
    p.flush().expect("flush");
    enter(&mut p, " cos(x)");
    p.exp_string("toy> ").expect("prompt");
    enter(&mut p, "cos(0)");
    p.exp_string("Evaluated to 1.0").expect("completed keyword");
    quit(p);
}

#[test]
fn history_persists_across_sessions() {
    let state = tempfile::tempdir().expect("temp dir");
    let mut p = start(state.path(), true);
    enter(&mut p, "40 + 2");
    p.exp_string("Evaluated to 42.0").expect("value");
    quit(p);
    let history = std::fs::read_to_string(state.path().join("toy/history")).expect("history file");
    assert!(history.contains("40 + 2"), "{history}");

    let mut p = start(state.path(), true);
    p.send("\x1b[A").expect("Up arrow");
    p.send("\r").expect("Enter");
    p.flush().expect("flush");
    p.exp_string("Evaluated to 42.0")
        .expect("recalled entry ran");
    quit(p);
}

#[test]
fn repls_sharing_a_history_file_keep_each_others_entries() {
    let state = tempfile::tempdir().expect("temp dir");
    let mut a = start(state.path(), true);
    let mut b = start(state.path(), true);
    enter(&mut a, "1 + 1");
    a.exp_string("Evaluated to 2.0").expect("value");
    enter(&mut b, "2 + 2");
    b.exp_string("Evaluated to 4.0").expect("value");
    enter(&mut a, "3 + 3");
    a.exp_string("Evaluated to 6.0").expect("value");
    quit(a);
    quit(b);
    let history = std::fs::read_to_string(state.path().join("toy/history")).expect("history file");
    for entry in ["1 + 1", "2 + 2", "3 + 3"] {
        assert!(history.contains(entry), "{entry} is lost: {history}");
    }
}

#[test]
fn a_history_file_that_is_not_a_regular_file_is_skipped_with_a_warning() {
    let state = tempfile::tempdir().expect("temp dir");
    let dir = state.path().join("toy");
    std::fs::create_dir_all(&dir).expect("state dir");
    let history = dir.join("history");
    // A link to an endless device, then a FIFO (opening it for reading would wait for
    // a writer).
    std::os::unix::fs::symlink("/dev/zero", &history).expect("symlink");
    let mut fifo = false;
    loop {
        let (mut p, before) = start_showing(state.path(), true, &[], &[]);
        assert!(
            before.contains("is not a regular file; running without history"),
            "{before}"
        );
        enter(&mut p, "6 * 7");
        p.exp_string("Evaluated to 42.0").expect("the REPL works");
        quit(p);
        if fifo {
            break;
        }
        std::fs::remove_file(&history).expect("remove link");
        let made = Command::new("mkfifo")
            .arg(&history)
            .status()
            .expect("mkfifo");
        assert!(made.success());
        fifo = true;
    }
}

#[test]
fn commands_help_load_quit() {
    let state = tempfile::tempdir().expect("temp dir");
    let file = state.path().join("lib.ks");
    std::fs::write(&file, "def triple(x) x * 3;\n").expect("write");
    let mut p = start(state.path(), true);
    enter(&mut p, ":help");
    p.exp_string(":load FILE").expect("help text");
    enter(&mut p, &format!(":load {}", file.display()));
    p.exp_string("toy> ").expect("prompt");
    enter(&mut p, "triple(14)");
    p.exp_string("Evaluated to 42.0")
        .expect("loaded definition");
    enter(&mut p, ":load /dev/zero");
    p.exp_string("cannot read /dev/zero: larger than 64 MiB")
        .expect("a bounded read");
    enter(&mut p, ":frob");
    p.exp_string("unknown command :frob")
        .expect("unknown command");
    enter(&mut p, ":quit");
    p.exp_eof().expect(":quit exits");
}

#[test]
fn diagnostics_are_coloured_on_a_terminal_unless_no_color() {
    let state = tempfile::tempdir().expect("temp dir");
    let mut p = start(state.path(), false);
    enter(&mut p, "nope");
    let shown = p.exp_string("not in scope").expect("the error's label");
    assert!(shown.contains("unknown variable"), "{shown:?}");
    assert!(shown.contains("\x1b[31m"), "expected red: {shown:?}");
    quit(p);

    let mut p = start(state.path(), true);
    enter(&mut p, "nope");
    let shown = p.exp_string("not in scope").expect("the error's label");
    assert!(shown.contains("unknown variable"), "{shown:?}");
    let error = &shown[shown.find("Error").expect("an error")..];
    assert!(
        !error.contains("\x1b[3"),
        "no colour with NO_COLOR: {error:?}"
    );
    quit(p);
}

#[test]
fn stats_ir_and_asm_commands() {
    let state = tempfile::tempdir().expect("temp dir");
    let mut p = start(state.path(), true);
    enter(&mut p, "def twice(x) x * 2; def unused(x) x + 1;");
    p.exp_string("toy> ").expect("prompt");
    enter(&mut p, ":stats");
    p.exp_string("functions: 2 defined, 0 compiled")
        .expect("nothing compiled before a call");
    enter(&mut p, "twice(21)");
    p.exp_string("Evaluated to 42.0").expect("value");
    enter(&mut p, ":stats");
    p.exp_string("functions: 2 defined, 1 compiled")
        .expect("only the called function");
    p.exp_string("functions: 1 compiles in")
        .expect("compile time");
    p.exp_string("top-level expressions: 0 compiles")
        .expect("a call is not compiled");
    p.exp_string("interpreted (no loops; calls run compiled code): 1")
        .expect("the call was interpreted, twice ran compiled");
    p.exp_string("recompiled at tier 1: 0")
        .expect("nothing hot");
    p.exp_string("JIT memory:").expect("memory");
    enter(&mut p, "for i = 1, i < 3 in twice(i)");
    p.exp_string("Evaluated to 0.0").expect("value");
    enter(&mut p, ":stats");
    p.exp_string("top-level expressions: 1 compiles in")
        .expect("a loop is compiled");
    p.exp_string("interpreted (no loops; calls run compiled code): 1")
        .expect("still one interpreted");
    enter(&mut p, ":ir twice");
    p.exp_string("define double @twice(double %x)")
        .expect("the function's IR");
    // Optimized: the argument is used directly, not loaded from its stack slot.
    p.exp_string("fmul double %x, 2.000000e+00")
        .expect("optimized IR");
    enter(&mut p, ":asm twice");
    p.exp_string("twice:").expect("the function's label");
    p.exp_string("ret").expect("its code");
    enter(&mut p, ":ir nothing");
    p.exp_string("no function `nothing` is defined")
        .expect("a clear error");
    enter(&mut p, "twice(1)");
    p.exp_string("Evaluated to 2.0").expect("the REPL goes on");
    quit(p);
}

/// Whether `text` holds an SGR escape sequence (colour, bold, dim, ...).
fn has_sgr(text: &str) -> bool {
    text.match_indices("\x1b[").any(|(at, _)| {
        let rest = &text[at + 2..];
        let params = rest.len()
            - rest
                .trim_start_matches(|c: char| c.is_ascii_digit() || c == ';')
                .len();
        rest[params..].starts_with('m')
    })
}

#[test]
fn list_undo_reset_and_time() {
    let state = tempfile::tempdir().expect("temp dir");
    let mut p = start(state.path(), true);
    enter(&mut p, "def twice(x) x * 2; def binary| 5 (a b) a + b;");
    p.exp_string("toy> ").expect("prompt");
    enter(&mut p, "twice(4) | 1");
    p.exp_string("Evaluated to 9.0").expect("value");
    enter(&mut p, ":list");
    p.exp_string("def twice(x)").expect("listed");
    p.exp_string("1 parameter, compiled at tier 0")
        .expect("arity and tier");
    p.exp_string("def binary| 5 (a b)").expect("operator");
    p.exp_string("precedence 5").expect("precedence");
    enter(&mut p, "def twice(x) x * 3");
    p.exp_string("toy> ").expect("prompt");
    enter(&mut p, "twice(4)");
    p.exp_string("Evaluated to 12.0").expect("new body");
    enter(&mut p, ":undo");
    p.exp_string("undid the last definition of `twice`; its previous one is back")
        .expect("undone");
    enter(&mut p, "twice(4)");
    p.exp_string("Evaluated to 8.0").expect("old body back");
    enter(&mut p, ":undo");
    p.exp_string("undid `binary|`: it is no longer defined")
        .expect("operator undone");
    enter(&mut p, "1 | 2");
    p.exp_string("unknown binary operator `|`")
        .expect("the operator is gone");
    enter(&mut p, ":time twice(21)");
    p.exp_string("Evaluated to 42.0").expect("value");
    p.exp_string("time: compile ").expect("compile time");
    p.exp_string(" ms, run ").expect("run time");
    enter(&mut p, ":time for i = 0, i < 100 in twice(i)");
    let shown = p.exp_string(" ms (total").expect("timed");
    // The loop was compiled: a compile time above zero.
    let compile = shown
        .rsplit("time: compile ")
        .next()
        .and_then(|rest| rest.split(' ').next())
        .and_then(|ms| ms.parse::<f64>().ok())
        .expect("a compile time");
    assert!(compile > 0.0, "{shown:?}");
    enter(&mut p, ":reset");
    p.exp_string("session reset").expect("reset");
    enter(&mut p, ":list");
    p.exp_string("no definitions yet").expect("empty");
    enter(&mut p, "twice(1)");
    p.exp_string("unknown function `twice`").expect("forgotten");
    enter(&mut p, ":undo");
    p.exp_string("nothing to undo").expect("nothing left");
    enter(&mut p, "def twice(x) x + x");
    p.exp_string("toy> ").expect("prompt");
    enter(&mut p, "twice(5)");
    p.exp_string("Evaluated to 10.0")
        .expect("the session goes on");
    quit(p);
}

#[test]
fn save_writes_a_runnable_file_and_never_overwrites_without_bang() {
    let state = tempfile::tempdir().expect("temp dir");
    let file = state.path().join("session.ks");
    let mut p = start(state.path(), true);
    enter(&mut p, "def sq(x) x * x; def binary| 5 (a b) a + b;");
    p.exp_string("toy> ").expect("prompt");
    enter(&mut p, "def f(x) sq(x) | 1");
    p.exp_string("toy> ").expect("prompt");
    enter(&mut p, &format!(":save {}", file.display()));
    p.exp_string("saved 3 definition(s)").expect("saved");
    std::fs::write(&file, "precious").expect("write");
    enter(&mut p, &format!(":save {}", file.display()));
    p.exp_string("exists; use :save!").expect("refused");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "precious");
    enter(&mut p, &format!(":save! {}", file.display()));
    p.exp_string("saved 3 definition(s)").expect("overwritten");
    quit(p);
    let saved = std::fs::read_to_string(&file).expect("saved file");
    let (status, out, err) = common::run(&[file.to_str().unwrap(), "--echo"], "");
    assert_eq!(status, 0, "{saved}\n{err}");
    assert_eq!(out, "", "definitions only");
    let with_call = format!("{saved}f(3);\n");
    let (status, out, err) = common::run(&["--echo", "--engine=interp"], &with_call);
    assert_eq!(
        (status, out.as_str()),
        (0, "Evaluated to 10.000000\n"),
        "{err}"
    );
}

#[test]
fn edit_runs_the_editor_and_reads_the_definition_back() {
    let state = tempfile::tempdir().expect("temp dir");
    // An "editor" that changes the body: x * 2 becomes x * 5.
    let mut p = start_env(
        state.path(),
        true,
        &[],
        &[("VISUAL", ""), ("EDITOR", "sed -i s/2/5/")],
    );
    enter(&mut p, "def scale(x)");
    p.exp_string("...> ").expect("continuation");
    enter(&mut p, "  x * 2");
    p.exp_string("toy> ").expect("prompt");
    enter(&mut p, ":edit scale");
    p.exp_string("toy> ").expect("prompt after editing");
    enter(&mut p, "scale(2)");
    p.exp_string("Evaluated to 10.0").expect("edited body");
    enter(&mut p, ":edit nothing");
    p.exp_string("no function `nothing` is defined")
        .expect("a clear error");
    enter(&mut p, "extern sin(x)");
    p.exp_string("toy> ").expect("prompt");
    enter(&mut p, ":edit sin");
    p.exp_string("`sin` is an extern: it has no body to edit")
        .expect("a clear error");
    quit(p);

    // An editor that fails, then one that writes a syntax error: reported, the
    // session and the definition stay.
    let mut p = start_env(
        state.path(),
        true,
        &[],
        &[("VISUAL", ""), ("EDITOR", "false")],
    );
    enter(&mut p, "def one(x) 1");
    p.exp_string("toy> ").expect("prompt");
    enter(&mut p, ":edit one");
    p.exp_string("the editor failed").expect("reported");
    enter(&mut p, "one(0)");
    p.exp_string("Evaluated to 1.0").expect("unchanged");
    quit(p);
    let mut p = start_env(
        state.path(),
        true,
        &[],
        &[("VISUAL", ""), ("EDITOR", "sed -i s/1/1+/")],
    );
    enter(&mut p, "def one(x) 1");
    p.exp_string("toy> ").expect("prompt");
    enter(&mut p, ":edit one");
    p.exp_string("<edit one>")
        .expect("the error, in the edited text");
    enter(&mut p, "one(0)");
    p.exp_string("Evaluated to 1.0")
        .expect("the old definition stays");
    quit(p);
}

#[test]
fn help_lists_every_command_and_unknown_ones_get_a_suggestion() {
    let state = tempfile::tempdir().expect("temp dir");
    let mut p = start(state.path(), true);
    enter(&mut p, ":help");
    for command in [
        ":list",
        ":undo",
        ":reset",
        ":edit NAME",
        ":save FILE",
        ":load FILE",
        ":time EXPR",
        ":set print",
        ":stats",
        ":ir NAME",
        ":asm NAME",
        ":quit",
    ] {
        p.exp_string(command).expect(command);
    }
    enter(&mut p, ":lsit");
    p.exp_string("unknown command :lsit; did you mean :list?")
        .expect("suggestion");
    quit(p);
}

#[test]
fn bare_words_hints_and_did_you_mean() {
    let state = tempfile::tempdir().expect("temp dir");
    let mut p = start(state.path(), true);
    for word in ["quit", "exit"] {
        enter(&mut p, word);
        let shown = p.exp_string("type :quit or press Ctrl-D").expect("hint");
        assert!(!shown.contains("unknown variable"), "{shown:?}");
    }
    enter(&mut p, "help");
    p.exp_string("for help, type :help").expect("hint");
    enter(
        &mut p,
        "def fib(x) if x < 3 then 1 else fib(x-1) + fib(x-2)",
    );
    p.exp_string("toy> ").expect("prompt");
    enter(&mut p, "fibb(10)");
    p.exp_string("unknown function `fibb`").expect("error");
    p.exp_string("did you mean `fib`?").expect("suggestion");
    enter(&mut p, "def area(radius) 3 * raduis * raduis");
    p.exp_string("unknown variable `raduis`").expect("error");
    p.exp_string("did you mean `radius`?").expect("suggestion");
    quit(p);
}

#[test]
fn error_columns_on_continuation_lines_are_those_typed() {
    let state = tempfile::tempdir().expect("temp dir");
    let mut p = start(state.path(), true);
    enter(&mut p, "def f(x)");
    p.exp_string("...> ").expect("continuation");
    enter(&mut p, "  x + nope");
    // `nope` starts in column 7 of what was typed after the prompt.
    p.exp_string("<repl>:2:7").expect("the typed column");
    quit(p);
}

#[test]
fn ctrl_d_on_a_continuation_line_abandons_the_item() {
    let state = tempfile::tempdir().expect("temp dir");
    let mut p = start(state.path(), true);
    enter(&mut p, "def f(x)");
    p.exp_string("...> ").expect("continuation");
    p.send_control('d').expect("Ctrl-D");
    p.exp_string("toy> ")
        .expect("a fresh prompt, the session goes on");
    enter(&mut p, "f(1)");
    p.exp_string("unknown function `f`")
        .expect("f was abandoned");
    enter(&mut p, "1 + 1");
    p.exp_string("Evaluated to 2.0").expect("still running");
    quit(p);
}

#[test]
fn values_print_shortest_interactively_and_fixed_on_request() {
    let state = tempfile::tempdir().expect("temp dir");
    let mut p = start(state.path(), true);
    enter(&mut p, "0.0000001");
    p.exp_string("Evaluated to 1e-07\r\n").expect("shortest");
    enter(&mut p, "1000000000000000000000000000000");
    p.exp_string("Evaluated to 1e+30\r\n").expect("shortest");
    enter(&mut p, ":set print fixed");
    p.exp_string("values print as %f").expect("switched");
    enter(&mut p, "0.1");
    p.exp_string("Evaluated to 0.100000\r\n").expect("fixed");
    enter(&mut p, ":set print shortest");
    p.exp_string("shortest").expect("switched");
    enter(&mut p, "0.1");
    p.exp_string("Evaluated to 0.1\r\n")
        .expect("shortest again");
    quit(p);
    let mut p = start_with(state.path(), true, &["--print=fixed"]);
    enter(&mut p, "0.0000001");
    p.exp_string("Evaluated to 0.000000\r\n").expect("the flag");
    quit(p);
    // Piped input keeps the tutorial's %f, and takes the flag too.
    assert_eq!(common::run(&[], "0.1;").1, "Evaluated to 0.100000\n");
    assert_eq!(
        common::run(&["--print=shortest"], "0.1;").1,
        "Evaluated to 0.1\n"
    );
}

#[test]
fn highlighting_on_a_terminal_and_none_with_no_color() {
    let state = tempfile::tempdir().expect("temp dir");
    let mut p = start(state.path(), false);
    enter(&mut p, "def binary| 5 (a b) a + b");
    p.exp_string("toy> ").expect("prompt");
    // Typed, not entered: what the editor draws as the line is typed.
    p.send("def g(y) if y | 1 then 2.5 else (y - 7)")
        .expect("send");
    p.flush().expect("flush");
    // The last drawing of the line: the cursor is after `)`, which matches `(`.
    let shown = p
        .exp_string("\x1b[36m7\x1b[0m\x1b[1;4;34m)")
        .expect("the matching bracket at the cursor");
    let shown = &shown[shown.rfind("toy> ").expect("the line drawn")..];
    assert!(shown.contains("\x1b[1;35mdef\x1b[0m"), "keyword: {shown:?}");
    assert!(
        shown.contains("\x1b[1;35mthen\x1b[0m"),
        "keyword: {shown:?}"
    );
    assert!(shown.contains("\x1b[36m2.5\x1b[0m"), "number: {shown:?}");
    assert!(
        shown.contains("\x1b[33m|\x1b[0m"),
        "user-defined operator: {shown:?}"
    );
    assert!(
        shown.contains("\x1b[1;4;34m("),
        "the other bracket: {shown:?}"
    );
    p.send("\r").expect("Enter");
    p.flush().expect("flush");
    p.exp_string("toy> ").expect("prompt");
    quit(p);

    let mut p = start(state.path(), true);
    p.send("def g(y) if y < 1 then 2.5 else (y)").expect("send");
    p.send("\r").expect("Enter");
    p.flush().expect("flush");
    let shown = p.exp_string("toy> ").expect("prompt");
    enter(&mut p, "g(0)");
    let value = p.exp_string("Evaluated to 2.5").expect("value");
    assert!(!has_sgr(&shown), "no escape codes with NO_COLOR: {shown:?}");
    assert!(!has_sgr(&value), "no escape codes with NO_COLOR: {value:?}");
    quit(p);
}

#[test]
fn tab_lists_candidates_and_completes_file_names_after_load() {
    let state = tempfile::tempdir().expect("temp dir");
    std::fs::write(state.path().join("example-lib.ks"), "def exlib(x) x * 7;\n").expect("write");
    let mut p = start(state.path(), true);
    // After :load, a file name, not the function `exp`.
    let dir = state.path().display().to_string();
    p.send(&format!(":load {dir}/examp\t")).expect("send");
    p.flush().expect("flush");
    p.exp_string("example-lib.ks").expect("completed file name");
    p.send("\r").expect("Enter");
    p.flush().expect("flush");
    p.exp_string("toy> ").expect("prompt");
    enter(&mut p, "exlib(6)");
    p.exp_string("Evaluated to 42.0")
        .expect("the completed file was loaded");
    enter(&mut p, "def fibonacci(n) n; def fibula(n) n + 1;");
    p.exp_string("toy> ").expect("prompt");
    // Two candidates: the first Tab completes their common prefix, the second lists
    // them both.
    p.send("fib\t\t").expect("send");
    p.flush().expect("flush");
    p.exp_string("fibonacci  fibula").expect("listed");
    p.exp_string("toy> fib").expect("the line, drawn again");
    enter(&mut p, "ula(2)");
    p.exp_string("Evaluated to 3.0").expect("the line was kept");
    quit(p);
}

#[test]
fn hints_from_history_on_a_terminal() {
    let state = tempfile::tempdir().expect("temp dir");
    let mut p = start(state.path(), false);
    enter(&mut p, "40 + 2");
    p.exp_string("Evaluated to 42.0").expect("value");
    p.send("40").expect("send");
    p.flush().expect("flush");
    // The rest of the history entry, dimmed after the cursor.
    p.exp_string("\x1b[2m + 2\x1b[0m").expect("a hint");
    // Right arrow accepts it.
    p.send("\x1b[C\r").expect("send");
    p.flush().expect("flush");
    p.exp_string("Evaluated to 42.0")
        .expect("the hint was taken");
    quit(p);
}

#[test]
fn no_escape_codes_when_output_is_not_a_terminal() {
    // Input from the terminal, output to a file: colours are off even without
    // NO_COLOR.
    let state = tempfile::tempdir().expect("temp dir");
    let out = state.path().join("out.txt");
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!(
            "exec '{}' >'{}'",
            env!("CARGO_BIN_EXE_toy"),
            out.display()
        ))
        .env("TOY_CACHE", "off")
        .env("XDG_STATE_HOME", state.path())
        .env("TERM", "xterm")
        .env_remove("NO_COLOR");
    let mut p = spawn_command(cmd, Some(TIMEOUT_MS)).expect("toy starts on a pty");
    enter(&mut p, "def binary| 5 (a b) a + b");
    enter(&mut p, "def f(x) if x | 0 then (x * 2.5) else 0");
    enter(&mut p, "f(2)");
    enter(&mut p, ":quit");
    p.exp_eof().expect("toy exits");
    let written = std::fs::read_to_string(&out).expect("output file");
    assert!(written.contains("Evaluated to 5.0"), "{written:?}");
    assert!(!has_sgr(&written), "{written:?}");
}

//! The interactive REPL on a real terminal (tmux), driven as a person would: keys in,
//! the screen (and its colours) out. See `common::tmux`.

mod common;

use common::procs::{executor_of, wait_busy};
use common::tmux::{BLUE, COLOURED, CYAN, MAGENTA, PLAIN, Style, Term, YELLOW};

/// `toy` at its first prompt, without colours.
fn plain(args: &[&str]) -> Term {
    at_prompt(Term::toy(args, PLAIN))
}

fn at_prompt(mut term: Term) -> Term {
    term.expect("toy> ");
    term
}

#[test]
fn multi_line_definitions_evaluation_and_errors() {
    let mut t = plain(&[]);
    t.enter("def fib(x)");
    t.expect("...> ");
    t.enter("if x < 3 then 1 else fib(x-1) + fib(x-2)");
    t.expect("toy> ");
    t.enter("fib(20)");
    t.expect("Evaluated to 6765.0");
    t.enter("fib(1, 2)");
    t.expect("`fib` takes 1 argument(s) but 2 were given");
    t.expect("<repl>:");
    t.enter("2 * 21");
    t.expect("Evaluated to 42.0");
    t.quit();
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
    let env: Vec<_> = PLAIN.iter().chain(env).copied().collect();
    let mut t = at_prompt(Term::toy(args, &env));
    t.type_text("1 + 2");
    t.expect("1 + 2");
    t.press(&["C-c"]);
    t.expect("toy> ");
    t.enter("3 * 3");
    // Only the new input ran.
    let shown = t.expect("Evaluated to 9.0");
    assert!(!shown.contains("1 + 23 * 3"), "{shown}");

    t.enter("extern putchard(c); extern printd(x); def binary : 1 (x y) y;");
    t.expect("toy> ");
    // Each prints a marker, then loops forever: once the marker is out, the evaluation
    // is running, and Ctrl-C must interrupt it.
    t.enter("def spin(x) printd(x) : for i = 0, 1 in x;");
    t.expect("toy> ");
    t.enter("def chatty(x) printd(x + 123) : for i = 0, 1 in putchard(x);");
    t.expect("toy> ");
    t.enter("spin(42)");
    t.expect("42.000000");
    t.press(&["C-c"]);
    t.expect("interrupted");
    t.expect("toy> ");
    // The definition survived; interrupt it again, this time inside the runtime.
    t.enter("chatty(0) + 7");
    t.expect("123.000000");
    t.press(&["C-c"]);
    t.expect("interrupted");
    t.expect("toy> ");
    t.quit();
}

#[test]
fn a_crash_in_the_executor_keeps_the_session_and_its_definitions() {
    let mut t = plain(&[]);
    let toy = t.pid();
    t.enter("def f(x) x * 2");
    t.expect("toy> ");
    t.enter("def spin(x) for i = 0, 1 in x");
    t.expect("toy> ");
    t.enter("spin(1)");
    let first = executor_of(toy, None);
    wait_busy(first);
    // SAFETY: signalling the executor that `toy` (in the pane) started.
    assert_eq!(unsafe { libc::kill(first as i32, libc::SIGSEGV) }, 0);
    t.expect("executor terminated by signal 11 (SIGSEGV) while evaluating");
    t.expect("all definitions are kept");
    t.expect("toy> ");
    t.enter("f(21)");
    t.expect("Evaluated to 42.0");
    t.quit();
}

#[test]
fn a_failed_write_ends_the_repl_with_an_error() {
    // Input from the terminal, output to /dev/full: the banner cannot be written.
    let home = tempfile::tempdir().expect("temp dir");
    let toy = env!("CARGO_BIN_EXE_toy");
    let mut t = Term::start(
        home.path(),
        &["sh", "-c", &format!("exec '{toy}' >/dev/full")],
        PLAIN,
    );
    t.expect("cannot write program output: No space left on device");
    assert_eq!(t.wait_exit(), 1);
}

#[test]
fn tab_completes_functions_and_keywords() {
    let mut t = plain(&[]);
    t.enter("def fibonacci(n) n * 3");
    t.expect("toy> ");
    t.type_text("fibo");
    t.press(&["Tab"]);
    t.expect("fibonacci");
    t.enter("(5)");
    t.expect("Evaluated to 15.0");
    t.type_text("ext");
    t.press(&["Tab"]);
    t.expect("extern");
    t.enter(" cos(x)");
    t.expect("toy> ");
    t.enter("cos(0)");
    t.expect("Evaluated to 1.0");
    t.quit();
}

#[test]
fn history_persists_across_sessions() {
    let home = tempfile::tempdir().expect("temp dir");
    let mut t = at_prompt(Term::toy_in(home.path(), &[], PLAIN));
    t.enter("40 + 2");
    t.expect("Evaluated to 42.0");
    t.quit();
    let history = std::fs::read_to_string(home.path().join("toy/history")).expect("history file");
    assert!(history.contains("40 + 2"), "{history}");

    let mut t = at_prompt(Term::toy_in(home.path(), &[], PLAIN));
    t.press(&["Up"]);
    t.expect("40 + 2");
    t.press(&["Enter"]);
    t.expect("Evaluated to 42.0");
    t.quit();
}

#[test]
fn repls_sharing_a_history_file_keep_each_others_entries() {
    let home = tempfile::tempdir().expect("temp dir");
    let mut a = at_prompt(Term::toy_in(home.path(), &[], PLAIN));
    let mut b = at_prompt(Term::toy_in(home.path(), &[], PLAIN));
    a.enter("1 + 1");
    a.expect("Evaluated to 2.0");
    b.enter("2 + 2");
    b.expect("Evaluated to 4.0");
    a.enter("3 + 3");
    a.expect("Evaluated to 6.0");
    a.quit();
    b.quit();
    let history = std::fs::read_to_string(home.path().join("toy/history")).expect("history file");
    for entry in ["1 + 1", "2 + 2", "3 + 3"] {
        assert!(history.contains(entry), "{entry} is lost: {history}");
    }
}

#[test]
fn a_history_file_that_is_not_a_regular_file_is_skipped_with_a_warning() {
    let home = tempfile::tempdir().expect("temp dir");
    let dir = home.path().join("toy");
    std::fs::create_dir_all(&dir).expect("state dir");
    let history = dir.join("history");
    // A link to an endless device, then a FIFO (opening it for reading would wait for
    // a writer).
    std::os::unix::fs::symlink("/dev/zero", &history).expect("symlink");
    let mut fifo = false;
    loop {
        let mut t = Term::toy_in(home.path(), &[], PLAIN);
        let before = t.expect("toy> ");
        assert!(
            before.contains("is not a regular file; running without history"),
            "{before}"
        );
        t.enter("6 * 7");
        t.expect("Evaluated to 42.0");
        t.quit();
        if fifo {
            break;
        }
        std::fs::remove_file(&history).expect("remove link");
        let made = std::process::Command::new("mkfifo")
            .arg(&history)
            .status()
            .expect("mkfifo");
        assert!(made.success());
        fifo = true;
    }
}

#[test]
fn load_and_quit_commands() {
    let mut t = plain(&[]);
    let file = t.home().join("lib.ks");
    std::fs::write(&file, "def triple(x) x * 3;\n").expect("write");
    t.enter(&format!(":load {}", file.display()));
    t.expect("toy> ");
    t.enter("triple(14)");
    t.expect("Evaluated to 42.0");
    t.enter(":load /dev/zero");
    t.expect("cannot read /dev/zero: larger than 64 MiB");
    t.enter(":load /nonexistent/lib.ks");
    t.expect("cannot read /nonexistent/lib.ks");
    t.enter(":frob");
    t.expect("unknown command :frob");
    t.enter(":quit");
    assert_eq!(t.wait_exit(), 0);
}

#[test]
fn diagnostics_are_coloured_on_a_terminal_unless_no_color() {
    let mut t = at_prompt(Term::toy(&[], COLOURED));
    t.enter("nope");
    t.expect("not in scope");
    let screen = t.wait_styled("the error", |s| s.last_line_starting("Error").is_some());
    let line = screen.last_line_starting("Error").expect("the error");
    assert!(screen.line_text(line).contains("unknown variable"));
    assert_eq!(
        screen.style_of(line, "Error", 0).fg,
        Some(common::tmux::RED)
    );
    t.quit();

    let mut t = plain(&[]);
    t.enter("nope");
    t.expect("not in scope");
    let screen = t.wait_styled("the error", |s| s.last_line_starting("Error").is_some());
    assert!(!screen.had_escapes, "no colour with NO_COLOR");
    t.quit();
}

#[test]
fn stats_ir_and_asm_commands() {
    let mut t = plain(&[]);
    t.enter("def twice(x) x * 2; def unused(x) x + 1;");
    t.expect("toy> ");
    t.enter(":stats");
    // Nothing is compiled before a call.
    t.expect("functions: 2 defined, 0 compiled");
    t.enter("twice(21)");
    t.expect("Evaluated to 42.0");
    t.enter(":stats");
    // Only the called function; a call at the top level is interpreted, `twice` ran
    // compiled; nothing hot.
    t.expect("functions: 2 defined, 1 compiled");
    t.expect("functions: 1 compiles in");
    t.expect("top-level expressions: 0 compiles");
    t.expect("interpreted (no loops; calls run compiled code): 1");
    t.expect("recompiled at tier 1: 0");
    t.expect("JIT memory:");
    t.enter("for i = 1, i < 3 in twice(i)");
    t.expect("Evaluated to 0.0");
    t.enter(":stats");
    // A loop is compiled; still one interpreted.
    t.expect("top-level expressions: 1 compiles in");
    t.expect("interpreted (no loops; calls run compiled code): 1");
    t.enter(":ir twice");
    t.expect("define double @twice(double %x)");
    // Optimized: the argument is used directly, not loaded from its stack slot.
    t.expect("fmul double %x, 2.000000e+00");
    t.enter(":asm twice");
    t.expect("twice:");
    t.expect("ret");
    t.enter(":ir nothing");
    t.expect("no function `nothing` is defined");
    t.enter(":asm nothing");
    t.expect("no function `nothing` is defined");
    t.enter("twice(1)");
    t.expect("Evaluated to 2.0");
    t.quit();
}

#[test]
fn list_undo_reset_and_time() {
    let mut t = plain(&[]);
    t.enter(":list");
    t.expect("no definitions yet");
    t.enter("def twice(x) x * 2; def binary| 5 (a b) a + b;");
    t.expect("toy> ");
    t.enter("twice(4) | 1");
    t.expect("Evaluated to 9.0");
    t.enter(":list");
    t.expect("def twice(x)");
    t.expect("1 parameter, compiled at tier 0");
    t.expect("def binary| 5 (a b)");
    t.expect("precedence 5");
    t.enter("def twice(x) x * 3");
    t.expect("toy> ");
    t.enter("twice(4)");
    t.expect("Evaluated to 12.0");
    t.enter(":undo");
    t.expect("undid the last definition of `twice`; its previous one is back");
    t.enter("twice(4)");
    t.expect("Evaluated to 8.0");
    t.enter(":undo");
    t.expect("undid `binary|`: it is no longer defined");
    t.enter("1 | 2");
    t.expect("unknown binary operator `|`");
    t.enter(":time twice(21)");
    t.expect("Evaluated to 42.0");
    t.expect("time: compile ");
    t.expect(" ms, run ");
    t.enter(":time for i = 0, i < 100 in twice(i)");
    let shown = t.expect(" ms (total");
    // The loop was compiled: a compile time above zero.
    let compile = shown
        .rsplit("time: compile ")
        .next()
        .and_then(|rest| rest.split(' ').next())
        .and_then(|ms| ms.parse::<f64>().ok())
        .expect("a compile time");
    assert!(compile > 0.0, "{shown:?}");
    t.enter(":time");
    t.expect(":time needs an expression");
    t.enter(":reset");
    t.expect("session reset");
    t.enter(":list");
    t.expect("no definitions yet");
    t.enter("twice(1)");
    t.expect("unknown function `twice`");
    t.enter(":undo");
    t.expect("nothing to undo");
    t.enter("def twice(x) x + x");
    t.expect("toy> ");
    t.enter("twice(5)");
    t.expect("Evaluated to 10.0");
    t.quit();
}

#[test]
fn save_writes_a_runnable_file_and_never_overwrites_without_bang() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("session.ks");
    let mut t = plain(&[]);
    t.enter("def sq(x) x * x; def binary| 5 (a b) a + b;");
    t.expect("toy> ");
    t.enter("def f(x) sq(x) | 1");
    t.expect("toy> ");
    t.enter(&format!(":save {}", file.display()));
    t.expect("saved 3 definition(s)");
    std::fs::write(&file, "precious").expect("write");
    t.enter(&format!(":save {}", file.display()));
    t.expect("exists; use :save!");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "precious");
    t.enter(&format!(":save! {}", file.display()));
    t.expect("saved 3 definition(s)");
    t.quit();
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

/// `toy` with `$EDITOR` set to `editor` (and `$VISUAL` empty, so it is not used).
fn with_editor(editor: &str) -> Term {
    at_prompt(Term::toy(
        &[],
        &[("NO_COLOR", "1"), ("VISUAL", ""), ("EDITOR", editor)],
    ))
}

#[test]
fn edit_runs_the_editor_and_reads_the_definition_back() {
    // An "editor" that changes the body: x * 2 becomes x * 5.
    let mut t = with_editor("sed -i s/2/5/");
    t.enter("def scale(x)");
    t.expect("...> ");
    t.enter("  x * 2");
    t.expect("toy> ");
    t.enter(":edit scale");
    t.expect("toy> ");
    t.enter("scale(2)");
    t.expect("Evaluated to 10.0");
    t.enter(":edit nothing");
    t.expect("no function `nothing` is defined");
    t.enter("extern sin(x)");
    t.expect("toy> ");
    t.enter(":edit sin");
    t.expect("`sin` is an extern: it has no body to edit");
    t.quit();

    // An editor that fails, then one that writes a syntax error: reported, the
    // session and the definition stay.
    let mut t = with_editor("false");
    t.enter("def one(x) 1");
    t.expect("toy> ");
    t.enter(":edit one");
    t.expect("the editor failed");
    t.enter("one(0)");
    t.expect("Evaluated to 1.0");
    t.quit();
    let mut t = with_editor("sed -i s/1/1+/");
    t.enter("def one(x) 1");
    t.expect("toy> ");
    t.enter(":edit one");
    // The error, in the edited text.
    t.expect("<edit one>");
    t.enter("one(0)");
    t.expect("Evaluated to 1.0");
    t.quit();
}

#[test]
fn help_lists_every_command_and_unknown_ones_get_a_suggestion() {
    let mut t = plain(&[]);
    t.enter(":help");
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
        t.expect(command);
    }
    t.enter(":lsit");
    t.expect("unknown command :lsit; did you mean :list?");
    t.quit();
}

#[test]
fn bare_words_hints_and_did_you_mean() {
    let mut t = plain(&[]);
    for word in ["quit", "exit"] {
        t.enter(word);
        let shown = t.expect("type :quit or press Ctrl-D");
        assert!(!shown.contains("unknown variable"), "{shown:?}");
    }
    t.enter("help");
    t.expect("for help, type :help");
    t.enter("def fib(x) if x < 3 then 1 else fib(x-1) + fib(x-2)");
    t.expect("toy> ");
    t.enter("fibb(10)");
    t.expect("unknown function `fibb`");
    t.expect("did you mean `fib`?");
    t.enter("def area(radius) 3 * raduis * raduis");
    t.expect("unknown variable `raduis`");
    t.expect("did you mean `radius`?");
    t.quit();
}

#[test]
fn error_columns_on_continuation_lines_are_those_typed() {
    let mut t = plain(&[]);
    t.enter("def f(x)");
    t.expect("...> ");
    t.enter("  x + nope");
    // `nope` starts in column 7 of what was typed after the prompt.
    t.expect("<repl>:2:7");
    t.quit();
}

#[test]
fn ctrl_d_on_a_continuation_line_abandons_the_item() {
    let mut t = plain(&[]);
    t.enter("def f(x)");
    t.expect("...> ");
    t.press(&["C-d"]);
    // A fresh prompt: the session goes on.
    t.expect("toy> ");
    t.enter("f(1)");
    t.expect("unknown function `f`");
    t.enter("1 + 1");
    t.expect("Evaluated to 2.0");
    t.quit();
}

#[test]
fn values_print_shortest_interactively_and_fixed_on_request() {
    let mut t = plain(&[]);
    t.enter("0.0000001");
    t.expect("Evaluated to 1e-07\n");
    t.enter("1000000000000000000000000000000");
    t.expect("Evaluated to 1e+30\n");
    t.enter(":set print fixed");
    t.expect("values print as %f");
    t.enter("0.1");
    t.expect("Evaluated to 0.100000\n");
    t.enter(":set print shortest");
    t.expect("shortest");
    t.enter("0.1");
    t.expect("Evaluated to 0.1\n");
    t.enter(":set print round");
    t.expect("cannot set `print round`: try `:set print shortest` or `:set print fixed`");
    t.enter(":set colour on");
    t.expect("cannot set `colour on`");
    t.quit();
    let mut t = plain(&["--print=fixed"]);
    t.enter("0.0000001");
    t.expect("Evaluated to 0.000000\n");
    t.quit();
    // Piped input keeps the tutorial's %f, and takes the flag too.
    assert_eq!(common::run(&[], "0.1;").1, "Evaluated to 0.100000\n");
    assert_eq!(
        common::run(&["--print=shortest"], "0.1;").1,
        "Evaluated to 0.1\n"
    );
}

/// The screen once the line being typed (the last one with a prompt) reads `text`,
/// and that line's index.
fn drawn_line(t: &Term, text: &str) -> (common::tmux::Styled, usize) {
    let current = |s: &common::tmux::Styled| {
        (0..s.lines.len()).rev().find(|&i| {
            ["toy> ", "...> "]
                .iter()
                .any(|p| s.line_text(i).starts_with(p))
        })
    };
    let screen = t.wait_styled(&format!("the line {text:?}"), |s| {
        current(s).is_some_and(|i| s.line_text(i).trim_end() == text)
    });
    let line = current(&screen).expect("the line");
    (screen, line)
}

#[test]
fn highlighting_on_a_terminal_and_none_with_no_color() {
    let mut t = at_prompt(Term::toy(&[], COLOURED));
    t.enter("def binary| 5 (a b) a + b");
    t.expect("toy> ");
    // Typed, not entered: what the editor draws as the line is typed. The cursor ends
    // after `)`, which matches the second `(`.
    t.type_text("def g(y) if y | 1 then 2.5 else (y - 7)");
    let bracket = Style {
        bold: true,
        underline: true,
        fg: Some(BLUE),
        ..Style::default()
    };
    let screen = t.wait_styled("the matching bracket", |s| {
        s.last_line_starting("toy> def g(y)")
            .and_then(|i| s.styles_of(i, ")", 1))
            .is_some_and(|styles| styles == [bracket])
    });
    let line = screen
        .last_line_starting("toy> def g(y)")
        .expect("the line");
    let keyword = Style {
        bold: true,
        fg: Some(MAGENTA),
        ..Style::default()
    };
    let colour = |fg| Style {
        fg: Some(fg),
        ..Style::default()
    };
    for word in ["def", "if", "then", "else"] {
        assert_eq!(screen.style_of(line, word, 0), keyword, "{word}");
    }
    assert_eq!(screen.style_of(line, "2.5", 0), colour(CYAN), "a number");
    assert_eq!(screen.style_of(line, "7", 0), colour(CYAN), "a number");
    assert_eq!(
        screen.style_of(line, "|", 0),
        colour(YELLOW),
        "user-defined"
    );
    assert_eq!(screen.style_of(line, "-", 0), colour(YELLOW), "an operator");
    assert_eq!(screen.style_of(line, "(", 1), bracket, "the other bracket");
    assert_eq!(
        screen.style_of(line, "(", 0),
        Style::default(),
        "not matched"
    );
    assert_eq!(screen.style_of(line, "g", 0), Style::default(), "a name");
    t.press(&["Enter"]);
    t.expect("toy> ");
    t.enter("g(0)");
    t.expect("Evaluated to 2.5");
    t.quit();

    let mut t = plain(&[]);
    t.type_text("def g(y) if y < 1 then 2.5 else (y)");
    let (screen, _) = drawn_line(&t, "toy> def g(y) if y < 1 then 2.5 else (y)");
    assert!(!screen.had_escapes, "no escape codes with NO_COLOR");
    t.press(&["Enter"]);
    t.expect("toy> ");
    t.enter("g(0)");
    t.expect("Evaluated to 2.5");
    let screen = t.wait_styled("the value", |s| s.last_line_starting("Evaluated").is_some());
    assert!(!screen.had_escapes, "{}", t.raw_escapes());
    t.quit();
}

#[test]
fn tab_lists_candidates_and_completes_file_names_after_load() {
    let mut t = plain(&[]);
    let dir = t.home().display().to_string();
    std::fs::write(t.home().join("example-lib.ks"), "def exlib(x) x * 7;\n").expect("write");
    // After :load, a file name, not the function `exp`.
    t.type_text(&format!(":load {dir}/examp"));
    t.press(&["Tab"]);
    t.expect("example-lib.ks");
    t.press(&["Enter"]);
    t.expect("toy> ");
    t.enter("exlib(6)");
    t.expect("Evaluated to 42.0");
    // And after :save.
    t.type_text(&format!(":save {dir}/example-l"));
    t.press(&["Tab"]);
    t.expect("example-lib.ks");
    t.press(&["C-c"]);
    t.expect("toy> ");
    t.enter("def fibonacci(n) n; def fibula(n) n + 1;");
    t.expect("toy> ");
    // Two candidates: the first Tab completes their common prefix, the second lists
    // them both, and the line is drawn again below.
    t.type_text("fib");
    t.press(&["Tab", "Tab"]);
    t.expect("fibonacci  fibula");
    t.expect("toy> fib");
    t.enter("ula(2)");
    t.expect("Evaluated to 3.0");
    t.quit();
}

#[test]
fn hints_from_history_on_a_terminal() {
    let mut t = at_prompt(Term::toy(&[], COLOURED));
    t.enter("40 + 2");
    t.expect("Evaluated to 42.0");
    t.type_text("40");
    // The rest of the history entry, dimmed after the cursor.
    let (screen, line) = drawn_line(&t, "toy> 40 + 2");
    let hint = screen.style_of(line, " + 2", 0);
    assert!(hint.dim, "{hint:?}");
    assert!(!screen.style_of(line, "40", 0).dim, "what was typed");
    // Right arrow accepts it.
    t.press(&["Right", "Enter"]);
    t.expect("Evaluated to 42.0");
    t.quit();

    // Without colour, no hint: the line is what was typed, and Right moves nothing in.
    let mut t = plain(&[]);
    t.enter("40 + 2");
    t.expect("Evaluated to 42.0");
    t.type_text("40");
    let (screen, _) = drawn_line(&t, "toy> 40");
    assert!(!screen.had_escapes);
    t.press(&["Right", "Enter"]);
    t.expect("Evaluated to 40.0\n");
    t.quit();
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
fn no_escape_codes_when_output_is_not_a_terminal() {
    // Input from the terminal, output to a file: colours are off even without
    // NO_COLOR.
    let home = tempfile::tempdir().expect("temp dir");
    let out = home.path().join("out.txt");
    let toy = env!("CARGO_BIN_EXE_toy");
    let t = Term::start(
        home.path(),
        &["sh", "-c", &format!("exec '{toy}' >'{}'", out.display())],
        COLOURED,
    );
    t.enter("def binary| 5 (a b) a + b");
    t.enter("def f(x) if x | 0 then (x * 2.5) else 0");
    t.enter("f(2)");
    t.enter(":quit");
    assert_eq!(t.wait_exit(), 0);
    let written = std::fs::read_to_string(&out).expect("output file");
    assert!(written.contains("Evaluated to 5.0"), "{written:?}");
    assert!(!has_sgr(&written), "{written:?}");
}

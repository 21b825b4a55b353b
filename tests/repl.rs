//! The interactive REPL on a real terminal (tmux), driven as a person would: keys in,
//! the screen (and its colours) out: multi-line input, Ctrl-C and Ctrl-D, a crashed
//! executor, history, completion, highlighting and hints. The commands are in
//! `repl_commands.rs`. See `common::tmux`.

mod common;

use common::procs::{executor_of, wait_busy};
use common::styled::{BLUE, CYAN, MAGENTA, Style, Styled, YELLOW};
use common::tmux::{COLOURED, PLAIN, Term, at_prompt, plain};

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
    // Typed as is, a last `;` included.
    t.enter("def sq(x) x * x;");
    t.expect("toy> def sq(x) x * x;\n");
    t.enter("sq(3);");
    t.expect("toy> sq(3);\nEvaluated to 9.0");
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

/// The screen once the line being typed (the last one with a prompt) reads `text`,
/// and that line's index.
fn drawn_line(t: &Term, text: &str) -> (Styled, usize) {
    let current = |s: &Styled| {
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

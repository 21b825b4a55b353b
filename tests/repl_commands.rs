//! The REPL's commands on a real terminal (tmux): every one of `:help`, `:list`,
//! `:undo`, `:reset`, `:save`, `:edit` (a scripted `$EDITOR`), `:time`, `:stats`, `:ir`,
//! `:asm`, `:load`, `:set` (and `--print`), `:quit`, with their errors; bare words and
//! did-you-mean; diagnostics (coloured on a terminal, plain with
//! `NO_COLOR`; columns as typed). See `common::tmux`.

mod common;

use common::styled::RED;
use common::tmux::{COLOURED, Term, at_prompt, plain};

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

#[test]
fn diagnostics_are_coloured_on_a_terminal_unless_no_color() {
    let mut t = at_prompt(Term::toy(&[], COLOURED));
    t.enter("nope");
    t.expect("not in scope");
    let screen = t.wait_styled("the error", |s| s.last_line_starting("Error").is_some());
    let line = screen.last_line_starting("Error").expect("the error");
    assert!(screen.line_text(line).contains("unknown variable"));
    assert_eq!(screen.style_of(line, "Error", 0).fg, Some(RED));
    t.quit();

    let mut t = plain(&[]);
    t.enter("nope");
    t.expect("not in scope");
    let screen = t.wait_styled("the error", |s| s.last_line_starting("Error").is_some());
    assert!(!screen.had_escapes, "no colour with NO_COLOR");
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

//! The formatter on small programs; `tests/fmt.rs` runs it on every program of the
//! repository through `toy fmt`.

use super::*;

/// `text` formatted, after checking that formatting it again changes nothing.
fn fmt(text: &str) -> String {
    let out = format(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
    assert_eq!(
        format(&out).expect("the output formats"),
        out,
        "not idempotent"
    );
    out
}

#[test]
fn items_end_with_a_semicolon_on_lines_of_their_own() {
    assert_eq!(
        fmt("def f(x) x*2 extern sin(x);;; f(1) 2"),
        "def f(x) x * 2;\nextern sin(x);\nf(1);\n2;\n"
    );
    assert_eq!(fmt(""), "");
    assert_eq!(fmt(" \n;;\n"), "");
}

#[test]
fn one_empty_line_is_kept_between_items() {
    assert_eq!(fmt("1;\n\n\n\n2;\n3;"), "1;\n\n2;\n3;\n");
    assert_eq!(fmt("\n\n1;\r\n\r\n2;\r3;"), "1;\n\n2;\n3;\n");
}

#[test]
fn prototypes_are_spelled_one_way() {
    assert_eq!(
        fmt("def binary : 1 (x y) y; def unary - ( v ) 0-v; def binary|(a b) a; def g() 1;"),
        "def binary: 1 (x y) y;\ndef unary-(v) 0 - v;\ndef binary|(a b) a;\ndef g() 1;\n"
    );
    // Numbers keep their spelling, precedences included.
    assert_eq!(
        fmt("def binary% 40.0 (a b) 2. + .5 + 1.50"),
        "def binary% 40.0 (a b) 2. + .5 + 1.50;\n"
    );
}

#[test]
fn parentheses_are_the_ones_the_tree_needs() {
    assert_eq!(fmt("((x));"), "x;\n");
    assert_eq!(fmt("f((a + b), (c));"), "f(a + b, c);\n");
    assert_eq!(fmt("(a + b) * c;"), "(a + b) * c;\n");
    assert_eq!(fmt("a * (b * c);"), "a * (b * c);\n");
    assert_eq!(fmt("-(a + b);"), "-(a + b);\n");
    // An `if`, `for` or `var` would take in the operator after it.
    assert_eq!(
        fmt("(if a then b else c) + 1;"),
        "(if a then b else c) + 1;\n"
    );
    assert_eq!(
        fmt("if a then b else (c + 1);"),
        "if a then b else c + 1;\n"
    );
    assert_eq!(
        fmt("!(if a then b else c) + 1;"),
        "!(if a then b else c) + 1;\n"
    );
    assert_eq!(fmt("(var a in a) : 1;"), "(var a in a) : 1;\n");
    assert_eq!(
        fmt("(for i = 1, i < 2 in 0) : 1;"),
        "(for i = 1, i < 2 in 0) : 1;\n"
    );
}

#[test]
fn a_prefix_dot_before_a_digit_keeps_its_space() {
    assert_eq!(
        fmt("def unary.(v) v; . 5; .x; ..5;"),
        "def unary.(v) v;\n. 5;\n.x;\n..5;\n"
    );
}

#[test]
fn long_chains_break_at_their_lowest_precedence_operators() {
    let text = "def binary : 1 (x y) y;\n\
                def f(a) aaaaaaaaaa = aaaaaaaaaa + 1 : bbbbbbbbbb = bbbbbbbbbb * 2 : cccccccccc = cccccccccc - 3;";
    assert_eq!(
        fmt(text),
        "def binary: 1 (x y) y;\n\
         def f(a)\n  \
           aaaaaaaaaa = aaaaaaaaaa + 1 :\n  \
           bbbbbbbbbb = bbbbbbbbbb * 2 :\n  \
           cccccccccc = cccccccccc - 3;\n"
    );
}

#[test]
fn long_ifs_loops_and_vars_break_in_their_shape() {
    let text = "def f(x) if x < 1 then aaaaaaaaaaaaaaaaaaaa(x) else if x < 2 then bbbbbbbbbbbbbbbbbbbb(x) else 0;\n\
                def g(n) var total = 0, count = 1 in (for i = 0, i < n, 1 in total = total + iiiiiiiiiiiiiiiiiiii(i)) : total;";
    assert_eq!(
        fmt(text),
        "def f(x)\n  \
           if x < 1 then\n    \
             aaaaaaaaaaaaaaaaaaaa(x)\n  \
           else if x < 2 then\n    \
             bbbbbbbbbbbbbbbbbbbb(x)\n  \
           else\n    \
             0;\n\
         def g(n)\n  \
           var total = 0, count = 1 in\n  \
           (for i = 0, i < n, 1 in total = total + iiiiiiiiiiiiiiiiiiii(i)) : total;\n"
    );
}

#[test]
fn comments_stay_where_they_were() {
    let text =
        "# head\n\n\n# block\ndef f(x) # why\n  x + # more\n  # own line\n  1; # after\n# end\n";
    assert_eq!(
        fmt(text),
        "# head\n\n# block\ndef f(x)  # why\n  x +     # more\n  # own line\n  1;  # after\n# end\n"
    );
    // Two comments that followed different tokens of one output line: the second
    // gets a line of its own.
    assert_eq!(fmt("f( # a\n) # b\n"), "f();  # a\n# b\n");
}

#[test]
fn comments_after_code_on_consecutive_lines_are_aligned() {
    assert_eq!(
        fmt("1; # one\n100; # a hundred\n\n10; # ten\n"),
        "1;    # one\n100;  # a hundred\n\n10;  # ten\n"
    );
}

#[test]
fn a_comment_at_the_end_of_input_without_a_line_end_is_kept() {
    assert_eq!(fmt("1 # done"), "1;  # done\n");
    assert_eq!(fmt("#"), "#\n");
}

#[test]
fn a_program_that_does_not_parse_is_an_error_at_its_position() {
    let err = format("def f(x) x + 1;\ndef g(x y) (x + ;").expect_err("a syntax error");
    assert!(matches!(err, FormatError::Syntax(_)), "{err:?}");
    assert_eq!(err.span().start, 32);
    let err = format("1.2.3").expect_err("a malformed number");
    assert_eq!(err.span().range(), 0..5);
}

#[test]
fn the_check_refuses_an_output_that_is_another_program() {
    let text = "a + b;";
    let items = parse(text, SourceId(0)).expect("parses");
    assert!(check(text, SourceId(0), &items, "a + b;\n").is_ok());
    for wrong in [
        "a - b;\n",
        "a;\n+b;\n",
        "a + b;\n# new\n",
        "a + b; c;\n",
        "(a + b",
    ] {
        assert!(
            matches!(
                check(text, SourceId(0), &items, wrong),
                Err(FormatError::Unfaithful { .. })
            ),
            "{wrong:?} passed"
        );
    }
}

#[test]
fn deep_nesting_formats_without_growing_indentation_forever() {
    let text = format!("{}1{};", "if 1 then ".repeat(300), " else 0".repeat(300));
    let out = fmt(&text);
    let widest = out.lines().map(str::len).max().unwrap_or(0);
    assert!(
        widest <= printer::MAX_INDENT + WIDTH,
        "a line of {widest} columns"
    );
}

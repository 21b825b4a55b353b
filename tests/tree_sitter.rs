//! The tree-sitter grammar (grammar/tree-sitter-kaleidoscope), through its committed
//! `src/parser.c` compiled by the grammar's crate: it parses every program of the
//! repository, its test corpus as recorded, and exactly the fragments toy's parser
//! accepts; its highlighting queries give what `test/highlight` asserts; and the
//! committed parser is what the pinned tree-sitter CLI generates from `grammar.js`.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::corpus::every_program;
use common::{ks_files, programs, root};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use toy::frontend::parser::{Step, Tokens};
use toy::frontend::source::SourceId;
use tree_sitter::{Node, Parser, Tree};
use tree_sitter_highlight::{HighlightConfiguration, HighlightEvent, Highlighter};

const GRAMMAR: &str = "grammar/tree-sitter-kaleidoscope";

/// The parser's ABI version: 14, which older editors load too (the tree-sitter
/// library of Neovim 0.10 or Helix 24.07 refuses the CLI's default, 15).
const ABI: &str = "14";

fn parse(text: &str) -> Tree {
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_kaleidoscope::LANGUAGE.into())
        .expect("the grammar's ABI matches the tree-sitter library");
    parser.parse(text, None).expect("a tree")
}

/// The first ERROR or MISSING node, as `LINE:COL kind` (iteratively: a tree may be
/// 10,000 levels deep).
fn first_error(root: Node) -> Option<String> {
    if !root.has_error() {
        return None;
    }
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        if node.is_error() || node.is_missing() {
            let at = node.start_position();
            let what = if node.is_missing() {
                "MISSING"
            } else {
                "ERROR"
            };
            return Some(format!(
                "{}:{} {what} {}",
                at.row + 1,
                at.column + 1,
                node.kind()
            ));
        }
        let mut cursor = node.walk();
        let children: Vec<Node> = node
            .children(&mut cursor)
            .filter(|c| c.has_error())
            .collect();
        stack.extend(children.into_iter().rev());
    }
    Some("an error inside a node".into())
}

fn read(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    String::from_utf8_lossy(&bytes).into_owned()
}

#[test]
fn every_program_parses_without_errors() {
    let files = every_program();
    assert!(files.len() >= 30, "only {} programs found", files.len());
    for path in files {
        let tree = parse(&read(&path));
        assert_eq!(
            first_error(tree.root_node()),
            None,
            "{}: the grammar fails",
            path.display()
        );
    }
}

#[test]
fn generated_programs_parse_without_errors() {
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[20; 32]),
    );
    for _ in 0..100 {
        let prog = programs::prog()
            .new_tree(&mut runner)
            .expect("a program")
            .current();
        let source = programs::source(&prog);
        let tree = parse(&source);
        assert_eq!(first_error(tree.root_node()), None, "in:\n{source}");
    }
}

/// Whether toy's parser accepts `text`, or its error when it does not.
fn toy_parse(text: &str) -> Result<(), toy::error::ProgramError> {
    let tokens = Tokens::lex(text, SourceId(0), 0);
    for step in tokens.items() {
        if let Step::Error(err) = step {
            return Err(err);
        }
    }
    Ok(())
}

#[test]
fn the_grammar_accepts_what_toys_parser_accepts() {
    // The fragments' errors are syntax errors, which both reject, or errors of the
    // resolver (unknown names, arities, precedences), which both accept. Two
    // differences by design: toy's lexer rejects malformed numbers (`1.2.3`), which
    // the grammar reads as one number, and toy's parser limits nesting, which
    // tree-sitter need not.
    let mut compared = 0;
    for path in ks_files("grammar/examples/valid")
        .into_iter()
        .chain(ks_files("grammar/examples/invalid"))
    {
        let text = read(&path);
        let grammar = first_error(parse(&text).root_node());
        match toy_parse(&text) {
            Err(
                toy::error::ProgramError::MalformedNumber { .. }
                | toy::error::ProgramError::TooDeep { .. },
            ) => {
                assert_eq!(grammar, None, "{}", path.display());
            }
            toy => {
                assert_eq!(
                    grammar.is_some(),
                    toy.is_err(),
                    "{}: toy's parser says {toy:?}, the grammar {grammar:?}",
                    path.display()
                );
                compared += usize::from(toy.is_err());
            }
        }
    }
    assert!(compared >= 8, "only {compared} syntax errors compared");
}

/// The tests of a corpus file: (name, input, expected S-expression). Each is a name
/// between two lines of `=`, the input, a line of `-`, the expected tree.
fn corpus_tests(text: &str) -> Vec<(String, String, String)> {
    let rule = |line: &str, c: char| line.len() >= 3 && line.chars().all(|x| x == c);
    let mut tests = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if !rule(line, '=') {
            continue;
        }
        let name = lines.next().expect("a name").trim().to_string();
        assert!(rule(lines.next().unwrap_or(""), '='), "{name}: header");
        let mut input = String::new();
        for line in lines.by_ref() {
            if rule(line, '-') {
                break;
            }
            input.push_str(line);
            input.push('\n');
        }
        let mut expected = String::new();
        while let Some(line) = lines.next_if(|line| !rule(line, '=')) {
            expected.push_str(line);
            expected.push('\n');
        }
        tests.push((name, input.trim().to_string(), expected));
    }
    tests
}

/// An S-expression without field names, on one line.
fn normalized(sexp: &str) -> String {
    sexp.split_whitespace()
        .filter(|token| !token.ends_with(':'))
        .collect::<Vec<_>>()
        .join(" ")
        .replace("( ", "(")
}

#[test]
fn the_corpus_parses_as_recorded() {
    let dir = root(&format!("{GRAMMAR}/test/corpus"));
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).expect("test/corpus") {
        let path = entry.expect("entry").path();
        for (name, input, expected) in corpus_tests(&read(&path)) {
            let tree = parse(&input);
            assert_eq!(
                normalized(&tree.root_node().to_sexp()),
                normalized(&expected),
                "{}: {name}",
                path.display()
            );
            count += 1;
        }
    }
    assert!(count >= 20, "only {count} corpus tests");
}

fn highlighting() -> (HighlightConfiguration, Vec<String>) {
    let mut config = HighlightConfiguration::new(
        tree_sitter_kaleidoscope::LANGUAGE.into(),
        "kaleidoscope",
        tree_sitter_kaleidoscope::HIGHLIGHTS_QUERY,
        "",
        tree_sitter_kaleidoscope::LOCALS_QUERY,
    )
    .expect("the queries compile against the grammar");
    let names: Vec<String> = config.names().iter().map(|n| n.to_string()).collect();
    config.configure(&names);
    (config, names)
}

/// The capture names at each byte of `text` (innermost highlight).
fn highlights(text: &str) -> Vec<Option<String>> {
    let (config, names) = highlighting();
    let mut at = vec![None; text.len()];
    let mut stack = Vec::new();
    let mut highlighter = Highlighter::new();
    for event in highlighter
        .highlight(&config, text.as_bytes(), None, |_| None)
        .expect("highlighting starts")
    {
        match event.expect("an event") {
            HighlightEvent::HighlightStart(h) => stack.push(names[h.0].clone()),
            HighlightEvent::HighlightEnd => {
                stack.pop();
            }
            HighlightEvent::Source { start, end } => {
                for slot in &mut at[start..end] {
                    *slot = stack.last().cloned();
                }
            }
        }
    }
    at
}

#[test]
fn highlights_are_as_test_highlight_asserts() {
    // The assertion format of `tree-sitter test`: a comment `# <- NAME` names the
    // highlight at the column of its `#` on the line above it, `#   ^ NAME` the one at
    // the column of its `^`.
    let mut count = 0;
    for path in ks_files(&format!("{GRAMMAR}/test/highlight")) {
        let text = read(&path);
        let at = highlights(&text);
        let mut code_line_start = 0;
        let mut line_start = 0;
        for line in text.split_inclusive('\n') {
            let trimmed = line.trim_end();
            let assertion = trimmed
                .strip_prefix("# <- ")
                .map(|name| (0, name))
                .or_else(|| {
                    let caret = trimmed.find("^ ")?;
                    let ok = trimmed.starts_with('#') && trimmed[1..caret].trim().is_empty();
                    ok.then(|| (caret, &trimmed[caret + 2..]))
                });
            match assertion {
                Some((column, name)) => {
                    let got = &at[code_line_start + column];
                    assert_eq!(
                        got.as_deref(),
                        Some(name),
                        "{}: line {:?}, column {column}",
                        path.display(),
                        &text[code_line_start..].lines().next()
                    );
                    count += 1;
                }
                None => code_line_start = line_start,
            }
            line_start += line.len();
        }
    }
    assert!(count >= 30, "only {count} highlight assertions");
}

#[test]
fn no_node_has_two_highlights() {
    // Editors differ on which of two patterns wins (Helix the first, Neovim the
    // last); the queries never make them choose.
    let query = tree_sitter::Query::new(
        &tree_sitter_kaleidoscope::LANGUAGE.into(),
        tree_sitter_kaleidoscope::HIGHLIGHTS_QUERY,
    )
    .expect("the query compiles");
    for path in every_program() {
        let text = read(&path);
        let tree = parse(&text);
        let mut cursor = tree_sitter::QueryCursor::new();
        let mut seen = std::collections::HashMap::new();
        let mut captures = cursor.captures(&query, tree.root_node(), text.as_bytes());
        use tree_sitter::StreamingIterator;
        while let Some((m, index)) = captures.next() {
            let capture = m.captures[*index];
            let name = query.capture_names()[capture.index as usize];
            if let Some(other) = seen.insert(capture.node.id(), name)
                && other != name
            {
                panic!(
                    "{}: {} is both {other} and {name}",
                    path.display(),
                    capture.node.to_sexp()
                );
            }
        }
        assert!(!seen.is_empty(), "{}: nothing highlighted", path.display());
    }
}

/// The tree-sitter CLI version the committed parser comes from (package.json).
fn pinned_cli() -> String {
    let package = read(&root(&format!("{GRAMMAR}/package.json")));
    let line = package
        .lines()
        .find(|line| line.contains("\"tree-sitter-cli\""))
        .expect("package.json pins tree-sitter-cli");
    line.split('"').nth(3).expect("a version").to_string()
}

/// Says something on the terminal even when the test passes (libtest captures only
/// the `print!` family).
fn notice(message: &str) {
    let _ = writeln!(std::io::stderr(), "{message}");
}

#[test]
fn the_committed_parser_is_generated_from_grammar_js() {
    let pinned = pinned_cli();
    let cli =
        std::env::var_os("TREE_SITTER").map_or_else(|| PathBuf::from("tree-sitter"), PathBuf::from);
    let version = Command::new(&cli)
        .arg("--version")
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string());
    let expected = format!("tree-sitter {pinned}");
    if version
        .as_deref()
        .map(|v| v.split(' ').take(2).collect::<Vec<_>>().join(" "))
        != Some(expected.clone())
    {
        let found = version.unwrap_or_else(|| "no tree-sitter CLI".into());
        let message = format!(
            "NOT CHECKED: whether {GRAMMAR}/src/parser.c is up to date needs {expected} \
             ({found} found; `cargo install --locked tree-sitter-cli --version {pinned}`, \
             or TREE_SITTER=PATH)"
        );
        // CI installs the CLI (.ci/run): there, not checking is a failure.
        assert!(std::env::var_os("CI").is_none(), "{message}");
        notice(&message);
        return;
    }
    let work = tempfile::tempdir().expect("a temporary directory");
    let grammar = root(GRAMMAR);
    for file in ["grammar.js", "tree-sitter.json", "package.json"] {
        std::fs::copy(grammar.join(file), work.path().join(file)).expect("copy");
    }
    let output = Command::new(&cli)
        .args(["generate", "--abi", ABI])
        .current_dir(work.path())
        .output()
        .expect("tree-sitter runs");
    assert!(
        output.status.success(),
        "tree-sitter generate failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for file in [
        "parser.c",
        "grammar.json",
        "node-types.json",
        "tree_sitter/parser.h",
        "tree_sitter/alloc.h",
        "tree_sitter/array.h",
    ] {
        let fresh = read(&work.path().join("src").join(file));
        let committed = read(&grammar.join("src").join(file));
        assert!(
            fresh == committed,
            "{GRAMMAR}/src/{file} is not what `tree-sitter generate` makes of grammar.js: \
             run `tree-sitter generate --abi {ABI}` in {GRAMMAR} and commit the result"
        );
    }
}

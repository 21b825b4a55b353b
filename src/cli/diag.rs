//! Turns library errors into diagnostics on stderr (ariadne).

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::ops::Range;

use ariadne::{CharSet, Color, Config, IndexType, Label, Report, ReportKind, Source};
use toy::Error;
use toy::frontend::source::{SourceId, SourceMap};

/// Whether diagnostics use colour: only on a terminal, and never with `NO_COLOR` set.
pub fn use_color() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Writes `err` with its location, source line and marker to stderr.
pub fn report(sources: &SourceMap, err: &Error) {
    report_with_help(sources, err, None);
}

/// [`report`] with a `help:` note (the REPL's "did you mean `fib`?").
pub fn report_with_help(sources: &SourceMap, err: &Error, help: Option<String>) {
    // Program output first, so that the two streams interleave in order.
    toy::runtime::flush();
    let mut stderr = std::io::stderr().lock();
    if err.is_interrupt() {
        // The terminal has echoed `^C` without a newline.
        let _ = writeln!(stderr);
    }
    render(sources, err, help, use_color(), &mut stderr);
}

/// Writes the diagnostic for `err` (with `help`, if any) to `out`.
pub(super) fn render(
    sources: &SourceMap,
    err: &Error,
    help: Option<String>,
    color: bool,
    out: &mut impl Write,
) {
    let span = err.span();
    let source = sources.get(span.source);
    let text = &source.text;
    let mut range = span.range();
    if range.is_empty() {
        // Point at something visible: the character there, or the one before the end.
        if range.start < text.len() {
            range.end = range.start + text[range.start..].chars().next().map_or(1, char::len_utf8);
        } else if let Some(c) = text[..range.start].chars().next_back() {
            range.start -= c.len_utf8();
            range.end = text.len();
        }
    }
    let name = source.name.clone();
    let config = Config::new()
        .with_index_type(IndexType::Byte)
        .with_color(color)
        .with_char_set(if color {
            CharSet::Unicode
        } else {
            CharSet::Ascii
        });
    let result = with_index(span.source, source, range, |index, range| {
        let mut report = Report::build(ReportKind::Error, (name.clone(), range.clone()))
            .with_config(config)
            .with_message(err.to_string())
            .with_label(
                Label::new((name.clone(), range))
                    .with_message(err.label())
                    .with_color(Color::Red),
            );
        if let Some(help) = &help {
            report = report.with_help(help);
        }
        report.finish().write((name, index), &mut *out)
    });
    if result.is_err() {
        let (line, col) = sources.line_col(span.source, span.start);
        let _ = writeln!(out, "{}:{line}:{col}: {err}", source.name);
        if let Some(help) = help {
            let _ = writeln!(out, "help: {help}");
        }
    }
}

/// ariadne's line index of a source, for its diagnostics.
enum Index {
    /// Of the whole text, while it stays `len` bytes long (files, `:load`).
    Whole { len: usize, index: Source<String> },
    /// The text grew since (standard input, the REPL): see [`excerpt`].
    Growing,
}

thread_local! {
    /// Indexes by source: a report needs ariadne's line index of its text, and building
    /// one for each diagnostic scanned the whole file every time (the errors of 1 MB of
    /// random text took 51 s).
    static INDEXES: RefCell<HashMap<SourceId, Index>> = RefCell::new(HashMap::new());
}

#[cfg(test)]
thread_local! {
    /// Whole-text indexes built (per thread: tests run in parallel).
    static BUILT: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Calls `f` with an ariadne index for a diagnostic at `range` of `source` (source `id`)
/// and the range in that index.
fn with_index<R>(
    id: SourceId,
    source: &toy::frontend::source::Source,
    range: Range<usize>,
    f: impl FnOnce(&Source<String>, Range<usize>) -> R,
) -> R {
    INDEXES.with(|indexes| {
        let mut indexes = indexes.borrow_mut();
        let len = source.text.len();
        let entry = indexes.entry(id).or_insert_with(|| {
            #[cfg(test)]
            BUILT.with(|n| n.set(n.get() + 1));
            Index::Whole {
                len,
                index: Source::from(source.text.clone()),
            }
        });
        if matches!(entry, Index::Whole { len: built, .. } if *built != len) {
            *entry = Index::Growing;
        }
        match entry {
            Index::Whole { index, .. } => f(index, range),
            Index::Growing => {
                let (shown, range) = excerpt(source, range);
                f(&Source::from(shown), range)
            }
        }
    })
}

/// The text to give ariadne for a diagnostic at `range` of a growing source, and the
/// range in it: the lines that `range` touches, after one empty line per line before
/// them (for ariadne's line numbers), so that a report costs the number of lines before
/// it, not their text. ariadne's `with_display_line_offset` would avoid the padding,
/// but ariadne 0.6 does not apply it to the line numbers in the margin.
fn excerpt(source: &toy::frontend::source::Source, range: Range<usize>) -> (String, Range<usize>) {
    let (line, lines) = source.lines_around(range.clone());
    let pad = line - 1;
    let mut shown = String::with_capacity(pad + lines.len());
    shown.extend(std::iter::repeat_n('\n', pad));
    shown.push_str(&source.text[lines.clone()]);
    let shift = |at: usize| at - lines.start + pad;
    (shown, shift(range.start)..shift(range.end.min(lines.end)))
}

/// A plain error without a source location (I/O, usage).
pub fn plain(message: &str) {
    toy::runtime::flush();
    eprintln!("toy: {message}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_diagnostic_costs_the_lines_before_it_not_the_whole_text() {
        let line = "def f(x) x + 1; # a line of a long file\n";
        let mut sources = SourceMap::new();
        let mut text = line.repeat(4_999);
        text.push_str("def g(x) nope;\n");
        text.push_str(&line.repeat(5_000));
        let id = sources.add("big.ks", text);
        let at = 4_999 * line.len() + "def g(x) ".len();
        let (shown, range) = excerpt(sources.get(id), at..at + 4);
        // ariadne builds its own line index of what it is given: the lines before the
        // error count (as empty lines, for its line numbers), their text does not.
        assert_eq!(shown.len(), 4_999 + "def g(x) nope;\n".len());
        assert_eq!(&shown[range], "nope");
        let err: Error = toy::error::ProgramError::UnknownVariable {
            name: "nope".into(),
            span: toy::frontend::source::Span::new(id, at, at + 4),
        }
        .into();
        // Rendered from the excerpt (the source grew) or from the index of the whole
        // text, the diagnostic is the same.
        let mut whole = Vec::new();
        render(&sources, &err, None, false, &mut whole);
        sources.append(id, "\n");
        let mut excerpted = Vec::new();
        render(&sources, &err, None, false, &mut excerpted);
        let out = String::from_utf8(whole).expect("UTF-8");
        assert!(out.contains("big.ks:5000:10"), "{out}");
        assert!(out.contains("5000 | def g(x) nope;"), "{out}");
        assert_eq!(out, String::from_utf8(excerpted).expect("UTF-8"));
    }

    #[test]
    fn the_lines_of_a_file_are_indexed_once_for_all_its_diagnostics() {
        let mut sources = SourceMap::new();
        let id = sources.add("many.ks", "nope;\n".repeat(1000));
        for line in 0..1000 {
            let at = line * "nope;\n".len();
            let err: Error = toy::error::ProgramError::UnknownVariable {
                name: "nope".into(),
                span: toy::frontend::source::Span::new(id, at, at + 4),
            }
            .into();
            let mut out = Vec::new();
            render(&sources, &err, None, false, &mut out);
            let out = String::from_utf8(out).expect("UTF-8");
            assert!(out.contains(&format!("many.ks:{}:1", line + 1)), "{out}");
        }
        assert_eq!(BUILT.with(|n| n.get()), 1);
    }
}

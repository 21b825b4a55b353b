//! Turns library errors into diagnostics on stderr (ariadne).

use std::io::{IsTerminal, Write};

use ariadne::{CharSet, Color, Config, IndexType, Label, Report, ReportKind, Source};
use toy::Error;
use toy::frontend::source::SourceMap;

/// Whether diagnostics use colour: only on a terminal, and never with `NO_COLOR` set.
pub fn use_color() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Writes `err` with its location, source line and marker to stderr.
pub fn report(sources: &SourceMap, err: &Error) {
    // Program output first, so that the two streams interleave in order.
    toy::runtime::flush();
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
    let color = use_color();
    let config = Config::new()
        .with_index_type(IndexType::Byte)
        .with_color(color)
        .with_char_set(if color {
            CharSet::Unicode
        } else {
            CharSet::Ascii
        });
    let mut stderr = std::io::stderr().lock();
    if matches!(err, Error::Interrupted { .. }) {
        // The terminal has echoed `^C` without a newline.
        let _ = writeln!(stderr);
    }
    let result = Report::build(ReportKind::Error, (name.clone(), range.clone()))
        .with_config(config)
        .with_message(err.to_string())
        .with_label(
            Label::new((name.clone(), range))
                .with_message(err.label())
                .with_color(Color::Red),
        )
        .finish()
        .write((name, Source::from(text.as_str())), &mut stderr);
    if result.is_err() {
        let (line, col) = sources.line_col(span.source, span.start);
        let _ = writeln!(stderr, "{}:{line}:{col}: {err}", source.name);
    }
}

/// A plain error without a source location (I/O, usage).
pub fn plain(message: &str) {
    toy::runtime::flush();
    eprintln!("toy: {message}");
}

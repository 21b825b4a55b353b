//! What an editor asks about a document, answered by the real front end: every
//! definition and every use of a name or operator with its byte range, the operators'
//! precedences where they are used, and the front end's diagnostics. `toy lsp`
//! (`crate::lsp`) serves it.
//!
//! The document is parsed item by item ([`Tokens`]) and each item is resolved by a
//! [`Session`] without an engine, exactly as `toy --keep-going` reads a file: the same
//! recovery after an error, the same messages. Globals (functions, operators) come
//! from the parse tree, so an item the resolver rejects still has them; locals come
//! from the resolved tree, whose slots say which binding each use reads.

use std::ops::Range;

use crate::error::Error;
use crate::frontend::parser::{Step, Tokens};
use crate::frontend::source::MAX_SOURCE_LEN;
use crate::session::{Outcome, Session};

mod collect;
mod query;
mod rename;

pub use query::{Completion, CompletionKind, Highlight};
pub use rename::RenameError;

/// What a name or operator refers to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Key {
    /// A function (its `def`s and `extern`s), by name.
    Function(String),
    /// A user-defined prefix operator.
    Unary(char),
    /// A user-defined binary operator.
    Binary(char),
    /// A built-in binary operator (`=` included).
    Builtin(char),
    /// A parameter or local variable: the index of its [`Symbol`].
    Local(usize),
}

/// What a definition defines.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SymbolKind {
    /// `def name(...)`
    Function,
    /// `extern name(...)`
    Extern,
    /// `def binaryX [precedence] (a b)`, with the precedence it declares.
    Binary(u32),
    /// `def unaryX(v)`
    Unary,
    /// A function's parameter.
    Parameter,
    /// A `for` or `var` variable.
    Variable,
}

/// One definition: of a function, an operator, a parameter or a local variable.
#[derive(Clone, Debug)]
pub struct Symbol {
    /// What uses of it name.
    pub key: Key,
    /// What it is.
    pub kind: SymbolKind,
    /// As shown: `fib`, `binary|`, `x`.
    pub name: String,
    /// The bytes of its name (an operator's character).
    pub range: Range<usize>,
    /// The whole item it is defined in.
    pub item: Range<usize>,
    /// `def fib(x)`, `extern sin(x)`, `def binary| 5 (a b)`; empty for locals.
    pub signature: String,
    /// For a local: the function it belongs to (`None` in a top-level expression).
    pub owner: Option<String>,
    /// Where its name is visible (a local's scope; the whole text for a global).
    pub scope: Range<usize>,
    /// Whether the front end accepted its item (an operator then exists after it).
    pub accepted: bool,
}

/// One place where a name or operator appears: a use, or the definition itself.
#[derive(Clone, Debug)]
pub struct Occurrence {
    /// Its bytes.
    pub range: Range<usize>,
    /// What it refers to.
    pub key: Key,
    /// Whether this is where the symbol is defined.
    pub declaration: bool,
    /// For a binary operator: its precedence at this point of the program.
    pub precedence: Option<u32>,
}

/// A diagnostic of the front end, as the CLI words it.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    /// The bytes it marks (never empty unless the text is).
    pub range: Range<usize>,
    /// The message (the CLI's first line).
    pub message: String,
    /// The CLI's label under the marked text.
    pub label: String,
}

/// Everything known about one document.
#[derive(Clone, Debug, Default)]
pub struct Analysis {
    text: String,
    /// The front end's errors, in order.
    pub diagnostics: Vec<Diagnostic>,
    /// Every definition, in the order of the text.
    pub symbols: Vec<Symbol>,
    /// Every occurrence, sorted by position.
    pub occurrences: Vec<Occurrence>,
}

impl Analysis {
    /// Analyzes `text`, a whole document.
    pub fn new(text: &str) -> Analysis {
        let mut analysis = Analysis {
            text: text.to_owned(),
            ..Analysis::default()
        };
        if text.len() > MAX_SOURCE_LEN {
            analysis.diagnostics.push(Diagnostic {
                range: 0..text.chars().next().map_or(0, char::len_utf8),
                message: format!(
                    "the document is larger than {} MiB, the most toy reads: not analyzed",
                    MAX_SOURCE_LEN >> 20
                ),
                label: "too large".into(),
            });
            return analysis;
        }
        let mut session = Session::new(None);
        let source = session.sources_mut().add("document", text);
        let tokens = Tokens::lex(text, source, 0);
        for step in tokens.items() {
            match step {
                Step::Error(err) => analysis.diagnose(&Error::from(err)),
                Step::Item { item, span, .. } => {
                    let first_symbol = analysis.symbols.len();
                    let first_use = analysis.occurrences.len();
                    let bindings = collect::syntax(&mut analysis, &item, span.range(), source);
                    match session.accept_item(item, span) {
                        Ok(Outcome::Resolved(resolved)) => {
                            for symbol in &mut analysis.symbols[first_symbol..] {
                                symbol.accepted = true;
                            }
                            collect::locals(&mut analysis, &resolved, &bindings);
                        }
                        Ok(_) => {}
                        Err(err) => analysis.diagnose(&err),
                    }
                    // The table as this item left it: its own operators are in it if
                    // it was accepted.
                    let operators = session.operators();
                    for occurrence in &mut analysis.occurrences[first_use..] {
                        if let Key::Binary(op) | Key::Builtin(op) = occurrence.key {
                            occurrence.precedence = operators.precedence(op);
                        }
                    }
                }
            }
        }
        analysis
            .occurrences
            .sort_by_key(|o| (o.range.start, o.range.end));
        analysis
    }

    /// The document's text.
    pub fn text(&self) -> &str {
        &self.text
    }

    fn diagnose(&mut self, err: &Error) {
        let text = &self.text;
        let mut range = err.span().range();
        range.end = range.end.min(text.len());
        range.start = range.start.min(range.end);
        if range.is_empty() {
            // As the CLI does: mark the character there, or the last one.
            if let Some(c) = text.get(range.start..).and_then(|t| t.chars().next()) {
                range.end = range.start + c.len_utf8();
            } else if let Some(c) = text.get(..range.start).and_then(|t| t.chars().next_back()) {
                range.start -= c.len_utf8();
            }
        }
        self.diagnostics.push(Diagnostic {
            range,
            message: err.to_string(),
            label: err.label(),
        });
    }
}

//! Questions about an [`Analysis`]: what is at a position, where it is defined and
//! used, what to show on hover, what to complete, how to colour each token.

use std::collections::BTreeMap;
use std::ops::Range;

use super::{Analysis, Key, Occurrence, Symbol, SymbolKind};
use crate::frontend::lexer::{Token, lex};
use crate::frontend::resolve::BUILTIN_BINARY;
use crate::frontend::source::{SourceId, line_starts};
use crate::runtime::EXTERNS;

/// The keywords of Kaleidoscope (the lexer's list).
pub use crate::frontend::lexer::KEYWORDS;

/// What a completion proposes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompletionKind {
    /// A keyword.
    Keyword,
    /// A function of the document (or, after `extern`, of the runtime).
    Function,
    /// A parameter or local variable in scope.
    Variable,
}

/// One proposal of [`Analysis::completions`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Completion {
    /// The text to insert.
    pub label: String,
    /// What it is.
    pub kind: CompletionKind,
    /// A signature or a short description.
    pub detail: String,
}

/// How to colour a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Highlight {
    /// `def`, `if`, ...
    Keyword,
    /// A number literal.
    Number,
    /// Any operator, built-in or user-defined.
    Operator,
    /// A function's name.
    Function,
    /// A parameter.
    Parameter,
    /// A local variable.
    Variable,
    /// A comment.
    Comment,
}

impl Analysis {
    /// The occurrence at byte `offset`, or the one that ends there (a cursor just after
    /// a name).
    pub fn occurrence_at(&self, offset: usize) -> Option<&Occurrence> {
        let after = self
            .occurrences
            .partition_point(|o| o.range.start <= offset);
        let before = &self.occurrences[..after];
        let inside = before.iter().rev().find(|o| offset < o.range.end);
        inside.or_else(|| before.iter().rev().find(|o| o.range.end == offset))
    }

    /// Every definition of `key`, in the order of the text.
    pub fn definitions<'a>(&'a self, key: &'a Key) -> impl Iterator<Item = &'a Symbol> + 'a {
        self.symbols.iter().filter(move |s| s.key == *key)
    }

    /// The definition in effect at `offset`: the last one before it (an operator's
    /// precedence is the one defined last), else the first after it (a call of a
    /// function defined later).
    pub fn definition_at<'a>(&'a self, key: &'a Key, offset: usize) -> Option<&'a Symbol> {
        let before = self
            .definitions(key)
            .filter(|s| s.range.start <= offset)
            .last();
        before.or_else(|| self.definitions(key).next())
    }

    /// Every occurrence of `key`, its definitions included.
    pub fn references<'a>(&'a self, key: &'a Key) -> impl Iterator<Item = &'a Occurrence> + 'a {
        self.occurrences.iter().filter(move |o| o.key == *key)
    }

    /// The 1-based line of byte `offset`.
    pub fn line(&self, offset: usize) -> usize {
        1 + line_starts(&self.text[..offset.min(self.text.len())]).count()
    }

    /// What to show when the pointer rests at `offset` (Markdown), and over which bytes.
    pub fn hover(&self, offset: usize) -> Option<(Range<usize>, String)> {
        let occurrence = self.occurrence_at(offset)?;
        let key = &occurrence.key;
        let defined = self.definition_at(key, occurrence.range.start);
        let at = |s: &Symbol| format!("defined on line {}", self.line(s.range.start));
        let code = |s: &Symbol| format!("```kaleidoscope\n{}\n```\n", s.signature);
        let text = match (key, defined) {
            (Key::Builtin(op), _) => {
                let precedence = BUILTIN_BINARY.iter().find(|(c, _)| c == op).map(|p| p.1);
                let what = if *op == '=' {
                    "assignment"
                } else {
                    "built-in binary operator"
                };
                format!("{what} `{op}`, precedence {}", precedence.unwrap_or(0))
            }
            (Key::Binary(op), Some(s)) => {
                let precedence = match (occurrence.precedence, s.kind) {
                    (Some(p), _) | (None, SymbolKind::Binary(p)) => p.to_string(),
                    _ => "unknown".into(),
                };
                let here = if occurrence.declaration { "" } else { " here" };
                format!(
                    "{}binary operator `{op}`, precedence {precedence}{here}; {}",
                    code(s),
                    at(s)
                )
            }
            (Key::Unary(op), Some(s)) => format!("{}unary operator `{op}`; {}", code(s), at(s)),
            (Key::Function(name), Some(s)) => {
                let count = self.definitions(key).count();
                let mut text = format!("{}{}", code(s), at(s));
                if s.kind == SymbolKind::Extern {
                    text.push_str(&format!(
                        "; `{name}` is a function of the runtime or the C math library"
                    ));
                } else if count > 1 {
                    text.push_str(&format!(
                        "; defined {count} times: a call runs the definition current when it runs"
                    ));
                }
                text
            }
            (Key::Local(_), Some(s)) => {
                let what = if s.kind == SymbolKind::Parameter {
                    "parameter"
                } else {
                    "variable"
                };
                match &s.owner {
                    Some(owner) => format!("{what} `{}` of `{owner}`", s.name),
                    None => format!("{what} `{}` of a top-level expression", s.name),
                }
            }
            (Key::Function(name), None) => format!("`{name}`: not defined in this document"),
            (Key::Binary(op) | Key::Unary(op), None) => {
                format!("operator `{op}`: not defined in this document")
            }
            (Key::Local(_), None) => return None,
        };
        Some((occurrence.range.clone(), text))
    }

    /// What may be typed at `offset`: keywords, the document's functions, the locals in
    /// scope (or, in an item that does not parse, the names it uses so far), and after
    /// `extern` the runtime's functions.
    pub fn completions(&self, offset: usize) -> Vec<Completion> {
        let offset = offset.min(self.text.len());
        let mut found: BTreeMap<String, Completion> = BTreeMap::new();
        let mut add = |label: &str, kind, detail: String| {
            found.entry(label.to_string()).or_insert(Completion {
                label: label.to_string(),
                kind,
                detail,
            });
        };
        let before: Vec<(Token<'_>, Range<usize>)> = lex(&self.text[..offset], SourceId(0), 0)
            .into_iter()
            .map(|(token, span)| (token, span.range()))
            .collect();
        // The token being typed does not count as the one before.
        let previous = match before.last() {
            Some((_, range)) if range.end == offset => before.iter().rev().nth(1),
            last => last,
        };
        if matches!(previous, Some((Token::Extern, _))) {
            for (name, arity) in EXTERNS {
                let params: Vec<String> = (0..*arity).map(|i| format!("x{i}")).collect();
                add(
                    name,
                    CompletionKind::Function,
                    format!("extern {name}({})", params.join(" ")),
                );
            }
            return found.into_values().collect();
        }
        for keyword in KEYWORDS {
            add(keyword, CompletionKind::Keyword, "keyword".into());
        }
        for symbol in &self.symbols {
            match symbol.kind {
                SymbolKind::Function | SymbolKind::Extern => add(
                    &symbol.name,
                    CompletionKind::Function,
                    symbol.signature.clone(),
                ),
                SymbolKind::Parameter | SymbolKind::Variable
                    if symbol.scope.start <= offset && offset <= symbol.scope.end =>
                {
                    add(
                        &symbol.name,
                        CompletionKind::Variable,
                        self.describe(symbol),
                    )
                }
                _ => {}
            }
        }
        // In an item the parser rejected, no locals are known: offer the names it
        // mentions since its `def`.
        let item_start = before
            .iter()
            .rposition(|(t, _)| matches!(t, Token::Def | Token::Extern | Token::Semi));
        let resolved = self
            .symbols
            .iter()
            .any(|s| s.item.start <= offset && offset <= s.item.end);
        if let (Some(start), false) = (item_start, resolved) {
            for (token, range) in &before[start..] {
                if let Token::Ident(name) = token
                    && range.end != offset
                {
                    add(name, CompletionKind::Variable, "a name of this item".into());
                }
            }
        }
        found.into_values().collect()
    }

    fn describe(&self, symbol: &Symbol) -> String {
        let what = if symbol.kind == SymbolKind::Parameter {
            "parameter"
        } else {
            "variable"
        };
        match &symbol.owner {
            Some(owner) => format!("{what} of {owner}"),
            None => what.into(),
        }
    }

    /// Every token to colour, in order, with whether it is a definition: keywords,
    /// numbers, operators, names by what they refer to, and comments.
    pub fn highlights(&self) -> Vec<(Range<usize>, Highlight, bool)> {
        let text = &self.text;
        let mut out = Vec::new();
        let mut gap_start = 0;
        let mut uses = self.occurrences.iter().peekable();
        let comments = |from: usize, to: usize, out: &mut Vec<_>| {
            // Between tokens there is only white space and comments.
            let mut at = from;
            while let Some(hash) = text[at..to].find('#') {
                let start = at + hash;
                let end = text[start..to].find(['\n', '\r']).map_or(to, |i| start + i);
                out.push((start..end, Highlight::Comment, false));
                at = end;
            }
        };
        for (token, span) in lex(text, SourceId(0), 0) {
            let range = span.range();
            comments(gap_start, range.start, &mut out);
            gap_start = range.end;
            let highlight = match token {
                Token::Number(_) => Highlight::Number,
                Token::Op(_) => Highlight::Operator,
                Token::Ident(_) => Highlight::Variable,
                Token::LParen | Token::RParen | Token::Comma | Token::Semi | Token::Error(_) => {
                    continue;
                }
                _ => Highlight::Keyword,
            };
            while uses.next_if(|o| o.range.start < range.start).is_some() {}
            let occurrence = uses.peek().filter(|o| o.range == range);
            let declaration = occurrence.is_some_and(|o| o.declaration);
            let highlight = match (highlight, occurrence.map(|o| &o.key)) {
                (Highlight::Variable, Some(Key::Function(_))) => Highlight::Function,
                (Highlight::Variable, Some(Key::Local(i))) => match self.symbols[*i].kind {
                    SymbolKind::Parameter => Highlight::Parameter,
                    _ => Highlight::Variable,
                },
                (other, _) => other,
            };
            out.push((range, highlight, declaration));
        }
        comments(gap_start, text.len(), &mut out);
        out
    }
}

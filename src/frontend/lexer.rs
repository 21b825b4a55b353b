//! The lexer: source text to tokens, with logos.

use std::fmt;
use std::ops::Range;

use logos::Logos;

use super::source::{SourceId, Span};
use crate::error::ProgramError;

// ANCHOR: token
/// A Kaleidoscope token.
#[derive(Logos, Clone, Copy, Debug, PartialEq)]
#[logos(error(LexError, LexError::from_lexer))]
// White space is C's `isspace` (space, \t, \n, \v, \f, \r) and a comment ends at \n or
// \r, as in the C++ tutorial's lexer.
#[logos(skip r"[ \t\n\x0B\x0C\r]+")]
#[logos(skip(r"#[^\n\r]*", allow_greedy = true))]
pub enum Token<'src> {
    /// `def`
    #[token("def")]
    Def,
    /// `extern`
    #[token("extern")]
    Extern,
    /// `if`
    #[token("if")]
    If,
    /// `then`
    #[token("then")]
    Then,
    /// `else`
    #[token("else")]
    Else,
    /// `for`
    #[token("for")]
    For,
    /// `in`
    #[token("in")]
    In,
    /// `binary`
    #[token("binary")]
    Binary,
    /// `unary`
    #[token("unary")]
    Unary,
    /// `var`
    #[token("var")]
    Var,
    /// An identifier: a letter, then letters and digits.
    #[regex("[A-Za-z][A-Za-z0-9]*")]
    Ident(&'src str),
    /// A number: digits with at most one `.` (`1`, `1.5`, `.5`, `2.`).
    // A whole run of digits and dots is one token, so `1.2.3` is one malformed number
    // instead of the two numbers `1.2` and `.3`.
    #[regex(r"[0-9][0-9.]*|\.[0-9][0-9.]*", number)]
    Number(f64),
    /// `(`
    #[token("(")]
    LParen,
    /// `)`
    #[token(")")]
    RParen,
    /// `,`
    #[token(",")]
    Comma,
    /// `;`
    #[token(";")]
    Semi,
    /// Any other ASCII punctuation character: a built-in or user-defined operator.
    #[regex(r#"[!"$%&'*+\-./:<=>?@\[\\\]^_`{|}~]"#, |lex| lex.slice().chars().next())]
    Op(char),
    /// Text that is no token; the parser reports it where it meets it, so that the
    /// items before it still run.
    Error(LexError),
}
// ANCHOR_END: token

/// Why a piece of text is not a token.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum LexError {
    /// A character that starts no token.
    UnexpectedChar(char),
    /// A run of digits and dots that is not a number, such as `1.2.3`.
    MalformedNumber,
    /// Logos' catch-all; never produced in practice.
    #[default]
    Other,
}

impl LexError {
    fn from_lexer<'s>(lex: &mut logos::Lexer<'s, Token<'s>>) -> Self {
        match lex.slice().chars().next() {
            Some(c) => LexError::UnexpectedChar(c),
            None => LexError::Other,
        }
    }
}

fn number<'src>(lex: &mut logos::Lexer<'src, Token<'src>>) -> Result<f64, LexError> {
    let text = lex.slice();
    if text.matches('.').count() > 1 {
        return Err(LexError::MalformedNumber);
    }
    text.parse().map_err(|_| LexError::MalformedNumber)
}

impl fmt::Display for Token<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Def => f.write_str("`def`"),
            Token::Extern => f.write_str("`extern`"),
            Token::If => f.write_str("`if`"),
            Token::Then => f.write_str("`then`"),
            Token::Else => f.write_str("`else`"),
            Token::For => f.write_str("`for`"),
            Token::In => f.write_str("`in`"),
            Token::Binary => f.write_str("`binary`"),
            Token::Unary => f.write_str("`unary`"),
            Token::Var => f.write_str("`var`"),
            Token::Ident(name) => write!(f, "identifier `{name}`"),
            Token::Number(_) => f.write_str("number"),
            Token::LParen => f.write_str("`(`"),
            Token::RParen => f.write_str("`)`"),
            Token::Comma => f.write_str("`,`"),
            Token::Semi => f.write_str("`;`"),
            Token::Op(c) => write!(f, "operator `{c}`"),
            Token::Error(_) => f.write_str("invalid token"),
        }
    }
}

impl Token<'_> {
    /// A short name of the token's kind, for `--emit=tokens`.
    pub fn kind(&self) -> &'static str {
        match self {
            Token::Ident(_) => "ident",
            Token::Number(_) => "number",
            Token::Op(_) => "op",
            Token::LParen | Token::RParen | Token::Comma | Token::Semi => "punct",
            Token::Error(_) => "error",
            _ => "keyword",
        }
    }
}

/// Tokens of `text[start..]`, with spans in `source`; text that is no token becomes
/// [`Token::Error`].
pub fn lex(text: &str, source: SourceId, start: usize) -> Vec<(Token<'_>, Span)> {
    let mut tokens = Vec::new();
    let mut lexer = Token::lexer(&text[start..]);
    while let Some(token) = lexer.next() {
        let range = lexer.span();
        let span = Span::new(source, start + range.start, start + range.end);
        tokens.push((token.unwrap_or_else(Token::Error), span));
    }
    tokens
}

/// The byte ranges of the comments in `text` (each from its `#` up to, not including,
/// the line end), which the lexer skips: for tools that keep them, such as the
/// formatter. The parser never sees them.
pub fn comments(text: &str) -> Vec<Range<usize>> {
    let mut found = Vec::new();
    let mut gap_start = 0;
    let ends = lex(text, SourceId(0), 0)
        .into_iter()
        .map(|(_, span)| (span.start, span.end))
        .chain([(text.len(), text.len())]);
    // Between tokens there is only white space and comments, so every `#` there
    // starts one.
    for (start, end) in ends {
        let mut at = gap_start;
        while let Some(hash) = text[at..start].find('#') {
            let from = at + hash;
            let to = text[from..start]
                .find(['\n', '\r'])
                .map_or(start, |n| from + n);
            found.push(from..to);
            at = to;
        }
        gap_start = end;
    }
    found
}

/// The diagnostic for an error token.
pub fn lex_error(err: LexError, text: &str, span: Span) -> ProgramError {
    match err {
        LexError::MalformedNumber => ProgramError::MalformedNumber {
            text: text[span.range()].to_string(),
            span,
        },
        // Input that is not UTF-8 reaches the lexer as U+FFFD.
        LexError::UnexpectedChar('\u{FFFD}') => ProgramError::InvalidUtf8 { span },
        LexError::UnexpectedChar(ch) => ProgramError::UnexpectedChar { ch, span },
        LexError::Other => ProgramError::UnexpectedChar {
            ch: text[span.range()].chars().next().unwrap_or('?'),
            span,
        },
    }
}

/// Every keyword as typed (for completion in the REPL and notebooks).
pub const KEYWORDS: [&str; 10] = [
    "def", "extern", "if", "then", "else", "for", "in", "binary", "unary", "var",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<Token<'_>> {
        lex(text, SourceId(0), 0)
            .into_iter()
            .map(|(t, _)| t)
            .collect()
    }

    #[test]
    fn keywords_identifiers_and_numbers() {
        assert_eq!(
            kinds("def foo2(x) x*1.5 + .5 - 2. # comment"),
            vec![
                Token::Def,
                Token::Ident("foo2"),
                Token::LParen,
                Token::Ident("x"),
                Token::RParen,
                Token::Ident("x"),
                Token::Op('*'),
                Token::Number(1.5),
                Token::Op('+'),
                Token::Number(0.5),
                Token::Op('-'),
                Token::Number(2.0),
            ]
        );
    }

    #[test]
    fn keyword_prefixes_are_identifiers() {
        assert_eq!(
            kinds("define iff variable"),
            vec![
                Token::Ident("define"),
                Token::Ident("iff"),
                Token::Ident("variable")
            ]
        );
    }

    #[test]
    fn white_space_is_c_isspace_and_a_comment_ends_at_cr_or_lf() {
        assert_eq!(
            kinds("1\x0B2\x0C3\r4 # c\r5 # d\r\n6 # e\n7"),
            (1..=7).map(|n| Token::Number(n.into())).collect::<Vec<_>>()
        );
    }

    #[test]
    fn comment_at_end_of_input_without_newline() {
        assert_eq!(kinds("1 # done"), vec![Token::Number(1.0)]);
        assert_eq!(kinds("#"), vec![]);
    }

    #[test]
    fn punctuation_is_an_operator_but_structure_is_not() {
        assert_eq!(
            kinds("! | & : . ; , ( )"),
            vec![
                Token::Op('!'),
                Token::Op('|'),
                Token::Op('&'),
                Token::Op(':'),
                Token::Op('.'),
                Token::Semi,
                Token::Comma,
                Token::LParen,
                Token::RParen,
            ]
        );
    }

    #[test]
    fn malformed_number_is_one_error_token_with_its_span() {
        let text = "x = 1.2.3;";
        let tokens = lex(text, SourceId(0), 0);
        assert_eq!(tokens.len(), 4);
        let (token, span) = tokens[2];
        assert_eq!(token, Token::Error(LexError::MalformedNumber));
        assert_eq!(span.range(), 4..9);
        match lex_error(LexError::MalformedNumber, text, span) {
            ProgramError::MalformedNumber { text, .. } => assert_eq!(text, "1.2.3"),
            other => panic!("expected a malformed number, got {other:?}"),
        }
        assert_eq!(kinds("1..")[0], Token::Error(LexError::MalformedNumber));
    }

    #[test]
    fn unexpected_characters() {
        for (text, ch) in [("1 é", 'é'), ("a\0", '\0'), ("{\u{1F600}", '\u{1F600}')] {
            let last = *kinds(text).last().expect("a token");
            assert_eq!(last, Token::Error(LexError::UnexpectedChar(ch)), "{text:?}");
        }
    }

    #[test]
    fn comments_are_found_where_the_lexer_skips_them() {
        let text = "# a\r1 # b # c\n#\n2#d";
        let found: Vec<&str> = comments(text).into_iter().map(|r| &text[r]).collect();
        assert_eq!(found, ["# a", "# b # c", "#", "#d"]);
        assert!(comments("1 + 2").is_empty());
        // A `#` after an invalid token still starts a comment.
        assert_eq!(comments("1.2.3#x"), vec![5..7]);
    }

    #[test]
    fn spans_are_offset_by_start() {
        let tokens = lex("  ab cd", SourceId(3), 2);
        assert_eq!(tokens[0].1, Span::new(SourceId(3), 2, 4));
        assert_eq!(tokens[1].1, Span::new(SourceId(3), 5, 7));
    }

    #[test]
    fn the_keyword_list_names_distinct_keyword_tokens() {
        let mut seen = Vec::new();
        for keyword in KEYWORDS {
            let tokens = kinds(keyword);
            assert_eq!(tokens.len(), 1, "{keyword}");
            assert_eq!(tokens[0].kind(), "keyword", "{keyword}");
            assert!(!seen.contains(&tokens[0]), "{keyword} twice");
            seen.push(tokens[0]);
        }
    }
}

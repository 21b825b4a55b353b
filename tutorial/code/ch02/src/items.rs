// ANCHOR: head
//! Top-level items: the tokens between two `;` tokens.

use crate::lexer::{Spanned, Token};
use crate::source::line_col;
// ANCHOR_END: head

// ANCHOR: item
/// One top-level item: where it starts and what it says.
#[derive(Debug, PartialEq)]
pub struct Item {
    /// The line of the item's first character (from 1).
    pub line: usize,
    /// The column of the item's first character (from 1).
    pub col: usize,
    /// The item's tokens as they are written, separated by one space.
    pub text: String,
}
// ANCHOR_END: item

// ANCHOR: split
/// Splits the token stream of `source` at every `;` token, dropping empty items.
pub fn split(source: &str, tokens: &[Spanned<'_>]) -> Vec<Item> {
    let mut items = Vec::new();
    for group in tokens.split(|(token, _)| *token == Token::Semi) {
        let Some((_, first)) = group.first() else {
            continue; // nothing between two `;`
        };
        let (line, col) = line_col(source, first.start);
        let words: Vec<&str> = group
            .iter()
            .map(|(_, span)| &source[span.clone()])
            .collect();
        items.push(Item {
            line,
            col,
            text: words.join(" "),
        });
    }
    items
}
// ANCHOR_END: split

// ANCHOR: tests
#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexer::lex;

    fn texts(source: &str) -> Vec<String> {
        split(source, &lex(source))
            .into_iter()
            .map(|item| item.text)
            .collect()
    }

    #[test]
    fn items_end_at_semicolons() {
        let source = "def double(x)\n  x * 2;\n\ndouble(21);";
        let items = split(source, &lex(source));
        assert_eq!(
            items,
            vec![
                Item {
                    line: 1,
                    col: 1,
                    text: "def double ( x ) x * 2".into()
                },
                Item {
                    line: 4,
                    col: 1,
                    text: "double ( 21 )".into()
                },
            ]
        );
    }

    #[test]
    fn empty_items_are_dropped() {
        assert_eq!(texts(" ;; 1; \n"), vec!["1"]);
    }

    // ANCHOR: flaw
    #[test]
    fn a_semicolon_in_a_comment_is_part_of_the_comment() {
        // What chapter 1's text splitting got wrong: the comment is skipped whole.
        assert_eq!(
            texts("# halve; then add one\ndef f(x) x / 2 + 1;"),
            vec!["def f ( x ) x / 2 + 1"]
        );
    }
    // ANCHOR_END: flaw
}
// ANCHOR_END: tests

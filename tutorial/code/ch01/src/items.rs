// ANCHOR: head
//! Top-level items, split the naive way: at every `;` of the text.

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
    /// The item's text, each run of white space (newlines too) shown as one space.
    pub text: String,
}
// ANCHOR_END: item

// ANCHOR: split
/// Splits `source` at every `;`, dropping empty items.
pub fn split(source: &str) -> Vec<Item> {
    let mut items = Vec::new();
    let mut start = 0; // byte offset of `piece` in `source`
    for piece in source.split(';') {
        let trimmed = piece.trim_start();
        let offset = start + (piece.len() - trimmed.len());
        let text = trimmed.split_whitespace().collect::<Vec<_>>().join(" ");
        if !text.is_empty() {
            let (line, col) = line_col(source, offset);
            items.push(Item { line, col, text });
        }
        start += piece.len() + 1; // the piece and its `;`
    }
    items
}
// ANCHOR_END: split

// ANCHOR: tests
#[cfg(test)]
mod tests {
    use super::*;

    fn texts(source: &str) -> Vec<String> {
        split(source).into_iter().map(|item| item.text).collect()
    }

    #[test]
    fn items_end_at_semicolons() {
        let items = split("def double(x)\n  x * 2;\n\ndouble(21);");
        assert_eq!(
            items,
            vec![
                Item {
                    line: 1,
                    col: 1,
                    text: "def double(x) x * 2".into()
                },
                Item {
                    line: 4,
                    col: 1,
                    text: "double(21)".into()
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
    fn a_semicolon_in_a_comment_splits_the_text() {
        // The flaw of splitting text: this `;` is not the end of an item.
        assert_eq!(
            texts("# halve; then add one\ndef f(x) x / 2 + 1;"),
            vec!["# halve", "then add one def f(x) x / 2 + 1"]
        );
    }
    // ANCHOR_END: flaw
}
// ANCHOR_END: tests

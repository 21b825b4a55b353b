//! Positions in the program text: byte offsets, as the program sees them, and
//! line:column, as a person reads them.

/// Line starts, found once, so that each position costs a binary search instead of
/// a walk from the start of the text (exercise 2 of chapter 2).
pub struct LineIndex<'src> {
    text: &'src str,
    /// The byte offset of every line's first character; the first is 0.
    starts: Vec<usize>,
}

impl<'src> LineIndex<'src> {
    /// Indexes `text`: one pass over it.
    pub fn new(text: &'src str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex { text, starts }
    }

    /// The 1-based line and column (counted in characters) of byte `offset`.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        // The number of line starts at or before `offset` is the line's number.
        let line = self.starts.partition_point(|&start| start <= offset);
        let start = self.starts[line - 1];
        (line, self.text[start..offset].chars().count() + 1)
    }
}

/// The 1-based line and column (counted in characters) of byte `offset` of `text`:
/// chapter 2's version, kept as the oracle that `LineIndex` is tested against.
#[cfg(test)]
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    // The column counts characters, not bytes, so `é` moves it by one.
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns_start_at_one() {
        let text = "ab\ncd\n\né";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 1), (1, 2));
        assert_eq!(line_col(text, 3), (2, 1));
        assert_eq!(line_col(text, 7), (4, 1));
        assert_eq!(line_col(text, text.len()), (4, 2));
    }

    #[test]
    fn the_index_agrees_with_the_walk_everywhere() {
        let text = "def f(x)\n  x * 2;\r\n\n# é è\nf(1)\n";
        let index = LineIndex::new(text);
        for (offset, _) in text.char_indices().chain([(text.len(), ' ')]) {
            assert_eq!(
                index.line_col(offset),
                line_col(text, offset),
                "at {offset}"
            );
        }
    }

    #[test]
    fn a_windows_line_end_is_one_line_end() {
        // `\r\n`: the `\r` is the last character of its line, the `\n` ends it.
        assert_eq!(line_col("a\r\nb", 3), (2, 1));
    }
}

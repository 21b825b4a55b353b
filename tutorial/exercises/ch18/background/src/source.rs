//! Positions in the program text: byte offsets, as the program sees them, and
//! line:column, as a person reads them.

/// The 1-based line and column (counted in characters) of byte `offset` of `text`.
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
    fn a_windows_line_end_is_one_line_end() {
        // `\r\n`: the `\r` is the last character of its line, the `\n` ends it.
        assert_eq!(line_col("a\r\nb", 3), (2, 1));
    }
}

//! Byte offsets to LSP positions and back: lines end at LF, CR LF or CR (LSP's rule,
//! not the CLI's, which also ends lines at VT and FF), columns count UTF-16 code units.

use lsp_types::{Position, Range};

/// Where each line of a text starts, and where its non-ASCII characters are: a
/// position costs two binary searches, however long its line (answers listing
/// thousands of places on one line stay linear).
#[derive(Clone, Debug)]
pub struct LineIndex {
    starts: Vec<usize>,
    len: usize,
    /// Byte offset of each non-ASCII character.
    wide: Vec<usize>,
    /// `saved[i]`: bytes minus UTF-16 units of the first `i` non-ASCII characters.
    saved: Vec<usize>,
}

impl LineIndex {
    /// The index of `text`.
    pub fn new(text: &str) -> Self {
        let bytes = text.as_bytes();
        let mut starts = vec![0];
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')) {
                starts.push(i + 1);
            }
        }
        let mut wide = Vec::new();
        let mut saved = vec![0];
        for (i, c) in text.char_indices().filter(|(_, c)| !c.is_ascii()) {
            wide.push(i);
            saved.push(saved[saved.len() - 1] + c.len_utf8() - c.len_utf16());
        }
        LineIndex {
            starts,
            len: text.len(),
            wide,
            saved,
        }
    }

    /// The position of byte `offset` of `text` (the text this index was built from).
    pub fn position(&self, text: &str, offset: usize) -> Position {
        let mut offset = offset.min(self.len);
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|&s| s <= offset).max(1) - 1;
        let start = self.starts[line];
        let from = self.wide.partition_point(|&w| w < start);
        let to = self.wide.partition_point(|&w| w < offset);
        let character = offset - start - (self.saved[to] - self.saved[from]);
        Position::new(line as u32, character as u32)
    }

    /// The range of bytes `range` of `text`.
    pub fn range(&self, text: &str, range: std::ops::Range<usize>) -> Range {
        Range::new(
            self.position(text, range.start),
            self.position(text, range.end),
        )
    }

    /// The byte offset of `position` in `text`. As LSP says, a column past the end of
    /// its line means the line's end; a line past the last means the end of the text.
    pub fn offset(&self, text: &str, position: Position) -> usize {
        let Some(&start) = self.starts.get(position.line as usize) else {
            return self.len;
        };
        let end = self
            .starts
            .get(position.line as usize + 1)
            .copied()
            .unwrap_or(self.len);
        let line = text[start..end].trim_end_matches(['\n', '\r']);
        let mut units = 0;
        for (i, c) in line.char_indices() {
            if units >= position.character as usize {
                return start + i;
            }
            units += c.len_utf16();
        }
        start + line.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_count_utf16_units_and_lines_end_at_lf_crlf_and_cr() {
        let text = "# é😀\r\nab\rcd\x0Bx\n";
        let index = LineIndex::new(text);
        let x = text.find('x').expect("in the text");
        // VT does not end a line for LSP.
        assert_eq!(index.position(text, x), Position::new(2, 3));
        assert_eq!(index.offset(text, Position::new(2, 3)), x);
        // 'é' is one unit, '😀' two.
        let end = text.find('\r').expect("in the text");
        assert_eq!(index.position(text, end), Position::new(0, 5));
        assert_eq!(index.offset(text, Position::new(0, 99)), end);
        assert_eq!(index.offset(text, Position::new(1, 1)), end + 3);
        assert_eq!(index.offset(text, Position::new(9, 0)), text.len());
    }
}

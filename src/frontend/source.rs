//! Source texts and the spans that point into them.
//!
//! Every byte the front end reads lives in a [`SourceMap`]: files are added whole,
//! while the REPL and standard input *append* to one growing source each, so that
//! line numbers keep counting across entries and every span stays valid forever.

use std::ops::Range;

/// Index of a source in its [`SourceMap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceId(pub u32);

/// A byte range in one source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Span {
    /// The source the range belongs to.
    pub source: SourceId,
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end` in `source`.
    pub fn new(source: SourceId, start: usize, end: usize) -> Self {
        Span { source, start, end }
    }

    /// The smallest span covering both `self` and `other` (same source).
    pub fn to(self, other: Span) -> Span {
        Span::new(
            self.source,
            self.start.min(other.start),
            self.end.max(other.end),
        )
    }

    /// The byte range.
    pub fn range(self) -> Range<usize> {
        self.start..self.end
    }
}

/// One named text.
#[derive(Debug)]
pub struct Source {
    /// Shown in diagnostics: a path, `<stdin>` or `<repl>`.
    pub name: String,
    /// The text read so far.
    pub text: String,
}

/// Line starts of a source as it was at one moment: positions for debug information,
/// kept by an engine that compiles lazily (spans of text appended later are not in it).
#[derive(Debug)]
pub struct SourceLines {
    /// The file's name, without its directory (`<stdin>` or `<repl>` otherwise).
    pub file: String,
    /// Its directory (the working directory for `<stdin>` and `<repl>`).
    pub directory: String,
    starts: Vec<usize>,
}

impl SourceLines {
    /// 1-based line and column (in bytes) of a byte offset.
    pub fn position(&self, offset: usize) -> (u32, u32) {
        // `starts[0]` is 0, so at least one start is at or before `offset`.
        let line = self.starts.partition_point(|&start| start <= offset).max(1);
        let start = self.starts[line - 1];
        (line as u32, (offset - start + 1) as u32)
    }
}

/// All sources of a session.
#[derive(Debug, Default)]
pub struct SourceMap {
    sources: Vec<Source>,
}

impl SourceMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a source and returns its id.
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<String>) -> SourceId {
        let id = SourceId(self.sources.len() as u32);
        self.sources.push(Source {
            name: name.into(),
            text: text.into(),
        });
        id
    }

    /// Appends text to a growing source (REPL, standard input); returns where it starts.
    pub fn append(&mut self, id: SourceId, text: &str) -> usize {
        let src = &mut self.sources[id.0 as usize];
        let start = src.text.len();
        src.text.push_str(text);
        start
    }

    /// The source with this id.
    pub fn get(&self, id: SourceId) -> &Source {
        &self.sources[id.0 as usize]
    }

    /// The line starts of source `id` as its text is now, with its file name split
    /// into directory and file (made absolute when the file exists).
    pub fn lines(&self, id: SourceId) -> SourceLines {
        let source = self.get(id);
        let path = std::path::Path::new(&source.name);
        let absolute = std::fs::canonicalize(path).ok();
        let (file, directory) = match &absolute {
            Some(path) => (
                path.file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
                path.parent()
                    .map_or_else(String::new, |d| d.display().to_string()),
            ),
            None => (
                source.name.clone(),
                std::env::current_dir()
                    .map(|d| d.display().to_string())
                    .unwrap_or_default(),
            ),
        };
        let mut starts = vec![0];
        starts.extend(line_starts(&source.text));
        SourceLines {
            file,
            directory,
            starts,
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, id: SourceId, offset: usize) -> (usize, usize) {
        let text = &self.get(id).text;
        let offset = offset.min(text.len());
        let before = &text[..floor_char_boundary(text, offset)];
        let (mut line, mut line_start) = (1, 0);
        for start in line_starts(text).take_while(|&start| start <= before.len()) {
            (line, line_start) = (line + 1, start);
        }
        let col = before[line_start..].chars().count() + 1;
        (line, col)
    }
}

/// Where lines of `text` start, after the first: a line ends at LF, CR LF, a bare CR
/// (which also ends a comment), VT or FF, as the diagnostics' renderer (ariadne) counts
/// them, so that every position toy prints agrees with it.
pub fn line_starts(text: &str) -> impl Iterator<Item = usize> + '_ {
    let bytes = text.as_bytes();
    bytes.iter().enumerate().filter_map(move |(i, &b)| {
        let ends = match b {
            b'\n' | b'\x0B' | b'\x0C' => true,
            b'\r' => bytes.get(i + 1) != Some(&b'\n'),
            _ => false,
        };
        ends.then_some(i + 1)
    })
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_lines_and_characters() {
        let mut map = SourceMap::new();
        let id = map.add("t", "ab\nçd\n");
        assert_eq!(map.line_col(id, 0), (1, 1));
        assert_eq!(map.line_col(id, 3), (2, 1));
        // 'ç' is two bytes: 'd' is the second character of line 2.
        assert_eq!(map.line_col(id, 5), (2, 2));
        let at = map.append(id, "x");
        assert_eq!(map.line_col(id, at), (3, 1));
    }

    #[test]
    fn lines_give_positions_like_line_col_for_ascii() {
        let mut map = SourceMap::new();
        let id = map.add("no/such/file.ks", "def f(x)\n  x + 1;\n\nf(2);\n");
        let lines = map.lines(id);
        assert_eq!(lines.file, "no/such/file.ks");
        for offset in [0, 3, 8, 9, 11, 17, 18, 19, 23] {
            let (line, col) = map.line_col(id, offset);
            assert_eq!(
                lines.position(offset),
                (line as u32, col as u32),
                "{offset}"
            );
        }
    }

    #[test]
    fn lines_end_at_lf_crlf_cr_vt_and_ff() {
        let mut map = SourceMap::new();
        let text = "a\r\nb\rc\x0Bd\x0Ce\n\rf";
        let id = map.add("t", text);
        let lines = map.lines(id);
        for (ch, expected) in [('a', 1), ('b', 2), ('c', 3), ('d', 4), ('e', 5), ('f', 7)] {
            let offset = text.find(ch).expect("in the text");
            assert_eq!(map.line_col(id, offset), (expected, 1), "{ch}");
            assert_eq!(lines.position(offset), (expected as u32, 1), "{ch}");
        }
        // The LF of a CR LF is on the line the CR ends.
        assert_eq!(map.line_col(id, 2), (1, 3));
    }
}

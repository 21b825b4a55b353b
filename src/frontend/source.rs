//! Source texts and the spans that point into them.
//!
//! Every byte the front end reads lives in a [`SourceMap`]: files are added whole,
//! while the REPL and standard input *append* to one growing source each, so that
//! line numbers keep counting across entries and every span stays valid forever.

use std::ops::Range;

/// The most text one source may hold (64 MiB): a file, `:load`ed file or piped
/// standard input beyond it is refused by the driver, so input cannot exhaust memory.
pub const MAX_SOURCE_LEN: usize = 64 << 20;

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
    /// Where each line starts (`starts[0]` is 0), extended as text is appended: so a
    /// position costs a binary search, never a scan of the text before it.
    starts: Vec<usize>,
}

impl Source {
    /// Records the lines of `text[from..]`.
    fn index_from(&mut self, from: usize) {
        #[cfg(test)]
        SCANNED.with(|n| n.set(n.get() + self.text.len() - from));
        // A CR that ended the text so far was a bare CR; if the new text starts with
        // LF, the two are one CR LF: one line end, after the LF.
        if from > 0
            && self.starts.last() == Some(&from)
            && self.text.as_bytes()[from - 1] == b'\r'
            && self.text.as_bytes().get(from) == Some(&b'\n')
        {
            self.starts.pop();
        }
        let new = line_starts(&self.text[from..]);
        self.starts.extend(new.map(|start| from + start));
    }

    /// The 1-based line holding byte `offset`, and the byte where that line starts.
    pub fn line_of(&self, offset: usize) -> (usize, usize) {
        // `starts[0]` is 0, so at least one start is at or before `offset`.
        let line = self.starts.partition_point(|&start| start <= offset).max(1);
        (line, self.starts[line - 1])
    }

    /// The bytes of the whole lines that `range` touches, and the first one's number:
    /// what a diagnostic shows, without the rest of the text.
    pub fn lines_around(&self, range: Range<usize>) -> (usize, Range<usize>) {
        let (line, start) = self.line_of(range.start);
        // The last byte of the range, not the one after it (which may start a line).
        let (last, _) = self.line_of((range.end.max(range.start + 1)) - 1);
        let end = self.starts.get(last).copied().unwrap_or(self.text.len());
        (line, start..end)
    }
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
        let mut source = Source {
            name: name.into(),
            text: text.into(),
            starts: vec![0],
        };
        source.index_from(0);
        self.sources.push(source);
        id
    }

    /// Appends text to a growing source (REPL, standard input); returns where it starts.
    pub fn append(&mut self, id: SourceId, text: &str) -> usize {
        let src = &mut self.sources[id.0 as usize];
        let start = src.text.len();
        src.text.push_str(text);
        src.index_from(start);
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
        SourceLines {
            file,
            directory,
            starts: source.starts.clone(),
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, id: SourceId, offset: usize) -> (usize, usize) {
        let source = self.get(id);
        let text = &source.text;
        let offset = floor_char_boundary(text, offset.min(text.len()));
        let (line, line_start) = source.line_of(offset);
        let col = text[line_start..offset].chars().count() + 1;
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
thread_local! {
    /// Bytes of source text examined to find lines (per thread: tests run in parallel).
    static SCANNED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scanned() -> usize {
        SCANNED.with(|n| n.get())
    }

    #[test]
    fn a_cr_lf_split_between_appends_is_one_line_end() {
        let mut map = SourceMap::new();
        let id = map.add("<stdin>", "a\r");
        map.append(id, "\nb\rc\x0bd");
        let text = map.get(id).text.clone();
        let at = |c: char| map.line_col(id, text.find(c).expect("in the text"));
        assert_eq!(
            [at('a'), at('b'), at('c'), at('d')],
            [(1, 1), (2, 1), (3, 1), (4, 1)]
        );
    }

    #[test]
    fn lines_are_indexed_once_not_per_look_up() {
        let line = "def f(x) x + 1; # a line of a long file\n";
        let mut map = SourceMap::new();
        let id = map.add("big.ks", line.repeat(10_000));
        let at = map.append(id, &line.repeat(10_000));
        let len = map.get(id).text.len();
        for i in (0..len).step_by(line.len()) {
            assert_eq!(map.line_col(id, i + 4), (i / line.len() + 1, 5));
        }
        assert_eq!(map.line_col(id, at), (10_001, 1));
        let source = map.get(id);
        let n = line.len();
        assert_eq!(source.lines_around(n + 4..n + 8), (2, n..2 * n));
        assert_eq!(source.lines_around(n + 4..2 * n + 1), (2, n..3 * n));
        assert_eq!(
            source.lines_around(n..2 * n),
            (2, n..2 * n),
            "ends at a newline"
        );
        assert_eq!(source.lines_around(len..len), (20_001, len..len));
        // Each byte is looked at once, when it is added: a diagnostic costs a search
        // of the index, not a scan of the text before it.
        assert_eq!(scanned(), len);
    }

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

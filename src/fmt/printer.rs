//! The output of the formatter: lines, indentation, and the comments of the source,
//! each written before the first token that followed it there.

use std::ops::Range;

use super::INDENT;

/// Indentation stops growing here, so that a deeply nested (hostile) program's
/// output grows linearly with its size.
pub const MAX_INDENT: usize = 64;

/// A comment of the source and how it stood there.
#[derive(Debug)]
pub struct Comment {
    /// From `#` to the end of its line (excluded).
    pub range: Range<usize>,
    /// It followed a token on the same line (else it had a line of its own).
    pub trailing: bool,
    /// An empty line separated it from what came before.
    pub blank_before: bool,
}

/// Text being formatted, and the formatted text so far.
pub struct Printer<'a> {
    /// The source.
    pub text: &'a str,
    comments: Vec<Comment>,
    /// The next comment to write.
    next: usize,
    /// The output.
    out: String,
    /// Where the output's last line starts.
    line_start: usize,
    /// A comment ended the current line: the next token goes on a new line.
    break_pending: bool,
    /// The indentation of a line that a comment forces where the layout has none.
    pub cont: usize,
    /// Where each comment that follows code on its line starts in the output (at the
    /// end of that code), to align them.
    trailing: Vec<usize>,
}

impl<'a> Printer<'a> {
    /// A printer of `text`, whose comments are `comments` (in order).
    pub fn new(text: &'a str, comments: Vec<Comment>) -> Self {
        Printer {
            text,
            comments,
            next: 0,
            out: String::new(),
            line_start: 0,
            break_pending: false,
            cont: INDENT,
            trailing: Vec::new(),
        }
    }

    /// The output, ending with one line end (empty for a program of white space).
    pub fn finish(mut self) -> String {
        self.trim_line();
        let trimmed = self.out.trim_end_matches('\n').len();
        self.out.truncate(trimmed);
        if !self.out.is_empty() {
            self.out.push('\n');
        }
        align(&self.out, &self.trailing)
    }

    /// The column where the next character goes.
    pub fn column(&self) -> usize {
        self.out[self.line_start..].chars().count()
    }

    fn line_is_blank(&self) -> bool {
        self.out[self.line_start..].bytes().all(|b| b == b' ')
    }

    fn trim_line(&mut self) {
        let kept = self.out.trim_end_matches(' ').len().max(self.line_start);
        self.out.truncate(kept);
    }

    /// Ends the line and starts the next one at column `indent`.
    pub fn newline(&mut self, indent: usize) {
        self.trim_line();
        self.out.push('\n');
        self.line_start = self.out.len();
        self.indent_to(indent);
        self.break_pending = false;
    }

    /// An empty line, then a line at column 0 (none at the start of the output).
    pub fn blank_line(&mut self) {
        if self.out.is_empty() {
            return;
        }
        self.trim_line();
        let kept = self.out.trim_end_matches('\n').len();
        self.out.truncate(kept);
        self.out.push_str("\n\n");
        self.line_start = self.out.len();
        self.break_pending = false;
    }

    /// Starts an item on a line of its own at column 0, after an empty line if
    /// `blank` (never at the start of the output).
    pub fn start_item(&mut self, blank: bool) {
        if self.out.is_empty() {
            return;
        }
        if blank {
            self.blank_line();
        } else if !self.line_is_blank() {
            self.newline(0);
        }
        self.break_pending = false;
    }

    /// Makes the current, blank line start at column `indent`.
    fn indent_to(&mut self, indent: usize) {
        self.out.truncate(self.line_start);
        self.out
            .extend(std::iter::repeat_n(' ', indent.min(MAX_INDENT)));
    }

    /// Whether a comment starts in `range` of the source.
    pub fn has_comment(&self, range: Range<usize>) -> bool {
        let first = self.comments[self.next..].partition_point(|c| c.range.start < range.start);
        self.comments
            .get(self.next + first)
            .is_some_and(|c| c.range.start < range.end)
    }

    /// Writes the comments that stood before source offset `before`: one that
    /// followed a token stays at the end of the current line, the others get lines of
    /// their own at column `indent`.
    pub fn comments_before(&mut self, before: usize, indent: usize) {
        while let Some(comment) = self.comments.get(self.next) {
            if comment.range.start >= before {
                break;
            }
            let (trailing, range) = (comment.trailing, comment.range.clone());
            self.next += 1;
            // A line that a comment ends takes no other.
            if trailing && !self.line_is_blank() && !self.break_pending {
                self.trim_line();
                self.trailing.push(self.out.len());
                self.out.push_str("  ");
            } else if self.line_is_blank() {
                self.indent_to(indent);
            } else {
                self.newline(indent);
            }
            self.out.push_str(self.text[range].trim_end());
            self.break_pending = true;
        }
    }

    /// Writes the comments before the next item (at `before`): those that followed
    /// the last item's end on its line stay there; the others get lines of their own,
    /// with an empty line before them where the source had one.
    pub fn comments_between_items(&mut self, before: usize) {
        while let Some(comment) = self.comments.get(self.next) {
            if comment.range.start >= before {
                break;
            }
            let own_line = !comment.trailing || self.line_is_blank() || self.break_pending;
            if own_line && comment.blank_before {
                self.blank_line();
            }
            self.comments_before(self.comments[self.next].range.end, 0);
        }
    }

    /// Gets ready for the token at source offset `start`: writes the comments
    /// before it, and goes to a new line if one of them ended the current one.
    pub fn prepare(&mut self, start: usize) {
        self.comments_before(start, self.cont);
        if self.break_pending {
            self.newline(self.cont);
        }
    }

    /// Writes `s`, a token or tokens starting at source offset `start`.
    pub fn token_at(&mut self, start: usize, s: &str) {
        self.prepare(start);
        self.out.push_str(s);
    }

    /// Writes `s`, a token the source may not have at a known place (punctuation,
    /// keywords, `;`).
    pub fn token(&mut self, s: &str) {
        if self.break_pending {
            self.newline(self.cont);
        }
        self.out.push_str(s);
    }

    /// Writes one space (unless a comment has just ended the line).
    pub fn space(&mut self) {
        if !self.break_pending {
            self.out.push(' ');
        }
    }

    /// A line break in the layout, before the token at source offset `next`: the
    /// comments before that token first, then a line at column `indent`.
    pub fn break_to(&mut self, indent: usize, next: usize) {
        self.comments_before(next, indent);
        if self.line_is_blank() {
            self.indent_to(indent);
        } else {
            self.newline(indent);
        }
        self.break_pending = false;
    }
}

/// `out` with the comments that follow code (starting at the offsets `trailing`, in
/// order) aligned, on each run of consecutive lines that have one, two columns after
/// the longest code.
fn align(out: &str, trailing: &[usize]) -> String {
    let mut lines: Vec<(&str, Option<&str>)> = Vec::new();
    let mut next = trailing.iter().peekable();
    let mut start = 0;
    for line in out.split_inclusive('\n') {
        let end = start + line.len();
        match next.next_if(|&&at| at < end) {
            Some(&at) => lines.push((&out[start..at], Some(out[at..end].trim_start()))),
            None => lines.push((line, None)),
        }
        start = end;
    }
    let mut aligned = String::with_capacity(out.len());
    let mut i = 0;
    while i < lines.len() {
        let run = lines[i..]
            .iter()
            .take_while(|(_, comment)| comment.is_some())
            .count();
        if run == 0 {
            aligned.push_str(lines[i].0);
            i += 1;
            continue;
        }
        let column = lines[i..i + run]
            .iter()
            .map(|(code, _)| code.chars().count())
            .max()
            .unwrap_or(0)
            + 2;
        for (code, comment) in &lines[i..i + run] {
            aligned.push_str(code);
            aligned.extend(std::iter::repeat_n(' ', column - code.chars().count()));
            aligned.push_str(comment.unwrap_or(""));
        }
        i += run;
    }
    aligned
}

//! A terminal screen with its colours, as `tmux capture-pane -e` renders it: escape
//! codes read by `anstyle-parse`, SGR sequences turned into a style per character.

/// How a character is drawn.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Style {
    /// Bold.
    pub bold: bool,
    /// Dim (faint).
    pub dim: bool,
    /// Underlined.
    pub underline: bool,
    /// The foreground colour (0–7 the basic ones, 8–15 the bright ones), if set.
    pub fg: Option<u8>,
}

/// The basic colours' numbers: red.
pub const RED: u8 = 1;
/// Yellow.
pub const YELLOW: u8 = 3;
/// Blue.
pub const BLUE: u8 = 4;
/// Magenta.
pub const MAGENTA: u8 = 5;
/// Cyan.
pub const CYAN: u8 = 6;

/// A screen as lines of styled characters, read from `capture-pane -e`.
#[derive(Debug, Default)]
pub struct Styled {
    /// The lines, each a list of (character, style).
    pub lines: Vec<Vec<(char, Style)>>,
    /// Whether any escape code at all was in the capture.
    pub had_escapes: bool,
}

impl Styled {
    /// Reads a capture with escape codes.
    pub fn parse(capture: &str) -> Styled {
        let mut reader = SgrReader {
            screen: Styled {
                lines: vec![Vec::new()],
                had_escapes: false,
            },
            style: Style::default(),
        };
        let mut parser = anstyle_parse::Parser::<anstyle_parse::DefaultCharAccumulator>::new();
        for byte in capture.bytes() {
            parser.advance(&mut reader, byte);
        }
        reader.screen
    }

    /// The text of line `i`.
    pub fn line_text(&self, i: usize) -> String {
        self.lines[i].iter().map(|(c, _)| c).collect()
    }

    /// The last line that starts with `prefix`, as an index.
    pub fn last_line_starting(&self, prefix: &str) -> Option<usize> {
        (0..self.lines.len())
            .rev()
            .find(|&i| self.line_text(i).starts_with(prefix))
    }

    /// The styles of the `nth` (from 0) occurrence of `word` on line `i`; `None` if
    /// it is not there.
    pub fn styles_of(&self, i: usize, word: &str, nth: usize) -> Option<Vec<Style>> {
        let text: Vec<char> = self.lines[i].iter().map(|(c, _)| *c).collect();
        let word: Vec<char> = word.chars().collect();
        let at = (0..text.len())
            .filter(|&at| text[at..].starts_with(&word))
            .nth(nth)?;
        Some(
            self.lines[i][at..at + word.len()]
                .iter()
                .map(|(_, s)| *s)
                .collect(),
        )
    }

    /// The one style of the `nth` occurrence of `word` on line `i` (every character
    /// drawn alike), or a failure that shows the line.
    pub fn style_of(&self, i: usize, word: &str, nth: usize) -> Style {
        let styles = self
            .styles_of(i, word, nth)
            .unwrap_or_else(|| panic!("no {word:?} #{nth} in {:?}", self.line_text(i)));
        assert!(
            styles.windows(2).all(|w| w[0] == w[1]),
            "{word:?} drawn in several styles: {styles:?}"
        );
        styles[0]
    }
}

/// Builds a [`Styled`] screen from the parser's events: printed characters, line
/// ends, and SGR sequences (`ESC [ ... m`).
struct SgrReader {
    screen: Styled,
    style: Style,
}

impl anstyle_parse::Perform for SgrReader {
    fn print(&mut self, c: char) {
        let line = self.screen.lines.last_mut().expect("a line");
        line.push((c, self.style));
    }

    fn execute(&mut self, byte: u8) {
        if byte == b'\n' {
            self.screen.lines.push(Vec::new());
        }
    }

    fn csi_dispatch(
        &mut self,
        params: &anstyle_parse::Params,
        _intermediates: &[u8],
        _ignore: bool,
        action: u8,
    ) {
        self.screen.had_escapes = true;
        if action != b'm' {
            return;
        }
        let mut codes = params.iter().map(|p| p.first().copied().unwrap_or(0));
        if params.is_empty() {
            self.style = Style::default();
        }
        while let Some(code) = codes.next() {
            match code {
                0 => self.style = Style::default(),
                1 => self.style.bold = true,
                2 => self.style.dim = true,
                4 => self.style.underline = true,
                22 => (self.style.bold, self.style.dim) = (false, false),
                24 => self.style.underline = false,
                30..=37 => self.style.fg = Some((code - 30) as u8),
                90..=97 => self.style.fg = Some((code - 90 + 8) as u8),
                39 => self.style.fg = None,
                // 38;5;N (a palette colour); 38;2;R;G;B is not used by toy.
                38 if codes.next() == Some(5) => self.style.fg = codes.next().map(|n| n as u8),
                _ => {}
            }
        }
    }

    fn esc_dispatch(&mut self, _intermediates: &[u8], _ignore: bool, _byte: u8) {
        self.screen.had_escapes = true;
    }
}

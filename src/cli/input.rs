//! Reading input within bounds: program files, piped standard input, `:load`, tokens
//! and the REPL's history file. Nothing is read without a limit, so `toy < /dev/zero`
//! or a history file linked to a device ends in a diagnostic, not in exhausted memory.

use std::fs::File;
use std::io::{BufRead, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use toy::frontend::source::MAX_SOURCE_LEN;

/// The largest history file loaded; the REPL keeps 1000 entries, far less than this.
pub const MAX_HISTORY_LEN: u64 = 8 << 20;

/// Why an input could not be read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The operating system refused.
    #[error("cannot read {name}: {source}")]
    Io {
        /// The input: a path or "standard input".
        name: String,
        /// The error.
        source: std::io::Error,
    },
    /// More than [`MAX_SOURCE_LEN`] bytes.
    #[error("cannot read {name}: larger than {} MiB, the most toy reads", MAX_SOURCE_LEN >> 20)]
    TooLarge {
        /// The input.
        name: String,
    },
}

/// Reads all of `reader` (at most [`MAX_SOURCE_LEN`] bytes), named `name` in errors.
pub fn read_all(reader: impl Read, name: &str) -> Result<Vec<u8>, InputError> {
    let mut bytes = Vec::new();
    // One byte more than allowed tells a full input from a too large one.
    reader
        .take(MAX_SOURCE_LEN as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| InputError::Io {
            name: name.to_string(),
            source,
        })?;
    if bytes.len() > MAX_SOURCE_LEN {
        return Err(InputError::TooLarge { name: name.into() });
    }
    Ok(bytes)
}

/// Reads a program file (which may be a pipe, as with `toy <(generate)`).
pub fn read_file(path: &Path) -> Result<Vec<u8>, InputError> {
    let name = path.display().to_string();
    let file = File::open(path).map_err(|source| InputError::Io {
        name: name.clone(),
        source,
    })?;
    read_all(file, &name)
}

/// Lines of a stream, with [`MAX_SOURCE_LEN`] bounding their total length.
pub struct BoundedLines<R> {
    reader: R,
    name: &'static str,
    read: usize,
    limit: usize,
}

impl<R: BufRead> BoundedLines<R> {
    /// Lines of `reader`, named `name` in errors.
    pub fn new(reader: R, name: &'static str) -> Self {
        Self::with_limit(reader, name, MAX_SOURCE_LEN)
    }

    fn with_limit(reader: R, name: &'static str, limit: usize) -> Self {
        BoundedLines {
            reader,
            name,
            read: 0,
            limit,
        }
    }

    /// Appends the next line (with its newline, if any) to `line`; false at the end.
    pub fn next_into(&mut self, line: &mut Vec<u8>) -> Result<bool, InputError> {
        let room = (self.limit - self.read) as u64 + 1;
        let n = (&mut self.reader)
            .take(room)
            .read_until(b'\n', line)
            .map_err(|source| InputError::Io {
                name: self.name.into(),
                source,
            })?;
        self.read += n;
        if self.read > self.limit {
            return Err(InputError::TooLarge {
                name: self.name.into(),
            });
        }
        Ok(n > 0)
    }
}

/// Why the history file is not used.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// It could not be opened or examined.
    #[error("cannot open the history file {path}: {source}")]
    Io {
        /// Its path.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// A device, FIFO, directory, ...: reading it could block or never end.
    #[error("the history file {path} is not a regular file")]
    NotRegular {
        /// Its path.
        path: String,
    },
    /// Larger than [`MAX_HISTORY_LEN`].
    #[error("the history file {path} is larger than {} MiB", MAX_HISTORY_LEN >> 20)]
    TooLarge {
        /// Its path.
        path: String,
    },
}

/// Checks that `path` is usable as the history file: absent (it will be created), or a
/// regular file (a symbolic link to one is fine) of at most [`MAX_HISTORY_LEN`] bytes.
pub fn check_history(path: &Path) -> Result<(), HistoryError> {
    let name = || path.display().to_string();
    // Non-blocking, so that opening a FIFO returns at once; fstat of the open file
    // then sees what was opened, links followed.
    let file = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
    {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(HistoryError::Io {
                path: name(),
                source,
            });
        }
    };
    let metadata = file.metadata().map_err(|source| HistoryError::Io {
        path: name(),
        source,
    })?;
    if !metadata.is_file() {
        return Err(HistoryError::NotRegular { path: name() });
    }
    if metadata.len() > MAX_HISTORY_LEN {
        return Err(HistoryError::TooLarge { path: name() });
    }
    Ok(())
}

/// A reader that writes out the program's buffered output before each read from the
/// operating system: behind a `BufReader`, exactly when reading would wait for more.
pub struct FlushBeforeRead<R>(R);

impl<R> FlushBeforeRead<R> {
    /// `reader`, flushing program output before each of its reads.
    pub fn new(reader: R) -> Self {
        FlushBeforeRead(reader)
    }
}

impl<R: Read> Read for FlushBeforeRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        toy::runtime::flush();
        self.0.read(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_stop_one_byte_past_the_limit() {
        let zeros = std::io::repeat(0);
        let err = read_all(zeros, "zeros").expect_err("endless input");
        assert!(matches!(err, InputError::TooLarge { .. }), "{err}");
        // One endless line (`toy < /dev/zero`).
        let mut lines = BoundedLines::new(std::io::BufReader::new(std::io::repeat(b'x')), "x");
        let err = lines.next_into(&mut Vec::new()).expect_err("endless line");
        assert!(matches!(err, InputError::TooLarge { .. }), "{err}");
        // Endless short lines: the total is bounded too.
        let newlines = std::io::BufReader::new(std::io::repeat(b'\n'));
        let mut lines = BoundedLines::with_limit(newlines, "nl", 1000);
        let mut count = 0;
        let err = loop {
            match lines.next_into(&mut Vec::new()) {
                Ok(true) => count += 1,
                Ok(false) => panic!("an endless stream ended"),
                Err(err) => break err,
            }
        };
        assert_eq!(count, 1000);
        assert!(matches!(err, InputError::TooLarge { .. }), "{err}");
    }

    #[test]
    fn history_must_be_a_small_regular_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("history");
        assert!(check_history(&path).is_ok(), "absent is fine");
        std::fs::write(&path, "1 + 1\n").expect("write");
        assert!(check_history(&path).is_ok());
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&path, &link).expect("symlink");
        assert!(check_history(&link).is_ok(), "a link to a regular file");
        std::os::unix::fs::symlink("/dev/zero", dir.path().join("zero")).expect("symlink");
        let err = check_history(&dir.path().join("zero")).expect_err("a device");
        assert!(matches!(err, HistoryError::NotRegular { .. }), "{err}");
        let err = check_history(dir.path()).expect_err("a directory");
        assert!(matches!(err, HistoryError::NotRegular { .. }), "{err}");
        let big = std::fs::File::create(dir.path().join("big")).expect("create");
        big.set_len(MAX_HISTORY_LEN + 1).expect("sparse file");
        let err = check_history(&dir.path().join("big")).expect_err("too large");
        assert!(matches!(err, HistoryError::TooLarge { .. }), "{err}");
    }
}

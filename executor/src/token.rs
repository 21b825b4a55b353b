//! The TCP listener's token: its bounds, making one, and the private file it is
//! handed over in.

use std::ffi::CString;
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use thiserror::Error;

use toy_shared::wire::messages::MAX_TOKEN;

/// Shortest token accepted: anything shorter can be guessed.
pub const MIN_TOKEN: usize = 16;

/// Why a token, or its file, cannot be used.
#[derive(Debug, Error)]
pub enum TokenError {
    /// Fewer than [`MIN_TOKEN`] bytes.
    #[error("the token has {0} bytes; it needs at least {MIN_TOKEN} bytes")]
    TooShort(usize),
    /// More than an `Auth` frame carries.
    #[error("the token has {0} bytes; it can have at most {MAX_TOKEN} bytes")]
    TooLong(usize),
    /// White space at either end, which `toy --token-file` trims off.
    #[error("the token starts or ends with white space")]
    Whitespace,
    /// The system's random source failed.
    #[error("cannot make a token: {0}")]
    Random(std::io::Error),
    /// The token file's path is taken (by a file, a directory or a symbolic link).
    #[error(
        "{} already exists: refusing to write the token into a file that may not be \
         ours (or through a symbolic link); remove it or name a new one",
        .0.display()
    )]
    Exists(PathBuf),
    /// Creating or writing the token file failed.
    #[error("cannot write the token to {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Checks a token's length (and ends) against what both sides can use.
pub fn check(token: &[u8]) -> Result<(), TokenError> {
    if token.len() < MIN_TOKEN {
        return Err(TokenError::TooShort(token.len()));
    }
    if token.len() > MAX_TOKEN {
        return Err(TokenError::TooLong(token.len()));
    }
    let space = |b: Option<&u8>| b.is_some_and(u8::is_ascii_whitespace);
    if space(token.first()) || space(token.last()) {
        return Err(TokenError::Whitespace);
    }
    Ok(())
}

/// A fresh token: 24 random bytes in hex.
pub fn generate() -> Result<String, TokenError> {
    let mut bytes = [0u8; 24];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(TokenError::Random)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Writes `token` into a new file at `path`, readable by us alone. The file must not
/// exist: O_EXCL refuses any existing file (another user's included) and any
/// symbolic link, dangling or not, so the token never lands where others can read it.
pub fn write_new(path: &Path, token: &str) -> Result<(), TokenError> {
    let fail = |source| TokenError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::EEXIST | libc::ELOOP) => TokenError::Exists(path.to_path_buf()),
            _ => fail(e),
        })?;
    file.write_all(token.as_bytes()).map_err(|e| {
        // A half-written token would only mislead a client: leave nothing behind.
        let _ = std::fs::remove_file(path);
        fail(e)
    })
}

/// The token file that a terminating signal removes.
static WRITTEN: OnceLock<CString> = OnceLock::new();

/// Removes the file at `path` when SIGINT, SIGTERM or SIGHUP ends this process: a
/// stale token file would make the next start refuse (see [`write_new`]).
pub fn remove_on_signal(path: &Path) -> std::io::Result<()> {
    let path = CString::new(path.as_os_str().as_bytes())?;
    if WRITTEN.set(path).is_err() {
        return Ok(()); // one token file per process
    }
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: a zeroed sigaction is valid; the handler only calls async-signal-safe
        // functions (unlink, raise) on a path set before it was installed.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
            // Back to the default action once taken, for the raise below.
            action.sa_flags = libc::SA_RESETHAND;
            libc::sigemptyset(&mut action.sa_mask);
            if libc::sigaction(signal, &action, std::ptr::null_mut()) != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
    }
    Ok(())
}

extern "C" fn on_signal(signal: libc::c_int) {
    if let Some(path) = WRITTEN.get() {
        // SAFETY: `path` is a valid C string that lives as long as the process.
        unsafe { libc::unlink(path.as_ptr()) };
    }
    // SAFETY: the default action is back: the process ends as the signal would have
    // ended it, once this handler returns (the signal is blocked until then).
    unsafe { libc::raise(signal) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds() {
        assert!(matches!(check(b"x"), Err(TokenError::TooShort(1))));
        assert!(check(&[b'a'; MIN_TOKEN]).is_ok());
        assert!(check(&[b'a'; MAX_TOKEN]).is_ok());
        assert!(matches!(
            check(&[b'a'; MAX_TOKEN + 1]),
            Err(TokenError::TooLong(_))
        ));
        assert!(matches!(
            check(b"0123456789abcdef\n"),
            Err(TokenError::Whitespace)
        ));
        let token = generate().expect("random");
        assert!(check(token.as_bytes()).is_ok());
    }
}

//! The cache directory: whether it can be trusted, creating it, and removing entries
//! (eviction, `toy cache clear`) — only files the cache wrote, never anything else.

use std::fs;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::CacheError;
use super::entry;

/// What `toy cache stats` reports.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// Entries present.
    pub entries: u64,
    /// Their total size in bytes.
    pub bytes: u64,
}

/// What decides whether a directory is trusted.
#[derive(Debug, Clone, Copy)]
pub(super) struct Facts {
    /// A symbolic link (not followed).
    pub symlink: bool,
    /// A directory.
    pub directory: bool,
    /// Its owner's user id.
    pub owner: u32,
    /// Its permission bits.
    pub mode: u32,
    /// The user id of this process.
    pub me: u32,
}

/// Why `dir`, as `facts` describe it, must not be used, if it must not: the checksum
/// of an entry is no MAC, so whoever can write the directory can make toy run code.
pub(super) fn judge(dir: &Path, facts: Facts) -> Result<(), CacheError> {
    let dir = dir.to_path_buf();
    if facts.symlink {
        return Err(CacheError::Symlink { dir });
    }
    if !facts.directory {
        return Err(CacheError::NotADirectory { dir });
    }
    if facts.owner != facts.me {
        return Err(CacheError::NotOwned {
            dir,
            owner: facts.owner,
        });
    }
    if facts.mode & 0o022 != 0 {
        return Err(CacheError::Writable {
            dir,
            mode: facts.mode & 0o7777,
        });
    }
    Ok(())
}

/// Checks `dir` if it exists (one that does not is created by the first write,
/// [`create`]).
pub(super) fn check(dir: &Path) -> Result<(), CacheError> {
    let meta = match fs::symlink_metadata(dir) {
        Ok(meta) => meta,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(CacheError::Io {
                dir: dir.to_path_buf(),
                source,
            });
        }
    };
    judge(
        dir,
        Facts {
            symlink: meta.file_type().is_symlink(),
            directory: meta.is_dir(),
            owner: meta.uid(),
            mode: meta.mode(),
            me: euid(),
        },
    )
}

/// Creates `dir` (and missing parents) with mode 0700, then checks it: another user
/// may have made it first.
pub(super) fn create(dir: &Path) -> Result<(), CacheError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| CacheError::Io {
            dir: dir.to_path_buf(),
            source,
        })?;
    check(dir)
}

/// This process's effective user id.
fn euid() -> u32 {
    // SAFETY: geteuid takes no arguments, touches no memory and cannot fail.
    unsafe { libc::geteuid() }
}

/// The entries of a cache directory: files named as entries that are regular files
/// (not followed through links), with their size and last use.
fn entries(dir: &Path) -> Vec<(PathBuf, u64, SystemTime)> {
    let Ok(read) = fs::read_dir(dir) else {
        return Vec::new();
    };
    read.flatten()
        .filter(|entry| entry::is_entry_name(&entry.file_name().to_string_lossy()))
        .filter_map(|entry| {
            // Not followed: a link's own metadata.
            let meta = entry.metadata().ok()?;
            if !meta.file_type().is_file() {
                return None;
            }
            let used = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            Some((entry.path(), meta.len(), used))
        })
        .collect()
}

/// Removes least recently used entries until the directory holds at most 90% of
/// `limit` bytes; files that are not the cache's own are counted but kept.
pub fn evict(dir: &Path, limit: u64) -> std::io::Result<u64> {
    let mut all = entries(dir);
    let mut total: u64 = all.iter().map(|(_, size, _)| size).sum();
    if total <= limit {
        return Ok(0);
    }
    all.sort_by_key(|(_, _, used)| *used);
    let mut removed = 0;
    for (path, size, _) in all {
        if total <= limit / 10 * 9 {
            break;
        }
        // Headers are read only here, for what is about to go: eviction stays one
        // directory listing otherwise.
        if entry::is_own_file(&path) && fs::remove_file(&path).is_ok() {
            total -= size;
            removed += 1;
        }
    }
    Ok(removed)
}

/// How many of the cache's own entries `dir` holds, and their size.
pub fn usage(dir: &Path) -> Usage {
    let own: Vec<_> = entries(dir)
        .into_iter()
        .filter(|(path, _, _)| entry::is_own_file(path))
        .collect();
    Usage {
        entries: own.len() as u64,
        bytes: own.iter().map(|(_, size, _)| size).sum(),
    }
}

/// Removes every entry (and stray temporary file) the cache wrote in `dir`, leaving
/// any other file; returns how many entries.
pub fn clear(dir: &Path) -> std::io::Result<u64> {
    let mut removed = 0;
    let read = match fs::read_dir(dir) {
        Ok(read) => read,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(err) => return Err(err),
    };
    for found in read.flatten() {
        let name = found.file_name();
        let name = name.to_string_lossy();
        let is_entry = entry::is_entry_name(&name);
        if (is_entry || entry::is_temp_name(&name)) && entry::is_own_file(&found.path()) {
            fs::remove_file(found.path())?;
            removed += u64::from(is_entry);
        }
    }
    Ok(removed)
}

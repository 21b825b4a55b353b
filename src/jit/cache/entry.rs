//! One cache entry on disk: its name, its header, and reading it without trusting
//! what lies under that name (a FIFO, a link to a device, a huge file, a user's file).

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::Key;

/// The first bytes of every entry the cache writes: what it may delete.
pub(super) const MAGIC: &[u8; 8] = b"toycache";
const FORMAT: u32 = 1;
/// Magic, format, reserved, key, payload length, payload checksum.
pub(super) const HEADER: usize = 8 + 4 + 4 + 32 + 8 + 32;
/// The largest entry the cache writes, and so the most it ever reads: far above any
/// object toy makes (a batch of 32 functions is a few KiB to a few hundred).
pub const MAX_ENTRY: u64 = 64 << 20;
/// The extension of entries, which sets them apart from other files in the directory
/// (entries of the old format, bare hex names, are left alone).
pub(super) const SUFFIX: &str = ".toyobj";
/// How temporary files start (then `PID-N` and [`SUFFIX`]).
const TEMP_PREFIX: &str = ".tmp-";

/// The file name of `key`'s entry.
pub(super) fn name(key: &Key) -> String {
    let mut name: String = key.iter().map(|b| format!("{b:02x}")).collect();
    name.push_str(SUFFIX);
    name
}

/// Whether `name` is what [`name`] makes of some key.
pub(super) fn is_entry_name(name: &str) -> bool {
    name.strip_suffix(SUFFIX).is_some_and(|hex| {
        hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// The name of a temporary file, `n`th of process `pid`.
pub(super) fn temp_name(pid: u32, n: u32) -> String {
    format!("{TEMP_PREFIX}{pid}-{n}{SUFFIX}")
}

/// Whether `name` is what [`temp_name`] makes.
pub(super) fn is_temp_name(name: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    name.strip_prefix(TEMP_PREFIX)
        .and_then(|rest| rest.strip_suffix(SUFFIX))
        .and_then(|rest| rest.split_once('-'))
        .is_some_and(|(pid, n)| digits(pid) && digits(n))
}

/// The whole entry of `object` under `key`, or `None` if it would be larger than
/// [`MAX_ENTRY`] (such an object is simply not cached).
pub(super) fn encode(key: &Key, object: &[u8]) -> Option<Vec<u8>> {
    if (HEADER + object.len()) as u64 > MAX_ENTRY {
        return None;
    }
    let mut entry = Vec::with_capacity(HEADER + object.len());
    entry.extend_from_slice(MAGIC);
    entry.extend_from_slice(&FORMAT.to_le_bytes());
    entry.extend_from_slice(&0u32.to_le_bytes());
    entry.extend_from_slice(key);
    entry.extend_from_slice(&(object.len() as u64).to_le_bytes());
    entry.extend_from_slice(&Sha256::digest(object));
    entry.extend_from_slice(object);
    Some(entry)
}

/// The payload of an entry read back, if it is whole and is `key`'s.
pub(super) fn verify<'a>(bytes: &'a [u8], key: &Key) -> Option<&'a [u8]> {
    if bytes.len() < HEADER || !is_own(bytes) {
        return None;
    }
    let format = u32::from_le_bytes(bytes[8..12].try_into().ok()?);
    let len = u64::from_le_bytes(bytes[48..56].try_into().ok()?);
    let payload = &bytes[HEADER..];
    (format == FORMAT
        && &bytes[16..48] == key
        && len == payload.len() as u64
        && Sha256::digest(payload).as_slice() == &bytes[56..88])
        .then_some(payload)
}

/// Whether `bytes` start like an entry the cache wrote.
pub(super) fn is_own(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

/// Opens `path` if it is a regular file of at most [`MAX_ENTRY`] bytes: not through a
/// symbolic link (`O_NOFOLLOW`), and without blocking on a FIFO (`O_NONBLOCK`), whose
/// kind the open file then reveals. The file is checked, not the name, so it cannot
/// be swapped between check and read.
pub(super) fn open(path: &Path) -> Option<File> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .ok()?;
    let meta = file.metadata().ok()?;
    (meta.file_type().is_file() && meta.len() <= MAX_ENTRY).then_some(file)
}

/// The bytes of the regular file at `path` (see [`open`]), with the open file.
pub(super) fn read(path: &Path) -> Option<(File, Vec<u8>)> {
    let mut file = open(path)?;
    let mut bytes = Vec::new();
    // Capped even so: the file may grow after it was looked at.
    (&mut file)
        .take(MAX_ENTRY + 1)
        .read_to_end(&mut bytes)
        .ok()?;
    (bytes.len() as u64 <= MAX_ENTRY).then_some((file, bytes))
}

/// Whether the file at `path` is one the cache wrote: a regular file that starts
/// with [`MAGIC`]. Only such files are ever deleted.
pub(super) fn is_own_file(path: &Path) -> bool {
    let Some(mut file) = open(path) else {
        return false;
    };
    let mut magic = [0; MAGIC.len()];
    file.read_exact(&mut magic).is_ok() && is_own(&magic)
}

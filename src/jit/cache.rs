//! The code cache: compiled objects on disk, so that a second run of an unchanged
//! program does no code generation at all.
//!
//! An entry's key is a SHA-256 of everything that determines the object: the
//! function (printed back as source, so positions do not matter), its symbol, the
//! arity and kind of each callee, and the *context* — toy's version and build, LLVM's
//! version, target triple, CPU and features, optimization level. Entries are written
//! to a temporary file and renamed into place, so readers see whole entries only; each
//! carries its key, length and checksum, and anything that does not verify is ignored
//! (and removed), never linked. The directory is bounded: least recently used entries
//! (by modification time, refreshed on every hit) go first.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{Sender, channel};
use std::thread::JoinHandle;
use std::time::SystemTime;

use sha2::{Digest, Sha256};

/// An entry's key.
pub type Key = [u8; 32];

const MAGIC: &[u8; 8] = b"toycache";
const FORMAT: u32 = 1;
/// Magic, format, reserved, key, payload length, payload checksum.
const HEADER: usize = 8 + 4 + 4 + 32 + 8 + 32;
/// Default bound on the directory's size.
pub const DEFAULT_LIMIT: u64 = 256 << 20;
/// How many writes between two checks of the directory's size.
const CHECK_EVERY: u32 = 256;

/// A cache directory, as one process uses it.
pub struct Cache {
    dir: PathBuf,
    limit: u64,
    /// Computed by `make_context` on the first look-up (it reads files): start-up
    /// stays free of it.
    context: Option<Vec<u8>>,
    make_context: Option<Box<dyn FnOnce() -> Vec<u8>>>,
    writes: u32,
    /// The entries present when first looked at: a miss then costs no file system
    /// call (an entry another process adds meanwhile is simply missed).
    present: Option<std::collections::HashSet<String>>,
}

/// What `toy cache stats` reports.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// Entries present.
    pub entries: u64,
    /// Their total size in bytes.
    pub bytes: u64,
}

static TEMP: AtomicU32 = AtomicU32::new(0);

impl Cache {
    /// The cache in `dir` (created on the first write), for objects compiled in
    /// `context` (see [`context`]), computed when first needed.
    pub fn new(dir: PathBuf, limit: u64, context: Box<dyn FnOnce() -> Vec<u8>>) -> Self {
        Cache {
            dir,
            limit: limit_override().unwrap_or(limit),
            context: None,
            make_context: Some(context),
            writes: 0,
            present: None,
        }
    }

    /// `$TOY_CACHE` if it names a directory, else `toy` in the user's cache directory
    /// (`$XDG_CACHE_HOME`, `~/.cache`); `None` when `TOY_CACHE=off`.
    pub fn default_dir() -> Option<PathBuf> {
        match std::env::var_os("TOY_CACHE") {
            Some(value) if value == "off" => None,
            Some(value) if !value.is_empty() => Some(PathBuf::from(value)),
            _ => dirs::cache_dir().map(|dir| dir.join("toy")),
        }
    }

    /// The key of an object made from `parts` in this cache's context.
    pub fn key(&mut self, parts: &[&[u8]]) -> Key {
        let make = &mut self.make_context;
        let context = self
            .context
            .get_or_insert_with(|| make.take().map_or_else(Vec::new, |make| make()));
        let mut hash = Sha256::new();
        hash.update((context.len() as u64).to_le_bytes());
        hash.update(context);
        for part in parts {
            // Length-prefixed, so that parts cannot run into each other.
            hash.update((part.len() as u64).to_le_bytes());
            hash.update(part);
        }
        hash.finalize().into()
    }

    fn path(&self, key: &Key) -> PathBuf {
        self.dir.join(hex(key))
    }

    /// The names of the entries, listed once.
    fn present(&mut self) -> &mut std::collections::HashSet<String> {
        self.present.get_or_insert_with(|| {
            fs::read_dir(&self.dir)
                .map(|read| {
                    read.flatten()
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default()
        })
    }

    /// Whether there is an entry under `key` (not yet verified: [`Cache::get`] does).
    pub fn contains(&mut self, key: &Key) -> bool {
        let name = hex(key);
        self.present().contains(&name)
    }

    /// The object stored under `key`, if there is a whole, verified one.
    pub fn get(&mut self, key: &Key) -> Option<Vec<u8>> {
        let name = hex(key);
        if !self.present().contains(&name) {
            return None;
        }
        let path = self.dir.join(&name);
        let bytes = fs::read(&path).ok()?;
        match verify(&bytes, key) {
            Some(payload) => {
                // Refresh for the LRU order (best effort).
                if let Ok(file) = fs::File::options().write(true).open(&path) {
                    let _ = file.set_modified(SystemTime::now());
                }
                Some(payload.to_vec())
            }
            None => {
                // Corrupt, truncated or foreign: never used, and out of the way.
                let _ = fs::remove_file(&path);
                if let Some(present) = &mut self.present {
                    present.remove(&name);
                }
                None
            }
        }
    }

    /// Stores `object` under `key`, on a background thread: creating files costs
    /// ~0.1 ms each on a disk, which would otherwise add to every compile. [`flush`]
    /// waits for the writes before the process exits.
    pub fn put(&mut self, key: &Key, object: &[u8]) {
        if let Some(present) = &mut self.present {
            present.insert(hex(key));
        }
        let mut entry = Vec::with_capacity(HEADER + object.len());
        entry.extend_from_slice(MAGIC);
        entry.extend_from_slice(&FORMAT.to_le_bytes());
        entry.extend_from_slice(&0u32.to_le_bytes());
        entry.extend_from_slice(key);
        entry.extend_from_slice(&(object.len() as u64).to_le_bytes());
        entry.extend_from_slice(&Sha256::digest(object));
        entry.extend_from_slice(object);
        let job = Job {
            dir: self.dir.clone(),
            path: self.path(key),
            entry,
            evict: self
                .writes
                .is_multiple_of(CHECK_EVERY)
                .then_some(self.limit),
        };
        self.writes += 1;
        let mut writer = WRITER.lock().unwrap_or_else(|e| e.into_inner());
        let (sender, _) = writer.get_or_insert_with(|| {
            let (sender, jobs) = channel::<Job>();
            let thread = std::thread::Builder::new()
                .name("toy-cache".into())
                .spawn(move || jobs.into_iter().for_each(Job::run));
            (sender, thread.ok())
        });
        if let Err(failed) = sender.send(job) {
            // No writer thread: write here.
            failed.0.run();
        }
    }
}

/// `$TOY_CACHE_LIMIT` (bytes), if set: a bound for tests, which could not otherwise
/// make eviction happen without filling 256 MiB.
fn limit_override() -> Option<u64> {
    std::env::var("TOY_CACHE_LIMIT").ok()?.parse().ok()
}

/// One entry to write.
struct Job {
    dir: PathBuf,
    path: PathBuf,
    /// Header and payload.
    entry: Vec<u8>,
    /// Check the directory's size against this bound afterwards.
    evict: Option<u64>,
}

/// The background writer's queue, and its thread (if it could be started).
type Writer = (Sender<Job>, Option<JoinHandle<()>>);

/// The background writer, started by the first write.
static WRITER: Mutex<Option<Writer>> = Mutex::new(None);

/// Waits until every entry queued by [`Cache::put`] is written.
pub fn flush() {
    // The lock is held until the writer is done, so that a concurrent `flush` also
    // returns only once the entries queued before it are on disk.
    let mut writer = WRITER.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((sender, thread)) = writer.take() {
        drop(sender);
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}

impl Job {
    /// Writes the entry (best effort: a cache that cannot be written only costs the
    /// next run its compile).
    fn run(self) {
        let temp = self.dir.join(format!(
            ".tmp-{}-{}",
            std::process::id(),
            TEMP.fetch_add(1, Ordering::Relaxed)
        ));
        let create = || fs::File::create(&temp)?.write_all(&self.entry);
        // The directory is made by the first write that finds it missing.
        let written = create().or_else(|err| match err.kind() {
            std::io::ErrorKind::NotFound => fs::create_dir_all(&self.dir).and_then(|()| create()),
            _ => Err(err),
        });
        if written.is_err() || fs::rename(&temp, &self.path).is_err() {
            let _ = fs::remove_file(&temp);
            return;
        }
        if let Some(limit) = self.evict {
            let _ = evict(&self.dir, limit);
        }
    }
}

/// The payload of an entry read back, if it is whole and is `key`'s.
fn verify<'a>(bytes: &'a [u8], key: &Key) -> Option<&'a [u8]> {
    if bytes.len() < HEADER || &bytes[..8] != MAGIC {
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

/// The entries of a cache directory: path, size, last use.
fn entries(dir: &Path) -> Vec<(PathBuf, u64, SystemTime)> {
    let Ok(read) = fs::read_dir(dir) else {
        return Vec::new();
    };
    read.flatten()
        .filter(|entry| entry.file_name().len() == 64)
        .filter_map(|entry| {
            let meta = entry.metadata().ok()?;
            let used = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            Some((entry.path(), meta.len(), used))
        })
        .collect()
}

/// Removes least recently used entries until the directory holds at most 90% of
/// `limit` bytes.
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
        if fs::remove_file(&path).is_ok() {
            total -= size;
            removed += 1;
        }
    }
    Ok(removed)
}

/// How many entries and bytes `dir` holds.
pub fn usage(dir: &Path) -> Usage {
    let all = entries(dir);
    Usage {
        entries: all.len() as u64,
        bytes: all.iter().map(|(_, size, _)| size).sum(),
    }
}

/// Removes every entry (and stray temporary file) of `dir`; returns how many entries.
pub fn clear(dir: &Path) -> std::io::Result<u64> {
    let mut removed = 0;
    let read = match fs::read_dir(dir) {
        Ok(read) => read,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(err) => return Err(err),
    };
    for entry in read.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.len() == 64 || name.starts_with(".tmp-") {
            fs::remove_file(entry.path())?;
            removed += u64::from(name.len() == 64);
        }
    }
    Ok(removed)
}

/// What, besides a function itself, determines its object: toy's version and this
/// very build of it, LLVM's version, the target and CPU, and the options.
pub fn context(triple: &str, cpu: &str, features: &str, options: &str) -> Vec<u8> {
    let build = std::env::current_exe()
        .map(|exe| identity(&exe))
        .unwrap_or_default();
    // LLVM 14 cannot tell its own patch version at run time. toy links it statically
    // (tools/llvm), so this build's identity covers it; were a libLLVM loaded, its file
    // would stand for it (an update of the package replaces the file).
    let llvm = std::fs::read_to_string("/proc/self/maps")
        .ok()
        .and_then(|maps| {
            maps.lines()
                .filter_map(|line| line.split_whitespace().nth(5))
                .find(|path| path.contains("libLLVM"))
                .map(|path| format!("{path} {}", identity(Path::new(path))))
        })
        .unwrap_or_default();
    format!(
        "toy {} build {build}\nllvm 14 {llvm}\n{triple}\n{cpu}\n{features}\n{options}",
        env!("CARGO_PKG_VERSION"),
    )
    .into_bytes()
}

/// A file's size and modification time: which build of it this is.
fn identity(path: &Path) -> String {
    fs::metadata(path)
        .map(|meta| {
            let modified = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            format!("{}:{modified}", meta.len())
        })
        .unwrap_or_default()
}

fn hex(key: &Key) -> String {
    key.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(dir: &Path) -> Cache {
        Cache::new(
            dir.to_path_buf(),
            DEFAULT_LIMIT,
            Box::new(|| b"test".to_vec()),
        )
    }

    #[test]
    fn stores_and_verifies_entries() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut cache = cache(dir.path());
        let key = cache.key(&[b"def f(x) x;", b"f"]);
        assert_ne!(key, cache.key(&[b"def f(x) x;f"]), "parts are delimited");
        assert_eq!(cache.get(&key), None);
        cache.put(&key, b"object bytes");
        flush();
        assert_eq!(cache.get(&key).as_deref(), Some(&b"object bytes"[..]));
        assert_eq!(usage(dir.path()).entries, 1);

        // Another context never sees it.
        let mut other = Cache::new(
            dir.path().to_path_buf(),
            DEFAULT_LIMIT,
            Box::new(|| b"other".to_vec()),
        );
        assert_ne!(other.key(&[b"def f(x) x;", b"f"]), key);

        // Truncated, flipped or foreign entries are ignored and removed.
        let path = cache.path(&key);
        let whole = fs::read(&path).expect("entry");
        for broken in [
            whole[..whole.len() - 1].to_vec(),
            {
                let mut b = whole.clone();
                *b.last_mut().expect("byte") ^= 1;
                b
            },
            b"garbage".to_vec(),
        ] {
            fs::write(&path, &broken).expect("write");
            assert_eq!(self::cache(dir.path()).get(&key), None);
            assert!(!path.exists());
        }
        let other_key = cache.key(&[b"g"]);
        cache.put(&other_key, b"g's object");
        flush();
        fs::rename(cache.path(&other_key), &path).expect("rename");
        let mut fresh = self::cache(dir.path());
        assert_eq!(fresh.get(&key), None, "an entry under the wrong name");
        assert!(!path.exists());

        assert_eq!(clear(dir.path()).expect("clear"), 0);
        cache.put(&key, b"x");
        flush();
        assert_eq!(clear(dir.path()).expect("clear"), 1);
        assert_eq!(usage(dir.path()), Usage::default());
    }

    #[test]
    fn evicts_least_recently_used_entries_first() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut cache = cache(dir.path());
        let keys: Vec<Key> = (0..10u8).map(|i| cache.key(&[&[i]])).collect();
        for (i, key) in keys.iter().enumerate() {
            cache.put(key, &[0u8; 1000]);
            flush();
            let file = fs::File::options()
                .write(true)
                .open(cache.path(key))
                .expect("entry");
            let age = std::time::Duration::from_secs(100 - i as u64);
            file.set_modified(SystemTime::now() - age).expect("mtime");
        }
        // Using the oldest makes it the newest.
        assert!(cache.get(&keys[0]).is_some());
        let entry = (HEADER + 1000) as u64;
        let removed = evict(dir.path(), entry * 5).expect("evict");
        assert_eq!(removed, 6);
        assert!(cache.get(&keys[0]).is_some());
        for key in &keys[1..7] {
            assert!(cache.get(key).is_none());
        }
        for key in &keys[7..] {
            assert!(cache.get(key).is_some());
        }
    }
}

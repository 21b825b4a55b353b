//! The code cache: compiled objects on disk, so that a second run of an unchanged
//! program does no code generation at all.
//!
//! An entry's key is a SHA-256 of everything that determines the object: the
//! function (printed back as source, so positions do not matter), its symbol, the
//! arity and kind of each callee, the tier and tiering mode, and the *context* — toy's
//! version and build, LLVM's version, target triple, CPU and features, optimization
//! level. Entries are written to a temporary file and renamed into place, so readers
//! see whole entries only; each carries its key, length and checksum, and anything
//! that does not verify is ignored, never linked. The directory is bounded: least
//! recently used entries (by modification time, refreshed on every hit) go first.
//!
//! Nothing in the directory is trusted: it is used only if it is this user's, not a
//! link, and writable by nobody else (the checksum is no MAC); an entry is read only
//! if it is a regular file no larger than any the cache writes, and a file is deleted
//! (broken, evicted, cleared) only if it has an entry's name *and* header.

mod dir;
mod entry;
#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{Sender, channel};
use std::thread::JoinHandle;
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use crate::jit::config::CacheConfig;
use inkwell::targets::TargetMachine;

pub use dir::{Usage, clear, evict, usage};
pub use entry::MAX_ENTRY;

/// An entry's key.
pub type Key = [u8; 32];

/// Default bound on the directory's size.
pub const DEFAULT_LIMIT: u64 = 256 << 20;
/// How many writes between two checks of the directory's size.
const CHECK_EVERY: u32 = 256;

/// Why a cache directory is not used (the cache is then off for the run).
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// A symbolic link: whoever can change it chooses where code comes from.
    #[error("the code cache {} is a symbolic link", .dir.display())]
    Symlink {
        /// The directory.
        dir: PathBuf,
    },
    /// Something other than a directory.
    #[error("the code cache {} is not a directory", .dir.display())]
    NotADirectory {
        /// The directory.
        dir: PathBuf,
    },
    /// Owned by another user, who could put code in it.
    #[error("the code cache {} belongs to another user (uid {owner})", .dir.display())]
    NotOwned {
        /// The directory.
        dir: PathBuf,
        /// Its owner.
        owner: u32,
    },
    /// Writable by its group or by others, who could put code in it.
    #[error("the code cache {} is writable by other users (mode {mode:o})", .dir.display())]
    Writable {
        /// The directory.
        dir: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// It could not be examined or created.
    #[error("cannot use the code cache {}: {source}", .dir.display())]
    Io {
        /// The directory.
        dir: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
}

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
    present: Option<HashSet<String>>,
    /// Names under which something other than the cache's own entry was found: it is
    /// never replaced.
    foreign: HashSet<String>,
}

static TEMP: AtomicU32 = AtomicU32::new(0);

impl Cache {
    /// The cache in `dir` (created with mode 0700 by the first write), for objects
    /// compiled in `context` (see [`context`]), computed when first needed; an
    /// existing `dir` that others could write to is refused.
    pub fn open(
        dir: PathBuf,
        limit: u64,
        context: Box<dyn FnOnce() -> Vec<u8>>,
    ) -> Result<Self, CacheError> {
        dir::check(&dir)?;
        Ok(Cache {
            dir,
            limit: limit_override().unwrap_or(limit),
            context: None,
            make_context: Some(context),
            writes: 0,
            present: None,
            foreign: HashSet::new(),
        })
    }

    /// The cache `config` asks for, for objects compiled for this host's CPU with
    /// `options` (the optimization level), its context computed when first needed.
    pub fn open_host(config: &CacheConfig, options: &str) -> Result<Self, CacheError> {
        let options = options.to_string();
        let context = move || {
            let triple = TargetMachine::get_default_triple();
            let cpu = TargetMachine::get_host_cpu_name();
            let features = TargetMachine::get_host_cpu_features();
            context(
                &triple.as_str().to_string_lossy(),
                &cpu.to_string_lossy(),
                &features.to_string_lossy(),
                &options,
            )
        };
        Cache::open(config.dir.clone(), config.limit, Box::new(context))
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
        self.dir.join(entry::name(key))
    }

    /// The names of the entries, listed once.
    fn present(&mut self) -> &mut HashSet<String> {
        self.present.get_or_insert_with(|| {
            fs::read_dir(&self.dir)
                .map(|read| {
                    read.flatten()
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .filter(|name| entry::is_entry_name(name))
                        .collect()
                })
                .unwrap_or_default()
        })
    }

    /// Whether there is an entry under `key` (not yet verified: [`Cache::get`] does).
    pub fn contains(&mut self, key: &Key) -> bool {
        let name = entry::name(key);
        !self.foreign.contains(&name) && self.present().contains(&name)
    }

    /// The object stored under `key`, if there is a whole, verified one.
    pub fn get(&mut self, key: &Key) -> Option<Vec<u8>> {
        let name = entry::name(key);
        if self.foreign.contains(&name) || !self.present().contains(&name) {
            return None;
        }
        let path = self.dir.join(&name);
        let Some((file, bytes)) = entry::read(&path) else {
            // Not a regular file, too large or unreadable: not the cache's.
            self.foreign.insert(name);
            return None;
        };
        if let Some(payload) = entry::verify(&bytes, key) {
            // Refresh for the LRU order (best effort; the owner may set the time
            // through a file opened for reading).
            let _ = file.set_modified(SystemTime::now());
            return Some(payload.to_vec());
        }
        if entry::is_own(&bytes) {
            // The cache's own, but truncated, corrupt or another key's: out of the
            // way (a fresh compile replaces it).
            let _ = fs::remove_file(&path);
            if let Some(present) = &mut self.present {
                present.remove(&name);
            }
        } else {
            self.foreign.insert(name);
        }
        None
    }

    /// Stores `object` under `key`, on a background thread: creating files costs
    /// ~0.1 ms each on a disk, which would otherwise add to every compile. [`flush`]
    /// waits for the writes before the process exits. A name taken by a file the
    /// cache did not write is left to it, and objects too large are not stored.
    pub fn put(&mut self, key: &Key, object: &[u8]) {
        let name = entry::name(key);
        if self.foreign.contains(&name) {
            return;
        }
        let Some(entry) = entry::encode(key, object) else {
            return;
        };
        if let Some(present) = &mut self.present {
            present.insert(name);
        }
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
        let temp = self.dir.join(entry::temp_name(
            std::process::id(),
            TEMP.fetch_add(1, Ordering::Relaxed),
        ));
        let create = || {
            fs::File::options()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&temp)
        };
        // The directory is made by the first write that finds it missing, private.
        let created = create().or_else(|err| match err.kind() {
            std::io::ErrorKind::NotFound => match dir::create(&self.dir) {
                Ok(()) => create(),
                Err(refused) => Err(std::io::Error::other(refused)),
            },
            _ => Err(err),
        });
        // Not created, nothing to remove (whatever holds the name is not ours).
        let Ok(mut file) = created else { return };
        if file.write_all(&self.entry).is_err() || fs::rename(&temp, &self.path).is_err() {
            let _ = fs::remove_file(&temp);
            return;
        }
        if let Some(limit) = self.evict {
            let _ = evict(&self.dir, limit);
        }
    }
}

/// What, besides a function itself, determines its object: toy's version and this
/// very build of it, LLVM's version, the target and CPU, and the options.
pub fn context(triple: &str, cpu: &str, features: &str, options: &str) -> Vec<u8> {
    let build = std::env::current_exe()
        .map(|exe| identity(&exe))
        .unwrap_or_default();
    // The exact version comes from the llvm-config of the build (build.rs); LLVM 14 and
    // 15 cannot tell their patch version at run time. toy links LLVM statically
    // (tools/llvm*), so this build's identity covers the library itself; were a
    // libLLVM loaded, its file would stand for it too.
    let library = std::fs::read_to_string("/proc/self/maps")
        .ok()
        .and_then(|maps| {
            maps.lines()
                .filter_map(|line| line.split_whitespace().nth(5))
                .find(|path| path.contains("libLLVM"))
                .map(|path| format!("{path} {}", identity(Path::new(path))))
        })
        .unwrap_or_default();
    let llvm = format!("{} {library}", crate::codegen::llvm_version::VERSION);
    context_of(&build, &llvm, &[triple, cpu, features, options])
}

/// The context of a build of toy identified by `build`, linking the LLVM `llvm`
/// (its version, and its library if loaded), compiling for `target` (triple, CPU,
/// CPU features, options).
fn context_of(build: &str, llvm: &str, target: &[&str; 4]) -> Vec<u8> {
    format!(
        "toy {} build {build}\nllvm {llvm}\n{}",
        env!("CARGO_PKG_VERSION"),
        target.join("\n")
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

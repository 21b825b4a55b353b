// ANCHOR: head
//! The code cache: each compiled object on disk, under a key made of everything that
//! determines it, so that a second run of a program loads what the first compiled.
//!
//! Exercise `bounded`: the directory is bounded; every hit refreshes the entry's
//! modification time, and a store that takes the directory past the bound removes
//! the least recently used entries.

use std::fs;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::SystemTime;

use inkwell::module::Module;
use inkwell::targets::TargetMachine;
use sha2::{Digest, Sha256};
// ANCHOR_END: head

// ANCHOR: hash
/// An entry's key: a SHA-256 of everything that went into its object.
pub type Key = [u8; 32];

/// The SHA-256 of `parts`, each preceded by its length: two lists of parts hash
/// alike only if they are the same list, whatever bytes the parts hold.
pub fn hash(parts: &[&[u8]]) -> Key {
    let mut sha = Sha256::new();
    for part in parts {
        sha.update((part.len() as u64).to_le_bytes());
        sha.update(part);
    }
    sha.finalize().into()
}
// ANCHOR_END: hash

// ANCHOR: cache
/// A directory of compiled objects, and what every object of this run depends on
/// besides its own function.
pub struct Cache {
    dir: PathBuf,
    /// The checkpoint and this build of it, the target, the CPU, the options.
    context: Vec<Vec<u8>>,
    /// The most bytes the entries may take together.
    limit: u64,
}

/// The bound when `TOY_CACHE_LIMIT` sets none: 64 MiB.
const DEFAULT_LIMIT: u64 = 64 << 20;
// ANCHOR_END: cache

// ANCHOR: new
impl Cache {
    /// The cache in `dir` (made by the first store), for objects that `machine`
    /// compiles, after the passes if `optimize`.
    pub fn new(dir: PathBuf, machine: &TargetMachine, optimize: bool) -> Cache {
        let checkpoint = concat!(env!("CARGO_PKG_NAME"), " ", env!("CARGO_PKG_VERSION"));
        let context = vec![
            checkpoint.as_bytes().to_vec(),
            build_identity().into_bytes(),
            machine.get_triple().as_str().to_bytes().to_vec(),
            machine.get_cpu().to_bytes().to_vec(),
            machine.get_feature_string().to_bytes().to_vec(),
            vec![optimize as u8],
        ];
        let limit = std::env::var("TOY_CACHE_LIMIT").ok();
        let limit = limit.and_then(|limit| limit.parse().ok());
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        Cache {
            dir,
            context,
            limit,
        }
    }
    // ANCHOR_END: new

    // ANCHOR: key
    /// The key of the object compiled from `module`, the module of the item printed
    /// as `source`: the context, the source, and each callee's name and arity.
    pub fn key(&self, source: &str, module: &Module<'_>) -> Key {
        let mut parts = self.context.clone();
        parts.push(source.as_bytes().to_vec());
        // A function without a body is a callee, declared as the call needs it.
        for callee in module.get_functions() {
            if callee.count_basic_blocks() == 0 {
                parts.push(callee.get_name().to_bytes().to_vec());
                parts.push(callee.count_params().to_le_bytes().to_vec());
            }
        }
        let parts: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        hash(&parts)
    }
    // ANCHOR_END: key

    // ANCHOR: path
    /// Where `key`'s entry is: its key in hexadecimal.
    fn path(&self, key: &Key) -> PathBuf {
        let hex: String = key.iter().map(|byte| format!("{byte:02x}")).collect();
        self.dir.join(hex + ".obj")
    }
    // ANCHOR_END: path

    // ANCHOR: get
    /// The object stored under `key`, if its entry is whole and is `key`'s. An entry
    /// that is not is removed: the caller compiles as if it had never been stored.
    pub fn get(&self, key: &Key) -> Option<Vec<u8>> {
        let path = self.path(key);
        let mut file = fs::File::open(&path).ok()?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).ok()?;
        match decode(&bytes, key) {
            Some(object) => {
                // Recently used: the last to go. The owner may set the time through a
                // file opened for reading; if it fails, the entry only ages sooner.
                let _ = file.set_modified(SystemTime::now());
                Some(object.to_vec())
            }
            None => {
                let _ = fs::remove_file(&path);
                None
            }
        }
    }
    // ANCHOR_END: get

    // ANCHOR: put
    /// Stores `object` under `key`: written whole to a file of its own, then renamed
    /// to the entry's name, so that no reader ever sees part of an entry.
    pub fn put(&self, key: &Key, object: &[u8]) -> io::Result<()> {
        fs::create_dir_all(&self.dir)?;
        let temp = self.dir.join(temp_name());
        let mut file = fs::File::create_new(&temp)?;
        let written = file.write_all(&encode(key, object));
        let written = written.and_then(|()| fs::rename(&temp, self.path(key)));
        if written.is_err() {
            let _ = fs::remove_file(&temp);
            return written;
        }
        evict(&self.dir, self.limit)
    }
}

/// Whether `name` is an entry's: 64 hexadecimal digits and `.obj`. Nothing else in
/// the directory is ever removed.
fn is_entry_name(name: &str) -> bool {
    name.strip_suffix(".obj").is_some_and(|hex| {
        hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// Removes the least recently used entries of `dir` until they take at most `limit`
/// bytes. Another process may remove the same entries at the same time: a file
/// already gone is counted as removed.
fn evict(dir: &std::path::Path, limit: u64) -> io::Result<()> {
    let mut entries = Vec::new();
    for entry in fs::read_dir(dir)?.flatten() {
        let name = entry.file_name();
        if !name.to_str().is_some_and(is_entry_name) {
            continue;
        }
        // Gone since it was listed: removed by another process.
        let Ok(meta) = entry.metadata() else { continue };
        let used = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        entries.push((used, meta.len(), entry.path()));
    }
    let mut total: u64 = entries.iter().map(|(_, len, _)| len).sum();
    entries.sort();
    for (_, len, path) in entries {
        if total <= limit {
            break;
        }
        let _ = fs::remove_file(path);
        total -= len;
    }
    Ok(())
}
// ANCHOR_END: put

// ANCHOR: temp_name
/// A name no other writer uses: this process's id and a count.
fn temp_name() -> String {
    static COUNT: AtomicU32 = AtomicU32::new(0);
    let n = COUNT.fetch_add(1, Ordering::Relaxed);
    format!(".tmp-{}-{n}", std::process::id())
}
// ANCHOR_END: temp_name

// ANCHOR: build_identity
/// Which build of the checkpoint is running: its executable's size and time. A
/// rebuilt compiler may compile the same function differently.
fn build_identity() -> String {
    let meta = std::env::current_exe().and_then(fs::metadata);
    let Ok(meta) = meta else {
        return String::new();
    };
    let time = meta.modified().ok();
    let time = time.and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
    format!("{} {}", meta.len(), time.map_or(0, |t| t.as_nanos()))
}
// ANCHOR_END: build_identity

// ANCHOR: format
/// The first bytes of every entry.
const MAGIC: &[u8; 8] = b"toycache";
/// The layout of the header and payload below; a new layout gets a new number.
const FORMAT: u32 = 1;
/// Magic, format, key, the payload's length and its SHA-256.
const HEADER: usize = 8 + 4 + 32 + 8 + 32;

/// The entry of `object` under `key`: the header, then the object.
fn encode(key: &Key, object: &[u8]) -> Vec<u8> {
    let mut entry = Vec::with_capacity(HEADER + object.len());
    entry.extend_from_slice(MAGIC);
    entry.extend_from_slice(&FORMAT.to_le_bytes());
    entry.extend_from_slice(key);
    entry.extend_from_slice(&(object.len() as u64).to_le_bytes());
    entry.extend_from_slice(&Sha256::digest(object));
    entry.extend_from_slice(object);
    entry
}
// ANCHOR_END: format

// ANCHOR: decode
/// The object in `entry`, if the header is this format's, names `key`, and
/// describes exactly the bytes that follow it.
fn decode<'a>(entry: &'a [u8], key: &Key) -> Option<&'a [u8]> {
    let (header, object) = entry.split_at_checked(HEADER)?;
    let (magic, rest) = header.split_at(8);
    let (format, rest) = rest.split_at(4);
    let (stored_key, rest) = rest.split_at(32);
    let (length, checksum) = rest.split_at(8);
    let whole = magic == MAGIC
        && format == FORMAT.to_le_bytes()
        && stored_key == key
        && length == (object.len() as u64).to_le_bytes()
        && checksum == Sha256::digest(object).as_slice();
    whole.then_some(object)
}
// ANCHOR_END: decode

// ANCHOR: test_dir
/// A fresh, empty directory for one test, under the system's temporary directory.
#[cfg(test)]
pub fn test_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("toy-cache-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    dir
}

/// The entries in `dir`.
#[cfg(test)]
pub fn entries(dir: &std::path::Path) -> Vec<PathBuf> {
    let Ok(read) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut entries: Vec<PathBuf> = read.flatten().map(|entry| entry.path()).collect();
    entries.sort();
    entries
}
// ANCHOR_END: test_dir

// ANCHOR: tests
#[cfg(test)]
mod tests {
    use std::path::Path;

    use inkwell::context::Context;
    use inkwell::targets::{InitializationConfig, Target};

    use super::*;
    use crate::codegen::Generator;
    use crate::emit;
    use crate::jit::Jit;
    use crate::lexer::lex;
    use crate::natives;
    use crate::parser::parse;

    // ANCHOR: test_naive
    #[test]
    fn parts_cannot_run_into_each_other() {
        let naive = |parts: &[&[u8]]| Sha256::digest(parts.concat());
        assert_eq!(naive(&[b"ab", b"c"]), naive(&[b"a", b"bc"]));
        assert_ne!(hash(&[b"ab", b"c"]), hash(&[b"a", b"bc"]));
    }
    // ANCHOR_END: test_naive

    // ANCHOR: test_key
    /// The key of each of the program's items, in a cache for `optimize`.
    fn keys(text: &str, optimize: bool) -> Vec<Key> {
        Target::initialize_native(&InitializationConfig::default()).unwrap();
        let machine = emit::jit_machine().unwrap();
        let cache = Cache::new(test_dir("unused"), &machine, optimize);
        let context = Context::create();
        let mut generator = Generator::new(&context);
        let items = parse(text, &lex(text)).into_iter().map(Result::unwrap);
        let keys = items.map(|item| cache.key(&item.to_string(), &generator.item(&item).unwrap()));
        keys.collect()
    }

    #[test]
    fn a_key_ignores_positions_and_nothing_else() {
        let one = keys("def g(x) x; def f(x) g(x) + 1", true);
        let moved = keys("\n\ndef g(x) x;\n  def f(x)\n    g(x)+1 # the same", true);
        assert_eq!(one, moved);
        assert_ne!(one[1], keys("def g(x) x; def f(x) g(x) + 2", true)[1]);
        assert_ne!(one[1], keys("def g(x) x; def f(y) g(y) + 1", true)[1]);
        assert_ne!(one[1], keys("def g(x) x; def f(x) g(x) + 1", false)[1]);
    }
    // ANCHOR_END: test_key

    // ANCHOR: test_entries
    /// A cache in a fresh directory, with one object stored: the cache, the key, the
    /// object and the entry's path.
    fn stored(name: &str) -> (Cache, Key, Vec<u8>, PathBuf) {
        Target::initialize_native(&InitializationConfig::default()).unwrap();
        let machine = emit::jit_machine().unwrap();
        let cache = Cache::new(test_dir(name), &machine, true);
        let (key, object) = (hash(&[b"f"]), b"\x7fELF and the rest".to_vec());
        cache.put(&key, &object).unwrap();
        let path = cache.path(&key);
        (cache, key, object, path)
    }

    #[test]
    fn an_entry_comes_back_whole() {
        let (cache, key, object, path) = stored("whole");
        assert_eq!(cache.get(&key), Some(object));
        assert_eq!(entries(&cache.dir), [path]);
        assert_eq!(cache.get(&hash(&[b"g"])), None);
    }

    #[test]
    fn a_truncated_entry_is_removed() {
        let (cache, key, _, path) = stored("truncated");
        let bytes = fs::read(&path).unwrap();
        fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
        assert_eq!(cache.get(&key), None);
        assert!(entries(&cache.dir).is_empty());
    }

    #[test]
    fn a_flipped_byte_is_found() {
        let (cache, key, _, path) = stored("flipped");
        let mut bytes = fs::read(&path).unwrap();
        *bytes.last_mut().unwrap() ^= 1;
        fs::write(&path, &bytes).unwrap();
        assert_eq!(cache.get(&key), None);
        assert!(entries(&cache.dir).is_empty());
    }

    #[test]
    fn an_entry_under_another_name_is_not_used() {
        let (cache, key, _, path) = stored("renamed");
        let other = hash(&[b"g"]);
        fs::rename(&path, cache.path(&other)).unwrap();
        assert_eq!(cache.get(&other), None);
        assert_eq!(cache.get(&key), None);
        assert!(entries(&cache.dir).is_empty());
    }
    // ANCHOR_END: test_entries

    #[test]
    fn the_least_recently_used_entries_go_first() {
        let (mut cache, a, object, _) = stored("lru");
        let size = (HEADER + object.len()) as u64;
        cache.limit = 3 * size;
        let (b, c, d) = (hash(&[b"b"]), hash(&[b"c"]), hash(&[b"d"]));
        cache.put(&b, &object).unwrap();
        cache.put(&c, &object).unwrap();
        // Used 30, 20 and 10 seconds ago (file times are too coarse to order writes
        // made a microsecond apart).
        let ago = |seconds| SystemTime::now() - std::time::Duration::from_secs(seconds);
        for (key, seconds) in [(&a, 30), (&b, 20), (&c, 10)] {
            let file = fs::File::open(cache.path(key)).unwrap();
            file.set_modified(ago(seconds)).unwrap();
        }
        // A hit makes `a` the most recently used: `b` is now the oldest.
        assert_eq!(cache.get(&a).as_ref(), Some(&object));
        cache.put(&d, &object).unwrap();
        let mut left = vec![cache.path(&a), cache.path(&c), cache.path(&d)];
        left.sort();
        assert_eq!(entries(&cache.dir), left);
    }

    #[test]
    fn other_files_are_never_evicted() {
        let (mut cache, key, object, path) = stored("others");
        cache.limit = 0;
        let notes = cache.dir.join("notes.txt");
        fs::write(&notes, "mine").unwrap();
        cache.put(&key, &object).unwrap();
        assert_eq!(entries(&cache.dir), [notes]);
        assert!(!path.exists());
    }

    // ANCHOR: test_jit
    /// Runs `text` with a JIT that keeps its objects in `dir`: the outcomes, and
    /// what the trace wrote.
    fn run(text: &str, dir: &Path) -> (Vec<Result<Option<f64>, String>>, String) {
        let context = Context::create();
        let mut jit = Jit::new(&context, true).unwrap();
        jit.set_trace(true);
        jit.set_cache(dir.to_path_buf());
        let items = parse(text, &lex(text)).into_iter().map(Result::unwrap);
        let (outcomes, trace) = natives::capture(|| {
            let outcomes = items.map(|item| jit.item(&item).map_err(|err| err.to_string()));
            outcomes.collect()
        });
        (outcomes, String::from_utf8(trace).unwrap())
    }

    const PROGRAM: &str = "def f(x) x * 2; def g(x) f(x) + 1; g(3); g(4) + f(1); 1 + 2";
    const COMPILED: &str = "[lazy] compiled g (calls f)\n[lazy] compiled f\n";
    const LOADED: &str = "[lazy] loaded g (calls f)\n[lazy] loaded f\n";

    #[test]
    fn a_second_run_loads_what_the_first_compiled() {
        let dir = test_dir("second");
        let (first, trace) = run(PROGRAM, &dir);
        assert_eq!(trace, COMPILED);
        // `g`, `f`, and the two expressions with calls: `1 + 2` is interpreted.
        assert_eq!(entries(&dir).len(), 4);
        let (second, trace) = run(PROGRAM, &dir);
        assert_eq!((second, trace.as_str()), (first, LOADED));
    }

    #[test]
    fn bad_entries_are_compiled_again() {
        let dir = test_dir("bad");
        let (first, _) = run(PROGRAM, &dir);
        // One entry cut short, one with a byte flipped, two swapped (another key's).
        let paths = entries(&dir);
        let bytes = fs::read(&paths[0]).unwrap();
        fs::write(&paths[0], &bytes[..bytes.len() / 2]).unwrap();
        let mut bytes = fs::read(&paths[1]).unwrap();
        bytes[HEADER + 100] ^= 0x10;
        fs::write(&paths[1], bytes).unwrap();
        let (two, three) = (fs::read(&paths[2]).unwrap(), fs::read(&paths[3]).unwrap());
        fs::write(&paths[2], three).unwrap();
        fs::write(&paths[3], two).unwrap();
        let (again, trace) = run(PROGRAM, &dir);
        assert_eq!((again, trace.as_str()), (first.clone(), COMPILED));
        // And stored again, whole.
        let (last, trace) = run(PROGRAM, &dir);
        assert_eq!((last, trace.as_str()), (first, LOADED));
    }

    #[test]
    fn a_directory_that_cannot_be_written_only_costs_compiles() {
        let file = test_dir("file");
        fs::write(&file, "not a directory").unwrap();
        let (first, trace) = run(PROGRAM, &file);
        assert_eq!(trace, COMPILED);
        let (second, trace) = run(PROGRAM, &file);
        assert_eq!((second, trace.as_str()), (first, COMPILED));
    }
    // ANCHOR_END: test_jit
}
// ANCHOR_END: tests

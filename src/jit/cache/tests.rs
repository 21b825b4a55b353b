//! Unit tests of the code cache's entries and directory.

use super::dir::{Facts, judge};
use super::entry::{HEADER, MAGIC};
use super::*;

fn cache(dir: &Path) -> Cache {
    Cache::open(
        dir.to_path_buf(),
        DEFAULT_LIMIT,
        Box::new(|| b"test".to_vec()),
    )
    .expect("a private temporary directory is trusted")
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
    let mut other = Cache::open(
        dir.path().to_path_buf(),
        DEFAULT_LIMIT,
        Box::new(|| b"other".to_vec()),
    )
    .expect("open");
    assert_ne!(other.key(&[b"def f(x) x;", b"f"]), key);

    // The cache's own entries, truncated, with a flipped byte of code (the checksum
    // fails) or another format, are ignored and removed.
    let path = cache.path(&key);
    let whole = fs::read(&path).expect("entry");
    let flipped = |at: usize| {
        let mut b = whole.clone();
        b[at] ^= 1;
        b
    };
    for broken in [
        whole[..whole.len() - 1].to_vec(),
        whole[..HEADER - 1].to_vec(),
        flipped(whole.len() - 1),
        flipped(8),
    ] {
        fs::write(&path, &broken).expect("write");
        assert_eq!(self::cache(dir.path()).get(&key), None);
        assert!(!path.exists());
    }
    // A file without the header is not the cache's: ignored, kept, never replaced.
    fs::write(&path, b"garbage").expect("write");
    let mut fresh = self::cache(dir.path());
    assert_eq!(fresh.get(&key), None);
    fresh.put(&key, b"object bytes");
    flush();
    assert_eq!(fs::read(&path).expect("kept"), b"garbage");
    assert_eq!(usage(dir.path()), Usage::default());
    fs::remove_file(&path).expect("remove");

    // Another key's entry under this name: the cache's own, so removed.
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
fn evicts_least_recently_used_entries_first_and_nothing_else() {
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
    // Older than every entry, named like one, but not the cache's.
    let user = dir.path().join(entry::name(&[7; 32]));
    fs::write(&user, [1u8; 100]).expect("write");
    let file = fs::File::options().write(true).open(&user).expect("user");
    file.set_modified(SystemTime::now() - std::time::Duration::from_secs(1000))
        .expect("mtime");
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
    assert_eq!(fs::read(&user).expect("kept"), [1u8; 100]);
}

#[test]
fn names_are_recognized_exactly() {
    let name = entry::name(&[0xab; 32]);
    assert_eq!(name, format!("{}.toyobj", "ab".repeat(32)));
    assert!(entry::is_entry_name(&name));
    for other in [
        "ab".repeat(32),
        format!("{}.toyobj", "AB".repeat(32)),
        format!("{}.toyobj", "ab".repeat(31)),
        format!("{}.toyobj.bak", "ab".repeat(32)),
        format!("{}.toyobj", "zz".repeat(32)),
    ] {
        assert!(!entry::is_entry_name(&other), "{other}");
    }
    assert!(entry::is_temp_name(&entry::temp_name(12, 3)));
    for other in [
        ".tmp-notes",
        ".tmp-1-2",
        ".tmp--2.toyobj",
        ".tmp-1-x.toyobj",
    ] {
        assert!(!entry::is_temp_name(other), "{other}");
    }
}

#[test]
fn only_a_private_directory_of_this_user_is_trusted() {
    let dir = Path::new("/some/cache");
    let ok = Facts {
        symlink: false,
        directory: true,
        owner: 1000,
        mode: 0o40700,
        me: 1000,
    };
    assert!(judge(dir, ok).is_ok());
    assert!(
        judge(
            dir,
            Facts {
                mode: 0o40755,
                ..ok
            }
        )
        .is_ok()
    );
    let refused = [
        (
            Facts {
                symlink: true,
                ..ok
            },
            "is a symbolic link",
        ),
        (
            Facts {
                directory: false,
                ..ok
            },
            "is not a directory",
        ),
        (Facts { owner: 0, ..ok }, "belongs to another user (uid 0)"),
        (
            Facts {
                mode: 0o40770,
                ..ok
            },
            "is writable by other users (mode 770)",
        ),
        (
            Facts {
                mode: 0o40702,
                ..ok
            },
            "is writable by other users (mode 702)",
        ),
        (
            Facts {
                mode: 0o41777,
                ..ok
            },
            "is writable by other users (mode 1777)",
        ),
    ];
    for (facts, why) in refused {
        let err = judge(dir, facts).expect_err(why).to_string();
        assert_eq!(err, format!("the code cache /some/cache {why}"));
    }
}

#[test]
fn a_directory_is_created_private_and_an_open_one_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let made = dir.path().join("a/b");
    let mut cache = cache(&made);
    let key = cache.key(&[b"f"]);
    cache.put(&key, b"object");
    flush();
    for path in [dir.path().join("a"), made.clone()] {
        let mode = fs::metadata(&path).expect("made").permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "{path:?}");
    }
    fs::set_permissions(&made, fs::Permissions::from_mode(0o777)).expect("chmod");
    let open = Cache::open(made.clone(), DEFAULT_LIMIT, Box::new(Vec::new));
    assert!(matches!(
        open,
        Err(CacheError::Writable { mode: 0o777, .. })
    ));
}

#[test]
fn oversized_files_are_neither_read_nor_removed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cache = cache(dir.path());
    let key = cache.key(&[b"f"]);
    let path = cache.path(&key);
    // Sparse: costs no disk.
    fs::write(&path, MAGIC).expect("magic");
    let file = fs::File::options().write(true).open(&path).expect("open");
    file.set_len(MAX_ENTRY + 1).expect("grow");
    assert_eq!(cache.get(&key), None);
    assert!(!entry::is_own_file(&path), "too large to be the cache's");
    assert_eq!(clear(dir.path()).expect("clear"), 0);
    assert_eq!(fs::metadata(&path).expect("kept").len(), MAX_ENTRY + 1);
    assert!(entry::encode(&key, &vec![0; MAX_ENTRY as usize]).is_none());
}

#[test]
fn the_exact_llvm_version_is_in_the_key() {
    // This build's own version is what goes in.
    let linked = crate::codegen::llvm_version::VERSION;
    assert!(
        linked.split('.').count() == 3 && linked.split('.').all(|n| n.parse::<u32>().is_ok()),
        "an llvm-config version: {linked}"
    );
    let target = ["x86_64-pc-linux-gnu", "znver3", "+avx2", "O2"];
    let here = context_of("1:2", &format!("{linked} "), &target);
    assert!(String::from_utf8_lossy(&here).contains(&format!("llvm {linked} ")));
    assert_eq!(here, context_of("1:2", &format!("{linked} "), &target));

    // Another patch release of the same LLVM makes other keys for the same function.
    let key = |llvm: &'static str| {
        let dir = tempfile::tempdir().expect("temp dir");
        Cache::open(
            dir.path().to_path_buf(),
            DEFAULT_LIMIT,
            Box::new(move || context_of("1:2", llvm, &target)),
        )
        .expect("open")
        .key(&[b"def f(x) x;", b"f"])
    };
    assert_ne!(key("15.0.6 "), key("15.0.7 "));
    assert_eq!(key("15.0.6 "), key("15.0.6 "));
}

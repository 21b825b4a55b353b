//! What lies in the cache directory is not trusted: files the cache did not write
//! are never read as entries nor removed, FIFOs and links are not opened through,
//! and a directory others can write to is not used.

use std::process::Command;

use super::{PROGRAM, bounded, cache_command, command, listing, names, trace, warmed};

const HEX: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

#[test]
fn user_files_in_the_cache_directory_survive_eviction_and_clear() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (cache, file) = warmed(dir.path());
    // Files the cache did not write, some with names like its own.
    let users = [
        (cache.join(HEX), b"precious".to_vec()),
        (
            cache.join(format!("{HEX}.toyobj")),
            b"mine, not toy's".to_vec(),
        ),
        (cache.join(".tmp-notes"), b"notes".to_vec()),
        (cache.join(".tmp-1-2.toyobj"), b"more notes".to_vec()),
    ];
    for (path, bytes) in &users {
        std::fs::write(path, bytes).expect("write");
    }
    // A changed program writes entries; a bound of one byte evicts all it can.
    std::fs::write(&file, PROGRAM.replace("x < 3", "x < 2")).expect("write");
    let evicting = bounded(command(&cache, &[], &file).env("TOY_CACHE_LIMIT", "1"));
    assert_eq!(String::from_utf8_lossy(&evicting.stdout), "987.000000\n");
    let mut expected: Vec<_> = users.iter().map(|(path, _)| path.clone()).collect();
    expected.sort();
    for (path, bytes) in &users {
        assert_eq!(&std::fs::read(path).expect("kept"), bytes, "{path:?}");
    }
    assert_eq!(
        listing(&cache),
        expected,
        "every entry of toy's own was evicted"
    );
    // Entries again, then `toy cache clear`.
    bounded(&mut command(&cache, &[], &file));
    assert!(listing(&cache).len() > expected.len());
    let clear = cache_command(&cache, "clear");
    assert!(clear.status.success());
    for (path, bytes) in &users {
        assert_eq!(&std::fs::read(path).expect("kept"), bytes, "{path:?}");
    }
    assert_eq!(
        listing(&cache),
        expected,
        "every entry of toy's own is gone"
    );
}

#[test]
fn a_fifo_under_an_entrys_name_neither_hangs_toy_nor_is_removed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (cache, file) = warmed(dir.path());
    let entries = listing(&cache);
    for entry in &entries {
        std::fs::remove_file(entry).expect("remove");
        let made = Command::new("mkfifo").arg(entry).status().expect("mkfifo");
        assert!(made.success());
    }
    let run = bounded(&mut command(&cache, &[], &file));
    assert!(run.status.success());
    assert_eq!(String::from_utf8_lossy(&run.stdout), "610.000000\n");
    assert_eq!(trace(&run), (names(&["fib", "run"]), vec![]));
    assert!(cache_command(&cache, "stats").status.success());
    assert!(cache_command(&cache, "clear").status.success());
    use std::os::unix::fs::FileTypeExt;
    for entry in &entries {
        let kind = std::fs::symlink_metadata(entry).expect("kept").file_type();
        assert!(kind.is_fifo(), "{entry:?} is still the FIFO");
    }
}

#[test]
fn a_symlink_under_an_entrys_name_is_refused_unread_and_kept() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (cache, file) = warmed(dir.path());
    let entries = listing(&cache);
    for entry in &entries {
        std::fs::remove_file(entry).expect("remove");
        std::os::unix::fs::symlink("/dev/zero", entry).expect("symlink");
    }
    let run = bounded(&mut command(&cache, &[], &file));
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&run.stdout), "610.000000\n");
    assert_eq!(trace(&run), (names(&["fib", "run"]), vec![]));
    assert!(cache_command(&cache, "clear").status.success());
    for entry in &entries {
        let meta = std::fs::symlink_metadata(entry).expect("kept");
        assert!(meta.file_type().is_symlink(), "{entry:?} is still the link");
    }
}

#[test]
fn a_directory_others_can_write_or_a_symlink_is_refused_with_a_warning() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("prog.ks");
    std::fs::write(&file, PROGRAM).expect("write");
    let open = dir.path().join("open");
    std::fs::create_dir(&open).expect("mkdir");
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let private = dir.path().join("private");
    std::fs::create_dir(&private).expect("mkdir");
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&private, &link).expect("symlink");
    for refused in [&open, &link] {
        let run = bounded(&mut command(refused, &[], &file));
        assert!(run.status.success());
        assert_eq!(String::from_utf8_lossy(&run.stdout), "610.000000\n");
        let stderr = String::from_utf8_lossy(&run.stderr);
        let warnings: Vec<_> = stderr
            .lines()
            .filter(|line| line.starts_with("toy: warning:"))
            .collect();
        assert_eq!(warnings.len(), 1, "{stderr}");
        assert!(
            warnings[0].contains(&*refused.to_string_lossy()),
            "{stderr}"
        );
        assert!(warnings[0].contains("cache is off"), "{stderr}");
        assert_eq!(trace(&run), (names(&["fib", "run"]), vec![]));
        assert!(
            listing(refused).is_empty(),
            "nothing written to {refused:?}"
        );
    }
}

#[test]
fn a_fresh_cache_directory_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("prog.ks");
    std::fs::write(&file, PROGRAM).expect("write");
    let cache = dir.path().join("fresh");
    let run = bounded(&mut command(&cache, &[], &file));
    assert!(run.status.success());
    let mode = std::fs::metadata(&cache)
        .expect("made")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700);
}

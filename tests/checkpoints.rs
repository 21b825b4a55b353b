//! The book's checkpoints (`tutorial/code/chNN`, one crate per chapter) are checked
//! like the book: every one builds and passes its own tests (and so does every
//! reference solution of an exercise, `tutorial/exercises/chNN/NAME`), the workspace lists every
//! one, and chapter N shows, through its `{{#include}}`s, every line that checkpoint N
//! adds or changes over checkpoint N-1 (chapter 1: every line of its checkpoint) — so a
//! reader who types what the chapters show gets exactly checkpoint N.

mod book;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use similar::{ChangeTag, TextDiff};

#[test]
fn checkpoints_build_and_pass_their_own_tests() {
    book::checkpoint_bins();
    let output = book::cargo_on_checkpoints(&["test", "--quiet"]);
    assert!(
        output.status.success(),
        "the checkpoints' tests fail:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn exercise_solutions_build_and_pass_their_own_tests() {
    let output = book::cargo_on(&book::exercises_dir(), &["test", "--quiet"]);
    assert!(
        output.status.success(),
        "the exercises' reference solutions fail:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The `members` list of a workspace's `Cargo.toml`.
fn members(workspace: &Path) -> Vec<String> {
    let manifest = std::fs::read_to_string(workspace.join("Cargo.toml")).expect("read");
    let list = manifest
        .split_once("members = [")
        .and_then(|(_, rest)| rest.split_once(']'))
        .expect("a members list")
        .0;
    list.split(',')
        .map(|m| m.trim().trim_matches('"').to_string())
        .filter(|m| !m.is_empty())
        .collect()
}

#[test]
fn every_solution_is_a_member_and_named_by_its_chapter() {
    let dir = book::exercises_dir();
    let mut found = Vec::new();
    for chapter in book::checkpoints() {
        let Ok(entries) = std::fs::read_dir(dir.join(&chapter)) else {
            continue;
        };
        for entry in entries {
            let name = entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned();
            let toml = std::fs::read_to_string(dir.join(&chapter).join(&name).join("Cargo.toml"))
                .expect("a crate");
            assert!(
                toml.contains(&format!("\nname = \"toy-{chapter}-{name}\"\n")),
                "exercises/{chapter}/{name} must be the package toy-{chapter}-{name}"
            );
            found.push(format!("{chapter}/{name}"));
        }
    }
    found.sort();
    let mut listed = members(&dir);
    listed.sort();
    assert_eq!(listed, found, "tutorial/exercises/Cargo.toml's members");
}

#[test]
fn the_workspace_lists_every_checkpoint_under_its_name() {
    let members = members(&book::code_dir());
    let checkpoints = book::checkpoints();
    assert!(checkpoints.len() >= 2, "{checkpoints:?}");
    assert_eq!(members, checkpoints, "tutorial/code/Cargo.toml's members");
    for name in &checkpoints {
        let toml =
            std::fs::read_to_string(book::code_dir().join(name).join("Cargo.toml")).expect("read");
        assert!(
            toml.contains(&format!("\nname = \"toy-{name}\"\n")),
            "{name}/Cargo.toml must name the package toy-{name}"
        );
        let n: u32 = name[2..].parse().expect("chNN");
        assert!(book::chapter_file(n).is_some(), "no chapter for {name}");
    }
}

/// Files of a checkpoint, relative to it (build output and the lock file aside).
fn files(dir: &Path) -> BTreeSet<PathBuf> {
    fn walk(dir: &Path, base: &Path, out: &mut BTreeSet<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("read dir") {
            let path = entry.expect("entry").path();
            let name = path.file_name().expect("name").to_string_lossy();
            if name == "target" || name == "Cargo.lock" {
                continue;
            }
            if path.is_dir() {
                walk(&path, base, out);
            } else {
                out.insert(path.strip_prefix(base).expect("inside").to_path_buf());
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(dir, dir, &mut out);
    out
}

/// The lines (0-based indices into `new`) that `new` adds or changes over `old` and
/// that no index in `shown` covers. Anchor markers, blank lines and the package name
/// (`name = "toy-chNN"`, which differs by construction) are not changes a reader types.
fn unshown_changes(old: &str, new: &str, shown: &BTreeSet<usize>) -> Vec<(usize, String)> {
    let keep = |text: &str| -> (Vec<usize>, Vec<String>) {
        let mut indices = Vec::new();
        let mut lines = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if book::is_anchor_line(line) {
                continue;
            }
            let package = line.starts_with("name = \"toy-ch");
            indices.push(i);
            lines.push(if package {
                "name = PACKAGE".into()
            } else {
                line.into()
            });
        }
        (indices, lines)
    };
    let (_, old_lines) = keep(old);
    let (new_indices, new_lines) = keep(new);
    let old_refs: Vec<&str> = old_lines.iter().map(String::as_str).collect();
    let new_refs: Vec<&str> = new_lines.iter().map(String::as_str).collect();
    let diff = TextDiff::from_slices(&old_refs, &new_refs);
    diff.iter_all_changes()
        .filter(|change| change.tag() == ChangeTag::Insert)
        .filter_map(|change| {
            let i = new_indices[change.new_index().expect("an insert has a new index")];
            let line = change.value();
            (!line.trim().is_empty() && !shown.contains(&i)).then(|| (i, line.to_string()))
        })
        .collect()
}

#[test]
fn unshown_changes_finds_what_no_include_shows() {
    let old = "a\nb\n";
    let new = "a\n// ANCHOR: x\nb2\n// ANCHOR_END: x\n\nc\n";
    let shown: BTreeSet<usize> = book::shown_lines(new, Some("x"))
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(shown, BTreeSet::from([2]));
    assert_eq!(
        unshown_changes(old, new, &shown),
        vec![(5, "c".to_string())]
    );
    assert_eq!(unshown_changes(old, new, &BTreeSet::from([2, 5])), vec![]);
    let toml = "name = \"toy-ch02\"\n";
    assert_eq!(
        unshown_changes("name = \"toy-ch01\"\n", toml, &BTreeSet::new()),
        vec![]
    );
}

#[test]
fn each_chapter_shows_all_that_its_checkpoint_changes() {
    let code = book::code_dir();
    let checkpoints = book::checkpoints();
    let mut failures = Vec::new();
    // Chapter 1 starts from an empty crate: it shows all of its checkpoint.
    let firsts = std::iter::once(None).chain(checkpoints.iter().map(Some));
    for (before, name) in firsts.zip(&checkpoints) {
        let prev = before.map_or_else(|| code.join("no-such-checkpoint"), |b| code.join(b));
        let cur = code.join(name);
        let n: u32 = name[2..].parse().expect("chNN");
        let chapter = book::chapter_file(n).expect("a chapter per checkpoint");
        // What the chapter shows of its own checkpoint, file by file.
        let mut shown: BTreeMap<PathBuf, BTreeSet<usize>> = BTreeMap::new();
        for include in book::includes(&chapter) {
            let Ok(file) = include.file.canonicalize() else {
                continue; // `every_include_resolves` reports it
            };
            let Ok(relative) = file.strip_prefix(cur.canonicalize().expect("dir")) else {
                continue;
            };
            let source = std::fs::read_to_string(&file).expect("read");
            let lines = book::shown_lines(&source, include.anchor.as_deref()).unwrap_or_default();
            shown
                .entry(relative.to_path_buf())
                .or_default()
                .extend(lines);
        }
        let text = std::fs::read_to_string(&chapter).expect("chapter");
        let old_files = if prev.exists() {
            files(&prev)
        } else {
            BTreeSet::new()
        };
        let new_files = files(&cur);
        for gone in old_files.difference(&new_files) {
            if !text.contains(&*gone.to_string_lossy()) {
                failures.push(format!(
                    "{}: {name} deletes {} without naming it",
                    chapter.display(),
                    gone.display()
                ));
            }
        }
        for file in &new_files {
            let old = std::fs::read_to_string(prev.join(file)).unwrap_or_default();
            let new = std::fs::read_to_string(cur.join(file)).expect("read");
            let none = BTreeSet::new();
            for (i, line) in unshown_changes(&old, &new, shown.get(file).unwrap_or(&none)) {
                failures.push(format!(
                    "tutorial/code/{name}/{}:{}: `{}` is new in {name} but {} shows it nowhere",
                    file.display(),
                    i + 1,
                    line.trim(),
                    chapter.file_name().expect("name").to_string_lossy()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Runs `tutorial/tools/forward.sh FROM` in a copy of the book's layout at `root`.
fn forward(root: &Path, from: &str) -> std::process::Output {
    std::process::Command::new(root.join("tutorial/tools/forward.sh"))
        .arg(from)
        .output()
        .expect("forward.sh runs")
}

fn git(root: &Path, args: &[&str]) {
    let status = std::process::Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@t"])
        .args(args)
        .current_dir(root)
        .status()
        .expect("git runs");
    assert!(status.success(), "git {args:?}");
}

#[test]
fn forward_carries_a_fix_to_later_checkpoints_and_stops_at_a_conflict() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    let tools = root.join("tutorial/tools");
    std::fs::create_dir_all(&tools).expect("mkdir");
    std::fs::copy(
        book::root().join("tutorial/tools/forward.sh"),
        tools.join("forward.sh"),
    )
    .expect("copy forward.sh");
    // Three checkpoints: ch02 adds a function, ch03 also renames the first one.
    let base = "fn a() {}\n\nfn b() {}\n\nfn c() {}\n\n// end\n";
    let ch02 = base.replace("// end", "fn d() {}\n\n// end");
    let versions = [
        ("ch01", base.to_string()),
        ("ch02", ch02.clone()),
        ("ch03", ch02.replace("fn a", "fn a2")),
    ];
    for (name, text) in &versions {
        let src = root.join("tutorial/code").join(name).join("src");
        std::fs::create_dir_all(&src).expect("mkdir");
        std::fs::write(src.join("lib.rs"), text).expect("write");
    }
    git(root, &["init", "-q"]);
    git(root, &["add", "-A"]);
    git(root, &["commit", "-qm", "book"]);
    let lib = |name: &str| {
        std::fs::read_to_string(root.join("tutorial/code").join(name).join("src/lib.rs"))
            .expect("read")
    };

    // A fix far from what later chapters changed reaches all of them.
    let ch01 = root.join("tutorial/code/ch01/src/lib.rs");
    std::fs::write(&ch01, base.replace("fn c() {}", "fn c() -> u8 { 0 }")).expect("write");
    let output = forward(root, "1");
    assert!(output.status.success(), "{output:?}");
    assert!(
        lib("ch02").contains("fn c() -> u8 { 0 }"),
        "{}",
        lib("ch02")
    );
    assert!(
        lib("ch03").contains("fn c() -> u8 { 0 }"),
        "{}",
        lib("ch03")
    );
    git(root, &["commit", "-qam", "fix c"]);

    // A fix of a line that ch03 rewrote applies to ch02 and stops at ch03, untouched.
    std::fs::write(&ch01, lib("ch01").replace("fn a()", "pub fn a()")).expect("write");
    let before = lib("ch03");
    let output = forward(root, "01");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("does not apply to ch03"), "{stderr}");
    assert!(lib("ch02").contains("pub fn a()"), "{}", lib("ch02"));
    assert_eq!(lib("ch03"), before);
}

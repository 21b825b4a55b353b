//! What `tests/tutorial.rs` and `tests/checkpoints.rs` both read of the book: its
//! chapters, their `{{#include}}`s (with mdBook's rules for anchors), and the
//! checkpoint crates of `tutorial/code`, built once per test process.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The repository's root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The chapters' Markdown files (`tutorial/src/*.md` but SUMMARY.md), sorted.
pub fn chapters() -> Vec<PathBuf> {
    let dir = root().join("tutorial/src");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tutorial/src exists")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md") && !p.ends_with("SUMMARY.md"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "the tutorial has chapters");
    files
}

/// The chapter file `tutorial/src/chNN-*.md` of chapter `n`.
pub fn chapter_file(n: u32) -> Option<PathBuf> {
    let prefix = format!("ch{n:02}-");
    chapters().into_iter().find(|p| {
        p.file_name()
            .is_some_and(|f| f.to_string_lossy().starts_with(&prefix))
    })
}

/// One `{{#include PATH}}` or `{{#include PATH:ANCHOR}}` of a chapter.
pub struct Include {
    /// What the braces hold, for messages.
    pub spec: String,
    /// The included file, resolved against the chapter's directory.
    pub file: PathBuf,
    /// The anchor, when only part of the file is included.
    pub anchor: Option<String>,
}

/// The includes of a chapter, in order.
pub fn includes(chapter: &Path) -> Vec<Include> {
    let text = std::fs::read_to_string(chapter).expect("chapter");
    let dir = chapter.parent().expect("dir");
    text.split("{{#include ")
        .skip(1)
        .map(|piece| {
            let spec = piece.split("}}").next().expect("closing braces").trim();
            let (path, anchor) = match spec.rsplit_once(':') {
                Some((path, anchor)) if !anchor.contains('/') => (path, Some(anchor)),
                _ => (spec, None),
            };
            Include {
                spec: spec.to_string(),
                file: dir.join(path),
                anchor: anchor.map(str::to_string),
            }
        })
        .collect()
}

/// Whether mdBook treats a line as an anchor marker (and so never shows it).
pub fn is_anchor_line(line: &str) -> bool {
    line.contains("ANCHOR:") || line.contains("ANCHOR_END:")
}

/// The indices (from 0) of the lines of `source` that an include with `anchor` shows,
/// as mdBook does: between `ANCHOR: name` and `ANCHOR_END: name`, or the whole file
/// without an anchor, never an anchor marker itself. `None`: no such anchor.
pub fn shown_lines(source: &str, anchor: Option<&str>) -> Option<Vec<usize>> {
    let lines: Vec<&str> = source.lines().collect();
    let Some(anchor) = anchor else {
        let all = (0..lines.len()).filter(|&i| !is_anchor_line(lines[i]));
        return Some(all.collect());
    };
    let named = |marker: &str, line: &str| {
        line.split_once(marker)
            .is_some_and(|(_, rest)| rest.trim() == anchor)
    };
    let start = lines.iter().position(|l| named("ANCHOR:", l))?;
    let end = start
        + lines[start..]
            .iter()
            .position(|l| named("ANCHOR_END:", l))?;
    let shown = (start + 1..end).filter(|&i| !is_anchor_line(lines[i]));
    Some(shown.collect())
}

/// `tutorial/code`, the checkpoints' workspace.
pub fn code_dir() -> PathBuf {
    root().join("tutorial/code")
}

/// The checkpoints (`ch01`, `ch02`, ...), sorted.
pub fn checkpoints() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(code_dir())
        .expect("tutorial/code exists")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.len() == 4 && name.starts_with("ch"))
        .collect();
    names.sort();
    names
}

/// The target directory of the checkpoints: `checkpoints` beside the profile
/// directories of this build (a nested cargo must not wait on the outer one's lock).
pub fn checkpoint_target() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_toy"))
        .parent()
        .and_then(Path::parent)
        .expect("target dir")
        .join("checkpoints")
}

/// Runs cargo on the checkpoints' workspace (`--locked`: the lock file is committed).
pub fn cargo_on_checkpoints(args: &[&str]) -> std::process::Output {
    cargo_on(&code_dir(), args)
}

/// `tutorial/exercises`, the workspace of the exercises' reference solutions.
pub fn exercises_dir() -> PathBuf {
    root().join("tutorial/exercises")
}

/// Runs cargo on the workspace in `dir`, building into the checkpoints' target
/// directory (the exercises share the checkpoints' dependencies).
pub fn cargo_on(dir: &Path, args: &[&str]) -> std::process::Output {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    Command::new(cargo)
        .args(args)
        .arg("--locked")
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(checkpoint_target())
        .output()
        .expect("cargo runs")
}

/// The directory of the built checkpoint binaries (`toy-ch01`, ...), built on first use
/// in this process; cargo's own lock serializes builds by parallel test processes.
pub fn checkpoint_bins() -> &'static Path {
    static BINS: OnceLock<PathBuf> = OnceLock::new();
    BINS.get_or_init(|| {
        let output = cargo_on_checkpoints(&["build", "--quiet", "--bins"]);
        assert!(
            output.status.success(),
            "the checkpoints do not build:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        checkpoint_target().join("debug")
    })
}

/// A directory holding only checkpoint `name`'s binary, `toy-NAME`, for a `PATH`.
pub fn checkpoint_path_dir(name: &str) -> PathBuf {
    let binary = checkpoint_bins().join(format!("toy-{name}"));
    assert!(binary.exists(), "no checkpoint binary {}", binary.display());
    let dir = checkpoint_target().join("path").join(name);
    std::fs::create_dir_all(&dir).expect("path dir");
    let link = dir.join(format!("toy-{name}"));
    // Parallel tests may race to make the same link; whoever wins made the right one.
    if std::fs::read_link(&link).ok().as_deref() != Some(binary.as_path()) {
        let _ = std::fs::remove_file(&link);
        let _ = std::os::unix::fs::symlink(&binary, &link);
    }
    dir
}

//! The tutorial (tutorial/src) is checked like code: every `{{#include}}` resolves to an
//! existing file and anchor, every chapter ends with a session, and every session —
//! a ```console block of `$ ` commands followed by their exact output — runs against
//! the built `toy` and prints exactly what the book says.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn chapters() -> Vec<PathBuf> {
    let dir = common::root("tutorial/src");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tutorial/src exists")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md") && !p.ends_with("SUMMARY.md"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "the tutorial has chapters");
    files
}

#[test]
fn summary_lists_every_chapter() {
    let summary =
        std::fs::read_to_string(common::root("tutorial/src/SUMMARY.md")).expect("SUMMARY");
    for chapter in chapters() {
        let name = chapter
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        assert!(
            summary.contains(&format!("({name})")),
            "SUMMARY.md lacks {name}"
        );
    }
}

#[test]
fn every_include_resolves() {
    let mut count = 0;
    for chapter in chapters() {
        let text = std::fs::read_to_string(&chapter).expect("chapter");
        for (i, piece) in text.split("{{#include ").enumerate().skip(1) {
            let spec = piece.split("}}").next().expect("closing braces").trim();
            let (path, anchor) = match spec.rsplit_once(':') {
                Some((path, anchor)) if !anchor.contains('/') => (path, Some(anchor)),
                _ => (spec, None),
            };
            let file = chapter.parent().expect("dir").join(path);
            let what = format!("{} include #{i} ({spec})", chapter.display());
            let source = std::fs::read_to_string(&file)
                .unwrap_or_else(|e| panic!("{what}: cannot read {}: {e}", file.display()));
            if let Some(anchor) = anchor {
                assert!(
                    source.contains(&format!("ANCHOR: {anchor}\n"))
                        && source.contains(&format!("ANCHOR_END: {anchor}\n")),
                    "{what}: no anchor `{anchor}` in {}",
                    file.display()
                );
            }
            count += 1;
        }
    }
    assert!(count >= 10, "the book shows real code ({count} includes)");
}

/// One command of a session and the output the book promises.
struct Step {
    chapter: PathBuf,
    command: String,
    expected: String,
}

/// The sessions: ```console blocks; `$ ` starts a command, a here-document (`<<'EOF'`)
/// continues it up to its terminator, and the lines after it are its output.
fn sessions(chapter: &Path) -> Vec<Step> {
    let text = std::fs::read_to_string(chapter).expect("chapter");
    let mut steps = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.trim_end() != "```console" {
            continue;
        }
        let mut current: Option<Step> = None;
        while let Some(line) = lines.next() {
            if line.starts_with("```") {
                break;
            }
            if let Some(command) = line.strip_prefix("$ ") {
                steps.extend(current.take());
                let mut command = command.to_string();
                if let Some((_, tag)) = command.split_once("<<'") {
                    let tag = tag.split('\'').next().expect("tag").to_string();
                    for body in lines.by_ref() {
                        command.push('\n');
                        command.push_str(body);
                        if body == tag {
                            break;
                        }
                    }
                }
                current = Some(Step {
                    chapter: chapter.to_path_buf(),
                    command,
                    expected: String::new(),
                });
            } else if let Some(step) = &mut current {
                step.expected.push_str(line);
                step.expected.push('\n');
            }
        }
        steps.extend(current.take());
    }
    steps
}

#[test]
fn every_chapter_ends_with_a_session_that_runs_as_written() {
    let bin = Path::new(env!("CARGO_BIN_EXE_toy"))
        .parent()
        .expect("bin dir")
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut count = 0;
    for chapter in chapters() {
        let steps = sessions(&chapter);
        assert!(
            !steps.is_empty(),
            "{} has no session to try",
            chapter.display()
        );
        for step in steps {
            let output = Command::new("sh")
                .arg("-c")
                .arg(&step.command)
                .current_dir(common::root("."))
                .env("PATH", &path)
                .env("NO_COLOR", "1")
                .env("XDG_STATE_HOME", std::env::temp_dir())
                // Sessions show compiles; the cache chapter names its own directory.
                .env("TOY_CACHE", "off")
                .output()
                .expect("sh runs");
            let stdout = String::from_utf8_lossy(&output.stdout);
            assert_eq!(
                stdout,
                step.expected,
                "{}: `{}` printed something else (stderr: {})",
                step.chapter.display(),
                step.command,
                String::from_utf8_lossy(&output.stderr)
            );
            count += 1;
        }
    }
    assert!(count >= 14, "only {count} session commands");
}

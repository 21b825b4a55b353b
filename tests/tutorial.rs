//! The tutorial (tutorial/src) is checked like code: every `{{#include}}` resolves to an
//! existing file and anchor, every chapter ends with a session, and every session —
//! a ```console block of `$ ` commands followed by their exact output — runs against
//! the built `toy` and prints exactly what the book says. A block whose first line is
//! `# checkpoint: chNN` runs against that chapter's checkpoint instead, `toy-chNN`; one
//! whose first line is `# LLVM 14` (`# LLVM 15 and later`) runs only where `toy` is
//! built against that LLVM (one of those), since its output shows that LLVM's IR.

mod book;

use std::path::{Path, PathBuf};
use std::process::Command;

use book::chapters;

#[test]
fn summary_lists_every_chapter() {
    let summary =
        std::fs::read_to_string(book::root().join("tutorial/src/SUMMARY.md")).expect("SUMMARY");
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
        for (i, include) in book::includes(&chapter).into_iter().enumerate() {
            let what = format!(
                "{} include #{} ({})",
                chapter.display(),
                i + 1,
                include.spec
            );
            let source = std::fs::read_to_string(&include.file)
                .unwrap_or_else(|e| panic!("{what}: cannot read {}: {e}", include.file.display()));
            // mdBook shows a whole file's anchor markers as they are.
            assert!(
                include.anchor.is_some() || !source.lines().any(book::is_anchor_line),
                "{what}: a file included whole must have no ANCHOR markers"
            );
            if let Some(anchor) = &include.anchor {
                assert!(
                    source.contains(&format!("ANCHOR: {anchor}\n"))
                        && source.contains(&format!("ANCHOR_END: {anchor}\n")),
                    "{what}: no anchor `{anchor}` in {}",
                    include.file.display()
                );
            }
            count += 1;
        }
    }
    assert!(count >= 10, "the book shows real code ({count} includes)");
}

/// The major version of the LLVM this `toy` is built against (its cargo feature).
const LLVM: u32 = if cfg!(feature = "llvm14") {
    14
} else if cfg!(feature = "llvm15") {
    15
} else {
    16
};

/// Whether a session whose first line is `# {annotation}` runs against `toy` and
/// this build, or `None` if the annotation names no LLVM version.
fn applies(annotation: &str) -> Option<bool> {
    let versions = annotation.strip_prefix("LLVM ")?;
    match versions.split_once(" and later") {
        Some((from, "")) => Some(LLVM >= from.parse().ok()?),
        Some(_) => None,
        None => Some(LLVM == versions.parse().ok()?),
    }
}

#[test]
fn llvm_annotations_select_this_build() {
    assert_eq!(applies("LLVM 14"), Some(LLVM == 14));
    assert_eq!(applies(&format!("LLVM {LLVM}")), Some(true));
    assert_eq!(applies("LLVM 15 and later"), Some(LLVM >= 15));
    assert_eq!(
        applies(&format!("LLVM {} and later", LLVM + 1)),
        Some(false)
    );
    for unknown in [
        "LLVM",
        "LLVM fifteen",
        "LLVM 15 and earlier",
        "llvm 14",
        "note",
    ] {
        assert_eq!(applies(unknown), None, "{unknown}");
    }
}

/// One command of a session and the output the book promises.
struct Step {
    chapter: PathBuf,
    /// The checkpoint the session runs against (`ch02`), or `None` for `toy`.
    checkpoint: Option<String>,
    command: String,
    expected: String,
}

/// The sessions that apply to this build: ```console blocks; a first line
/// `# checkpoint: chNN` names the checkpoint they run against, `# LLVM …` the LLVM
/// versions they are for, `$ ` starts a command, a here-document (`<<'EOF'`) continues
/// it up to its terminator, and the lines after it are its output.
fn sessions(chapter: &Path) -> Vec<Step> {
    let text = std::fs::read_to_string(chapter).expect("chapter");
    let mut steps = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.trim_end() != "```console" {
            continue;
        }
        let mut current: Option<Step> = None;
        let mut checkpoint = None;
        let mut first = true;
        let mut applies_here = true;
        while let Some(line) = lines.next() {
            if line.starts_with("```") {
                break;
            }
            if std::mem::take(&mut first)
                && let Some(annotation) = line.strip_prefix("# ")
            {
                if let Some(name) = annotation.strip_prefix("checkpoint: ") {
                    checkpoint = Some(name.trim().to_string());
                } else {
                    applies_here = applies(annotation.trim()).unwrap_or_else(|| {
                        panic!("{}: unknown session annotation `{line}`", chapter.display())
                    });
                }
                continue;
            }
            if !applies_here {
                continue;
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
                    checkpoint: checkpoint.clone(),
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
    let system_path = std::env::var("PATH").unwrap_or_default();
    let toy_path = format!("{}:{system_path}", bin.display());
    let mut count = 0;
    for chapter in chapters() {
        let steps = sessions(&chapter);
        assert!(
            !steps.is_empty(),
            "{} has no session to try",
            chapter.display()
        );
        for step in steps {
            // A checkpoint's session sees that checkpoint's binary and not `toy`.
            let path = match &step.checkpoint {
                Some(name) => {
                    let dir = book::checkpoint_path_dir(name);
                    format!("{}:{system_path}", dir.display())
                }
                None => toy_path.clone(),
            };
            let output = Command::new("sh")
                .arg("-c")
                .arg(&step.command)
                .current_dir(book::root())
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

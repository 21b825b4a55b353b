//! The fragments under grammar/examples: valid ones are accepted, invalid ones are
//! rejected with the error named on their first line (`# error: ...`).

mod common;

use common::{ks_files, toy};

#[test]
fn valid_fragments_are_accepted() {
    for path in ks_files("grammar/examples/valid") {
        let output = toy()
            .arg("--emit=ast")
            .arg(&path)
            .output()
            .expect("toy runs");
        assert!(
            output.status.success(),
            "{} was rejected:\n{}",
            path.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            !output.stdout.is_empty(),
            "{} printed no AST",
            path.display()
        );
    }
}

#[test]
fn invalid_fragments_are_rejected_with_their_error() {
    for path in ks_files("grammar/examples/invalid") {
        let text = std::fs::read(&path).expect("readable");
        let text = String::from_utf8_lossy(&text);
        let expected = text
            .lines()
            .next()
            .and_then(|line| line.strip_prefix("# error: "))
            .unwrap_or_else(|| panic!("{} lacks an `# error:` line", path.display()))
            .to_string();
        let output = toy()
            .arg("--emit=ast")
            .arg(&path)
            .output()
            .expect("toy runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(1),
            "{} was accepted",
            path.display()
        );
        assert!(
            stderr.contains(&expected),
            "{}: expected an error containing {expected:?}, got:\n{stderr}",
            path.display()
        );
        // Every diagnostic names the file, line and column.
        let location = format!("{}:", path.display());
        assert!(
            stderr.contains(&location),
            "{}: no location in:\n{stderr}",
            path.display()
        );
    }
}

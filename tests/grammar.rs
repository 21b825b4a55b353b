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

#[test]
fn positions_after_a_bare_cr_agree_between_tokens_and_diagnostics() {
    // The comment ends at the bare CR, which also ends the line.
    let input = "1 # comment\r2 @;\r\n3;\n";
    let tokens = toy()
        .arg("--emit=tokens")
        .write_stdin(input)
        .output()
        .expect("toy runs");
    let tokens = String::from_utf8_lossy(&tokens.stdout);
    assert!(
        tokens.contains("2:1\tnumber\t2\n2:3\top\t@\n2:4\tpunct\t;\n3:1\tnumber\t3"),
        "{tokens}"
    );
    let output = toy().write_stdin(input).output().expect("toy runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("<stdin>:2:4"), "{stderr}");
}

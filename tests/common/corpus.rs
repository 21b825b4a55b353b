//! Every Kaleidoscope program of the repository, for tools that must handle them all
//! (the tree-sitter grammar, `toy fmt`).

use std::path::{Path, PathBuf};

use super::{ks_files, root};

/// The examples, the benchmark suite, the conformance programs (the copy in
/// `tests/conformance`, and `../shared/conformance` when it is there), the book's
/// programs (every `.ks` under `tutorial/`) and the grammar's valid fragments.
pub fn every_program() -> Vec<PathBuf> {
    let mut files = ks_files("examples");
    files.extend(ks_files("benches/suite"));
    files.extend(ks_files("grammar/examples/valid"));
    files.extend(ks_files("tests/conformance"));
    let shared = root("../shared/conformance");
    if shared.is_dir() {
        files.extend(ks_files("../shared/conformance"));
    }
    let book = tree(&root("tutorial"));
    assert!(book.len() >= 5, "the book's programs are missing: {book:?}");
    files.extend(book);
    files
}

/// The `.ks` files under `dir`, at any depth, sorted (build outputs excluded).
fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("directory entry").path();
            if path.is_dir() && !path.ends_with("target") && !path.ends_with("book") {
                dirs.push(path);
            } else if path.extension().is_some_and(|ext| ext == "ks") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

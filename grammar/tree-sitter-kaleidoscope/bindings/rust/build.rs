//! Compiles the generated parser (`src/parser.c`, committed) into the crate.

fn main() {
    let src = std::path::Path::new("src");
    let parser = src.join("parser.c");
    cc::Build::new()
        .std("c11")
        .include(src)
        // Generated code: its warnings are not ours to fix.
        .warnings(false)
        .file(&parser)
        .compile("tree-sitter-kaleidoscope");
    println!("cargo:rerun-if-changed={}", parser.display());
    println!("cargo:rerun-if-changed=src/tree_sitter/parser.h");
}

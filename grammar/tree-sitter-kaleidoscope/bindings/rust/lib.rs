//! The tree-sitter grammar of Kaleidoscope, as toy implements it.
//!
//! ```
//! let mut parser = tree_sitter::Parser::new();
//! parser
//!     .set_language(&tree_sitter_kaleidoscope::LANGUAGE.into())
//!     .expect("the grammar's ABI matches the tree-sitter library");
//! let tree = parser.parse("def sq(x) x * x;", None).expect("a tree");
//! assert!(!tree.root_node().has_error());
//! ```
//!
//! Binary operators parse as flat chains (`binary_chain`): their precedence is
//! defined by the program itself, which only toy's resolver knows.

use tree_sitter_language::LanguageFn;

unsafe extern "C" {
    fn tree_sitter_kaleidoscope() -> *const ();
}

/// The language, for [`tree_sitter::Parser::set_language`] (through `.into()`).
///
/// [`tree_sitter::Parser::set_language`]: https://docs.rs/tree-sitter/*/tree_sitter/struct.Parser.html#method.set_language
// SAFETY: the generated `tree_sitter_kaleidoscope` returns a pointer to a static
// `TSLanguage`, which is what `LanguageFn` expects.
pub const LANGUAGE: LanguageFn = unsafe { LanguageFn::from_raw(tree_sitter_kaleidoscope) };

/// The node types of the grammar (`src/node-types.json`).
pub const NODE_TYPES: &str = include_str!("../../src/node-types.json");

/// Syntax highlighting queries (`queries/highlights.scm`).
pub const HIGHLIGHTS_QUERY: &str = include_str!("../../queries/highlights.scm");

/// Scopes, definitions and references of variables (`queries/locals.scm`).
pub const LOCALS_QUERY: &str = include_str!("../../queries/locals.scm");

#[cfg(test)]
mod tests {
    #[test]
    fn the_language_loads() {
        let mut parser = tree_sitter::Parser::new();
        parser
            .set_language(&super::LANGUAGE.into())
            .expect("the grammar's ABI matches the tree-sitter library");
        let tree = parser.parse("extern sin(x); sin(1)", None).expect("a tree");
        assert_eq!(
            tree.root_node().to_sexp(),
            "(source_file (extern_declaration prototype: (prototype name: (identifier) \
             parameters: (parameters (identifier)))) (top_level_expression (call_expression \
             function: (identifier) arguments: (arguments (number)))))"
        );
    }
}

//! The front end: source text to tokens, parse tree and resolved AST.

pub mod ast;
pub mod lexer;
pub mod parser;
pub mod print;
pub mod proto;
pub mod resolve;
pub mod source;
pub mod syntax;
pub mod tail;
pub mod unparse;
pub mod visit;

//! Fuzzes the front end (lexer, parser, operator resolution) with arbitrary bytes: it
//! must answer with items or a diagnostic, never panic or overflow the stack. Like
//! `toy`, it parses on a thread with a large stack.
#![no_main]

use libfuzzer_sys::fuzz_target;
use toy::frontend::parser::is_incomplete;
use toy::session::Session;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || {
            let _ = Session::resolve_program(&text);
            let _ = is_incomplete(&text);
        })
        .expect("thread")
        .join()
        .expect("no panic");
});

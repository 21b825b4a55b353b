//! The `toy` command.

mod cli;

use std::process::ExitCode;

/// Stack of the thread that parses and interprets: deep (but bounded) recursion in
/// user programs must end in a diagnostic, never in a crash.
const STACK_SIZE: usize = 1 << 30;

fn main() -> ExitCode {
    // All work happens on one thread: let it use the main heap, which grows with brk,
    // instead of a thread arena that grows one mprotect call at a time.
    // SAFETY: mallopt only tunes the allocator; called before any other thread exists.
    unsafe { libc::mallopt(libc::M_ARENA_MAX, 1) };
    let worker = std::thread::Builder::new()
        .name("toy".into())
        .stack_size(STACK_SIZE)
        .spawn(cli::main);
    // Ctrl-C must reach the thread that runs the program.
    toy_executor::block_interrupts();
    match worker.map(|handle| handle.join()) {
        Ok(Ok(code)) => code,
        Ok(Err(_)) => ExitCode::from(101),
        Err(err) => {
            eprintln!("toy: cannot start: {err}");
            ExitCode::from(101)
        }
    }
}

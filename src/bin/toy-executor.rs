//! `toy-executor`: runs JIT'd code for a `toy` elsewhere. All of it lives in the
//! LLVM-free `toy-executor` crate; this binary does not link LLVM.

fn main() -> std::process::ExitCode {
    toy_executor::command::main()
}

// ANCHOR: head
//! The book's command: reads a Kaleidoscope program and compiles and runs it item
//! by item (or interprets it, `--interp`), or prints its items' optimized LLVM IR
//! (`--emit=ir`), syntax trees (`--emit=ast`) or tokens (`--emit=tokens`).

// ANCHOR: mod_aot
mod aot;
// ANCHOR_END: mod_aot
mod ast;
mod codegen;
// ANCHOR: mod_debug
mod debug;
// ANCHOR_END: mod_debug
mod interp;
// ANCHOR: mods
mod jit;
mod natives;
mod passes;
// ANCHOR_END: mods
// ANCHOR: new_mods
mod emit;
mod linker;
mod memory;
// ANCHOR_END: new_mods
// ANCHOR: lazy_mods
mod resolver;
mod stubs;
// ANCHOR_END: lazy_mods
// ANCHOR: escape_mods
mod escape;
mod signals;
// ANCHOR_END: escape_mods
// ANCHOR: remote_mods
mod executor;
mod protocol;
mod remote;
// ANCHOR_END: remote_mods
// ANCHOR: tiers_mod
mod tiers;
// ANCHOR_END: tiers_mod
mod lexer;
mod parser;
mod source;

use std::io::Read;
use std::process::ExitCode;
// ANCHOR: use_rc
use std::rc::Rc;
// ANCHOR_END: use_rc
// ANCHOR_END: head

// ANCHOR: options
/// What the command line asks for.
#[derive(Debug, Default)]
struct Options {
    /// The program's file; standard input when `None`.
    file: Option<String>,
    /// `--emit=tokens`: print the tokens instead of the items.
    emit_tokens: bool,
    // ANCHOR: emit_ast
    /// `--emit=ast`: print the items' trees instead of running them.
    emit_ast: bool,
    // ANCHOR_END: emit_ast
    // ANCHOR: emit_ir
    /// `--emit=ir`: print each item's LLVM IR instead of running it.
    emit_ir: bool,
    // ANCHOR_END: emit_ir
    // ANCHOR: new_options
    /// `--interp`: run the items with the interpreter, the JIT's oracle.
    interp: bool,
    /// `--no-opt`: skip the optimization passes.
    no_opt: bool,
    // ANCHOR_END: new_options
    // ANCHOR: aot_options
    /// `--emit=obj`: with `-o`, write an object file instead of an executable.
    emit_obj: bool,
    /// `-o FILE`: compile the whole program ahead of time into `FILE`.
    output: Option<String>,
    // ANCHOR_END: aot_options
    // ANCHOR: debug_options
    /// `-g`: with `-o`, describe the program in DWARF for a debugger; no passes.
    debug: bool,
    /// `-O`: run the passes even with `-g`.
    optimize: bool,
    // ANCHOR_END: debug_options
    // ANCHOR: trace
    /// `--trace`: report each function's compile, on its first call.
    trace: bool,
    // ANCHOR_END: trace
    // ANCHOR: remote
    /// `--remote`: run the JIT'd code in an executor process.
    remote: bool,
    /// `--executor`: be that executor (not for people: the JIT starts it).
    executor: bool,
    /// `--background`: compile tier 1 on a second thread.
    background: bool,
    // ANCHOR_END: remote
}

/// Reads the command line (without the program's name); `Err` is a usage error.
// ANCHOR: parse_args_head
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options::default();
    while let Some(arg) = args.next() {
        // ANCHOR_END: parse_args_head
        match arg.as_str() {
            "--emit=tokens" => options.emit_tokens = true,
            // ANCHOR: emit_ast_arm
            "--emit=ast" => options.emit_ast = true,
            // ANCHOR_END: emit_ast_arm
            // ANCHOR: emit_ir_arm
            "--emit=ir" => options.emit_ir = true,
            // ANCHOR_END: emit_ir_arm
            // ANCHOR: new_arms
            "--interp" => options.interp = true,
            "--no-opt" => options.no_opt = true,
            // ANCHOR_END: new_arms
            // ANCHOR: aot_arms
            "--emit=obj" => options.emit_obj = true,
            "-o" => options.output = Some(args.next().ok_or("`-o` needs a file name")?),
            // ANCHOR_END: aot_arms
            // ANCHOR: debug_arms
            "-g" => options.debug = true,
            "-O" => options.optimize = true,
            // ANCHOR_END: debug_arms
            // ANCHOR: trace_arm
            "--trace" => options.trace = true,
            // ANCHOR_END: trace_arm
            // ANCHOR: remote_arms
            "--remote" => options.remote = true,
            "--executor" => options.executor = true,
            "--background" => options.background = true,
            // ANCHOR_END: remote_arms
            _ if arg.starts_with('-') => return Err(format!("unknown option `{arg}`")),
            _ if options.file.is_some() => return Err("more than one file".into()),
            _ => options.file = Some(arg),
        }
    }
    // ANCHOR: check_args
    check_output_options(&options)?;
    // ANCHOR_END: check_args
    Ok(options)
}
// ANCHOR_END: options

// ANCHOR: check_output_options
/// `-o` compiles the program: it goes with `--emit=obj` or no `--emit` at all, and
/// never names a source file; `--emit=obj` needs it.
fn check_output_options(options: &Options) -> Result<(), String> {
    let Some(output) = &options.output else {
        // ANCHOR: debug_check
        if options.debug {
            return Err("`-g` needs `-o FILE`: only executables and objects have DWARF".into());
        }
        // ANCHOR_END: debug_check
        return match options.emit_obj {
            true => Err("`--emit=obj` needs `-o FILE`".into()),
            false => Ok(()),
        };
    };
    if options.emit_tokens || options.emit_ast || options.emit_ir || options.interp {
        return Err("`-o` writes an object or an executable: drop the other option".into());
    }
    aot::check_output(output, options.file.as_deref())
}
// ANCHOR_END: check_output_options

// ANCHOR: read
/// The program text: the file's, or standard input's when there is no file.
fn read_program(file: Option<&str>) -> std::io::Result<String> {
    match file {
        Some(path) => std::fs::read_to_string(path),
        None => {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text)?;
            Ok(text)
        }
    }
}
// ANCHOR_END: read

// ANCHOR: main
fn main() -> ExitCode {
    let bin = env!("CARGO_BIN_NAME");
    // ANCHOR: usage
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!(
                "{bin}: {message}\n\
                 usage: {bin} [--emit=tokens|--emit=ast|--emit=ir] [--interp] [--no-opt] \
                 [--trace] [--remote] [--background] [FILE]\n       \
                 {bin} [--emit=obj] [--no-opt] [-g [-O]] -o OUTPUT [FILE]"
            );
            return ExitCode::from(2);
        }
    };
    // ANCHOR_END: usage
    // ANCHOR: serve
    if options.executor {
        return match remote::serve() {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("{bin} --executor: {err}");
                ExitCode::FAILURE
            }
        };
    }
    // ANCHOR_END: serve
    let text = match read_program(options.file.as_deref()) {
        Ok(text) => text,
        Err(err) => {
            let name = options.file.as_deref().unwrap_or("standard input");
            eprintln!("{bin}: cannot read {name}: {err}");
            return ExitCode::from(2);
        }
    };
    run(&text, &options)
}
// ANCHOR_END: main

// ANCHOR: run
/// Prints the program's tokens (`LINE:COL<tab>KIND<tab>TEXT`), or its items' syntax
/// trees (one S-expression a line) or LLVM IR, or runs its items in order; reports
/// what is wrong on stderr and goes on with the next item.
fn run(text: &str, options: &Options) -> ExitCode {
    let tokens = lexer::lex(text);
    if options.emit_tokens {
        for (token, span) in &tokens {
            let (line, col) = source::line_col(text, span.start);
            println!("{line}:{col}\t{}\t{}", token.kind(), &text[span.clone()]);
        }
        return report_errors(text, &tokens);
    }
    // `printd` and `putchard` write through the same buffer as `println!`, so the
    // program's output and the echoed values come out in order.
    let mut interpreter = interp::Interpreter::new(std::io::stdout());
    // The context owns everything LLVM makes; it outlives the JIT and its modules.
    let context = inkwell::context::Context::create();
    // ANCHOR: make_jit
    let mut jit = match jit::Jit::new(&context, !options.no_opt) {
        Ok(jit) => jit,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
    };
    // ANCHOR_END: make_jit
    // ANCHOR: make_remote
    if options.remote {
        match remote::Remote::start() {
            Ok(remote) => jit.set_executor(Rc::new(remote)),
            Err(err) => {
                eprintln!("error: {err}");
                return ExitCode::FAILURE;
            }
        }
    }
    // ANCHOR_END: make_remote
    // ANCHOR: set_trace
    jit.set_trace(options.trace);
    jit.set_background(options.background);
    // ANCHOR_END: set_trace
    // ANCHOR: make_program
    // ANCHOR: debug_program
    // Optimization moves, merges and deletes what the debug information describes.
    let optimize = !options.no_opt && (!options.debug || options.optimize);
    let mut program = match aot::Program::new(&context, optimize) {
        Ok(program) => program,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
    };
    if options.debug {
        let source = debug::Source::new(options.file.as_deref(), text);
        program.set_source(std::rc::Rc::new(source));
    }
    // ANCHOR_END: debug_program
    // ANCHOR_END: make_program
    let mut status = ExitCode::SUCCESS;
    for result in parser::parse(text, &tokens) {
        let outcome = match result {
            Ok(item) if options.emit_ast => {
                println!("{item}");
                Ok(())
            }
            // ANCHOR: dispatch
            Ok(item) if options.emit_ir => emit_ir(&mut jit, &item),
            Ok(item) if options.interp => {
                execute(&mut interpreter, item).map_err(|(err, span)| (err.to_string(), Some(span)))
            }
            // ANCHOR: aot_arm
            Ok(item) if options.output.is_some() => program
                .item(&item)
                .map_err(|err| (err.to_string(), err.span())),
            // ANCHOR_END: aot_arm
            Ok(item) => compile(&mut jit, &item),
            // ANCHOR_END: dispatch
            Err((err, span)) => Err((err.to_string(), Some(span))),
        };
        // An error without a span is a bug of ours, not about the program's text.
        if let Err((message, span)) = outcome {
            match span {
                Some(span) => {
                    let (line, col) = source::line_col(text, span.start);
                    eprintln!("{line}:{col}: error: {message}");
                }
                None => eprintln!("error: {message}"),
            }
            status = ExitCode::FAILURE;
        }
    }
    // ANCHOR: build
    if let Some(output) = &options.output {
        if status != ExitCode::SUCCESS {
            eprintln!("error: `{output}` not written: the program has errors");
            return status;
        }
        if let Err(err) = build(&program, output, options.emit_obj) {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
    }
    // ANCHOR_END: build
    status
}
// ANCHOR_END: run

// ANCHOR: execute
/// Runs one item: a definition or an extern is recorded, an expression is evaluated
/// and its value printed as `toy --echo` prints it.
fn execute(
    interpreter: &mut interp::Interpreter<std::io::Stdout>,
    item: ast::Item,
) -> Result<(), interp::Located> {
    match item {
        ast::Item::Def(proto, body) => interpreter.define(proto, body),
        ast::Item::Extern(proto) => interpreter.declare(&proto),
        ast::Item::Expr(expr) => {
            let value = interpreter.evaluate(&expr)?;
            println!("Evaluated to {}", interp::format_f(value));
            Ok(())
        }
    }
}
// ANCHOR_END: execute

// ANCHOR: compile
/// Compiles one item with the JIT; an expression runs, and its value is printed
/// as the interpreter prints it.
fn compile(jit: &mut jit::Jit<'_>, item: &ast::Item) -> Result<(), (String, Option<ast::Span>)> {
    match jit.item(item) {
        Ok(Some(value)) => println!("Evaluated to {}", interp::format_f(value)),
        Ok(None) => {}
        Err(err) => return Err((err.to_string(), err.span())),
    }
    Ok(())
}
// ANCHOR_END: compile

// ANCHOR: build_fn
/// Writes the compiled program to `output`: an object file, or an executable linked
/// by the C compiler named by `CC` (`cc` if unset).
fn build(program: &aot::Program<'_>, output: &str, emit_obj: bool) -> Result<(), aot::AotError> {
    let output = std::path::Path::new(output);
    if emit_obj {
        return program.write_object(output);
    }
    let cc = std::env::var_os("CC").unwrap_or_else(|| "cc".into());
    program.link(output, &cc)
}
// ANCHOR_END: build_fn

// ANCHOR: emit_ir_fn
/// Prints the LLVM module of one item, or returns why it has none.
fn emit_ir(jit: &mut jit::Jit<'_>, item: &ast::Item) -> Result<(), (String, Option<ast::Span>)> {
    let ir = jit.ir(item).map_err(|err| (err.to_string(), err.span()))?;
    print!("{ir}");
    Ok(())
}
// ANCHOR_END: emit_ir_fn

// ANCHOR: report_errors
/// Reports each error token on stderr; the exit status says whether there was one.
fn report_errors(text: &str, tokens: &[lexer::Spanned<'_>]) -> ExitCode {
    let mut status = ExitCode::SUCCESS;
    for (token, span) in tokens {
        if let lexer::Token::Error(err) = token {
            let (line, col) = source::line_col(text, span.start);
            eprintln!("{line}:{col}: error: {err}");
            status = ExitCode::FAILURE;
        }
    }
    status
}
// ANCHOR_END: report_errors

// ANCHOR: tests
#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Options, String> {
        parse_args(list.iter().map(|s| s.to_string()))
    }

    #[test]
    fn one_file_or_none() {
        assert_eq!(args(&[]).unwrap().file, None);
        assert_eq!(args(&["a.ks"]).unwrap().file.as_deref(), Some("a.ks"));
        assert!(args(&["a.ks", "b.ks"]).is_err());
        assert!(args(&["--frobnicate"]).is_err());
    }

    #[test]
    fn emit_tokens_is_a_flag() {
        assert!(!args(&["a.ks"]).unwrap().emit_tokens);
        let options = args(&["--emit=tokens", "a.ks"]).unwrap();
        assert!(options.emit_tokens);
        assert_eq!(options.file.as_deref(), Some("a.ks"));
    }

    // ANCHOR: test_emit_ast
    #[test]
    fn emit_ast_is_a_flag() {
        assert!(!args(&["a.ks"]).unwrap().emit_ast);
        assert!(args(&["--emit=ast", "a.ks"]).unwrap().emit_ast);
    }
    // ANCHOR_END: test_emit_ast

    // ANCHOR: test_emit_ir
    #[test]
    fn emit_ir_is_a_flag() {
        assert!(!args(&["a.ks"]).unwrap().emit_ir);
        assert!(args(&["--emit=ir", "a.ks"]).unwrap().emit_ir);
    }
    // ANCHOR_END: test_emit_ir

    // ANCHOR: test_new_flags
    #[test]
    fn interp_and_no_opt_are_flags() {
        let options = args(&["a.ks"]).unwrap();
        assert!(!options.interp && !options.no_opt);
        let options = args(&["--interp", "--no-opt", "a.ks"]).unwrap();
        assert!(options.interp && options.no_opt);
    }
    // ANCHOR_END: test_new_flags

    // ANCHOR: test_output
    #[test]
    fn output_options() {
        let options = args(&["-o", "mandel", "mandel.ks"]).unwrap();
        assert_eq!(options.output.as_deref(), Some("mandel"));
        assert!(!options.emit_obj);
        let options = args(&["--emit=obj", "-o", "mandel.o", "mandel.ks"]).unwrap();
        assert!(options.emit_obj && options.output.as_deref() == Some("mandel.o"));
        assert!(args(&["mandel.ks", "-o"]).is_err());
        assert!(args(&["--emit=obj", "mandel.ks"]).is_err());
        assert!(args(&["--emit=ir", "-o", "mandel.ll", "mandel.ks"]).is_err());
        assert!(args(&["-o", "mandel.ks", "other.ks"]).is_err());
    }
    // ANCHOR_END: test_output

    // ANCHOR: test_debug
    #[test]
    fn debug_options() {
        let options = args(&["-g", "-o", "fib", "fib.ks"]).unwrap();
        assert!(options.debug && !options.optimize);
        assert!(args(&["-g", "-O", "-o", "fib", "fib.ks"]).unwrap().optimize);
        assert!(args(&["-g", "fib.ks"]).is_err());
    }
    // ANCHOR_END: test_debug

    // ANCHOR: test_trace
    #[test]
    fn trace_is_a_flag() {
        assert!(!args(&["a.ks"]).unwrap().trace);
        assert!(args(&["--trace", "a.ks"]).unwrap().trace);
    }
    // ANCHOR_END: test_trace

    // ANCHOR: test_remote
    #[test]
    fn remote_and_executor_are_flags() {
        let options = args(&["a.ks"]).unwrap();
        assert!(!options.remote && !options.executor);
        let options = args(&["--remote", "--executor"]).unwrap();
        assert!(options.remote && options.executor);
    }
    // ANCHOR_END: test_remote
}
// ANCHOR_END: tests

// ANCHOR: head
//! Ahead-of-time compilation: the whole program in one LLVM module, written as an
//! object file, or linked by the system's C compiler with a small C runtime and libm
//! into a native executable that runs the top-level expressions in order.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
// ANCHOR: use_rc
use std::rc::Rc;
// ANCHOR_END: use_rc

use inkwell::OptimizationLevel;
use inkwell::context::Context;
use inkwell::module::{Linkage, Module};
use inkwell::targets::{
    CodeModel, FileType, InitializationConfig, RelocMode, Target, TargetMachine,
};

use crate::ast::{Item, Span};
use crate::codegen::{ANON, CodegenError, Generator};
// ANCHOR: use_debug
use crate::debug::{self, Debug, Source};
// ANCHOR_END: use_debug
use crate::{natives, passes};
// ANCHOR_END: head

// ANCHOR: error
/// Why a program cannot be compiled ahead of time, or its file not written.
#[derive(Debug, thiserror::Error)]
pub enum AotError {
    /// The item has no IR.
    #[error(transparent)]
    Codegen(#[from] CodegenError),
    /// An `extern` of a function that neither the runtime nor libm provides.
    #[error("no external function `{name}`: an executable links only the runtime and libm")]
    UnknownExtern {
        /// The name.
        name: String,
        /// The prototype.
        span: Span,
    },
    /// An `extern` whose parameters do not match the C function's.
    #[error("extern `{name}` declares {found} parameter(s), but `{name}` takes {expected}")]
    ExternArity {
        /// The function.
        name: String,
        /// How many parameters it takes.
        expected: usize,
        /// How many the `extern` declares.
        found: usize,
        /// The prototype.
        span: Span,
    },
    /// A second `def` of a name: an object file has one symbol per name.
    #[error("`{name}` is already defined: an object file has one symbol per name")]
    Redefinition {
        /// The name.
        name: String,
        /// The new prototype.
        span: Span,
    },
    /// A `def main`: the C runtime calls `main` as `int main(void)`.
    #[error("`main` is the executable's entry point and cannot be defined")]
    Main {
        /// The prototype.
        span: Span,
    },
    /// An executable of a program without top-level expressions: nothing to run.
    #[error("the program has no top-level expression to run (`--emit=obj` makes a library)")]
    NoMain,
    /// LLVM failed: no target machine, a pipeline or a module it rejected.
    #[error("LLVM failed: {0}")]
    Llvm(String),
    /// A file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The C compiler could not be started.
    #[error("cannot run the C compiler `{cc}` (set CC to another one): {source}")]
    NoCompiler {
        /// The command tried.
        cc: String,
        /// Why it did not start.
        source: std::io::Error,
    },
    /// The C compiler or the linker it runs failed.
    #[error("`{cc}` failed to link the executable:\n{stderr}")]
    Link {
        /// The command.
        cc: String,
        /// What it printed on standard error.
        stderr: String,
    },
}

impl AotError {
    /// The text the error is about; `None` when it is not about one item.
    pub fn span(&self) -> Option<Span> {
        match self {
            AotError::Codegen(err) => err.span(),
            AotError::UnknownExtern { span, .. }
            | AotError::ExternArity { span, .. }
            | AotError::Redefinition { span, .. }
            | AotError::Main { span } => Some(span.clone()),
            _ => None,
        }
    }
}
// ANCHOR_END: error

// ANCHOR: machine
/// The machine an object file is for: this host's operating system and architecture
/// (its *triple*), any CPU of that architecture (`generic`, no extra features), code
/// that works at any address (PIC, as the PIE executables of `cc` need), and the
/// small code model (code and data within 2 GiB of each other).
pub fn machine() -> Result<TargetMachine, String> {
    Target::initialize_native(&InitializationConfig::default())?;
    let triple = TargetMachine::get_default_triple();
    let target = Target::from_triple(&triple).map_err(|err| err.to_string())?;
    target
        .create_target_machine(
            &triple,
            "generic",
            "",
            OptimizationLevel::Default,
            RelocMode::PIC,
            CodeModel::Default,
        )
        .ok_or_else(|| format!("LLVM has no target machine for {triple}"))
}
// ANCHOR_END: machine

// ANCHOR: program
/// A whole program being compiled ahead of time: its items, linked into one module.
pub struct Program<'ctx> {
    /// Makes each item's module, as for the JIT.
    generator: Generator<'ctx>,
    /// The program's module: every item's module is linked into it.
    module: Module<'ctx>,
    /// The target: for the passes and for the object file.
    machine: TargetMachine,
    /// Whether to run the passes.
    optimize: bool,
    /// The names of the functions defined so far.
    defined: HashSet<String>,
    /// The top-level expressions' functions, in program order.
    expressions: Vec<String>,
    // ANCHOR: debug_fields
    /// With `-g`: the program's text, which the debug information describes.
    source: Option<Rc<Source>>,
    /// Where each top-level expression starts in it, in program order.
    starts: Vec<usize>,
    // ANCHOR_END: debug_fields
}
// ANCHOR_END: program

// ANCHOR: new
impl<'ctx> Program<'ctx> {
    /// An empty program whose modules live in `context`.
    pub fn new(context: &'ctx Context, optimize: bool) -> Result<Self, AotError> {
        Ok(Program {
            generator: Generator::new(context),
            module: context.create_module("program"),
            machine: machine().map_err(AotError::Llvm)?,
            optimize,
            defined: HashSet::new(),
            expressions: Vec::new(),
            // ANCHOR: debug_none
            source: None,
            starts: Vec::new(),
            // ANCHOR_END: debug_none
        })
    }

    // ANCHOR: set_source
    /// Asks for debug information about `source`, the program's text.
    pub fn set_source(&mut self, source: Rc<Source>) {
        self.generator.set_source(source.clone());
        self.source = Some(source);
    }
    // ANCHOR_END: set_source
    // ANCHOR_END: new

    // ANCHOR: item
    /// Adds one item to the program. A failed item leaves no trace.
    pub fn item(&mut self, item: &Item) -> Result<(), AotError> {
        match item {
            Item::Extern(proto) => {
                let (name, span) = (proto.name.clone(), proto.span.clone());
                let found = proto.params.len();
                match natives::lookup(&name) {
                    None => return Err(AotError::UnknownExtern { name, span }),
                    Some((expected, _)) if expected != found => {
                        let error = AotError::ExternArity {
                            name,
                            expected,
                            found,
                            span,
                        };
                        return Err(error);
                    }
                    Some(_) => {}
                }
            }
            Item::Def(proto, _) if proto.name == "main" => {
                return Err(AotError::Main {
                    span: proto.span.clone(),
                });
            }
            Item::Def(proto, _) if self.defined.contains(&proto.name) => {
                let (name, span) = (proto.name.clone(), proto.span.clone());
                return Err(AotError::Redefinition { name, span });
            }
            _ => {}
        }
        let module = self.generator.item(item)?;
        match item {
            Item::Def(proto, _) => {
                self.defined.insert(proto.name.clone());
            }
            // ANCHOR: item_expr
            Item::Expr(expr) => {
                // A name of its own: two definitions of `__anon_expr` would clash.
                let name = format!("{ANON}.{}", self.expressions.len());
                let function = module.get_function(ANON).expect("defined");
                function.as_global_value().set_name(&name);
                self.expressions.push(name);
                self.starts.push(debug::start(expr).unwrap_or(0));
            }
            // ANCHOR_END: item_expr
            Item::Extern(_) => {}
        }
        // LLVM's IR linker: a declaration meets its definition, if there is one.
        self.module
            .link_in_module(module)
            .map_err(|err| AotError::Llvm(err.to_string()))
    }
    // ANCHOR_END: item

    // ANCHOR: main
    /// Adds `int main(void)`, which calls the top-level expressions in order and
    /// returns 0. A program without expressions gets none: it is a library.
    fn add_main(&self) -> Result<(), AotError> {
        // None without expressions; and one `main` only, however often we are asked.
        if self.expressions.is_empty() || self.module.get_function("main").is_some() {
            return Ok(());
        }
        let context = self.module.get_context();
        let i32_type = context.i32_type();
        let main = self
            .module
            .add_function("main", i32_type.fn_type(&[], false), None);
        let builder = context.create_builder();
        builder.position_at_end(context.append_basic_block(main, "entry"));
        // ANCHOR: debug_main
        // With `-g`, `main` is a function of the program's text too: it starts at the
        // first expression, and each call is where its expression is.
        let debug = self.source.as_ref().map(|source| {
            let debug = Debug::new(&self.module, source.clone());
            debug.function(main, "main", self.starts[0]);
            debug
        });
        // ANCHOR_END: debug_main
        for (name, &start) in self.expressions.iter().zip(&self.starts) {
            // ANCHOR: debug_call
            if let Some(debug) = &debug {
                debug.locate(&builder, start);
            }
            // ANCHOR_END: debug_call
            let function = self.module.get_function(name).expect("linked in");
            // Local to the object file: nobody but `main` calls it. (Not earlier: the
            // IR linker drops a local function that nothing calls yet.)
            function.set_linkage(Linkage::Internal);
            builder
                .build_call(function, &[], "")
                .map_err(|err| AotError::Llvm(err.to_string()))?;
        }
        builder
            .build_return(Some(&i32_type.const_zero()))
            .map_err(|err| AotError::Llvm(err.to_string()))?;
        // ANCHOR: debug_main_end
        if let Some(debug) = debug {
            debug.finalize();
        }
        // ANCHOR_END: debug_main_end
        Ok(())
    }
    // ANCHOR_END: main

    // ANCHOR: object
    /// The object file's bytes: `main` added, the module stamped with the target's
    /// triple and data layout, verified, optimized, and compiled.
    pub fn object(&self) -> Result<Vec<u8>, AotError> {
        self.add_main()?;
        // ANCHOR: debug_flags
        if self.source.is_some() {
            debug::add_flags(&self.module);
        }
        // ANCHOR_END: debug_flags
        self.module.set_triple(&self.machine.get_triple());
        let layout = self.machine.get_target_data().get_data_layout();
        self.module.set_data_layout(&layout);
        self.module
            .verify()
            .map_err(|err| AotError::Llvm(err.to_string()))?;
        if self.optimize {
            passes::optimize(&self.module, &self.machine).map_err(AotError::Llvm)?;
        }
        let buffer = self
            .machine
            .write_to_memory_buffer(&self.module, FileType::Object)
            .map_err(|err| AotError::Llvm(err.to_string()))?;
        Ok(buffer.as_slice().to_vec())
    }

    // ANCHOR: ir
    /// The program's module as LLVM prints it, for the tests.
    #[cfg(test)]
    pub fn ir(&self) -> String {
        self.module.print_to_string().to_string()
    }
    // ANCHOR_END: ir

    /// Writes the object file to `path`.
    pub fn write_object(&self, path: &Path) -> Result<(), AotError> {
        let object = self.object()?;
        std::fs::write(path, object).map_err(|source| AotError::Write {
            path: path.to_path_buf(),
            source,
        })
    }
    // ANCHOR_END: object

    // ANCHOR: link
    /// Links the executable `output`: the object and the runtime, compiled and
    /// linked with libm by the C compiler `cc`, in a temporary directory.
    pub fn link(&self, output: &Path, cc: &OsStr) -> Result<(), AotError> {
        if self.expressions.is_empty() {
            return Err(AotError::NoMain);
        }
        let object = self.object()?;
        let dir = TempDir::new()?;
        let object_path = dir.write("program.o", &object)?;
        let runtime_path = dir.write("runtime.c", RUNTIME.as_bytes())?;
        let cc_name = cc.to_string_lossy().into_owned();
        let result = Command::new(cc)
            .arg("-o")
            .arg(output)
            .arg(&object_path)
            .arg(&runtime_path)
            .arg("-lm")
            .output();
        let out = result.map_err(|source| AotError::NoCompiler {
            cc: cc_name.clone(),
            source,
        })?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr).trim_end().to_string();
            return Err(AotError::Link {
                cc: cc_name,
                stderr,
            });
        }
        Ok(())
    }
}
// ANCHOR_END: link

// ANCHOR: runtime
/// The C runtime of an executable: `putchard` and `printd`.
const RUNTIME: &str = include_str!("runtime.c");
// ANCHOR_END: runtime

// ANCHOR: tempdir
/// A directory of our own under the system's temporary directory, removed (with
/// what we wrote into it, and nothing else) when dropped.
struct TempDir(PathBuf);

impl TempDir {
    /// Creates a new directory, readable by us only; never reuses an existing one.
    fn new() -> Result<Self, AotError> {
        use std::os::unix::fs::DirBuilderExt;
        use std::sync::atomic::{AtomicUsize, Ordering};
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        loop {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let name = format!("toy-aot-{}-{n}", std::process::id());
            let path = std::env::temp_dir().join(name);
            match std::fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => return Ok(TempDir(path)),
                // Somebody else's (or a crashed run's): leave it alone, try another.
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(source) => return Err(AotError::Write { path, source }),
            }
        }
    }

    /// Writes `bytes` to the file `name` in the directory; returns its path.
    fn write(&self, name: &str, bytes: &[u8]) -> Result<PathBuf, AotError> {
        let path = self.0.join(name);
        match std::fs::write(&path, bytes) {
            Ok(()) => Ok(path),
            Err(source) => Err(AotError::Write { path, source }),
        }
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
// ANCHOR_END: tempdir

// ANCHOR: check_output
/// Refuses an output file that could be a program's source: a `.ks` file, or the
/// input file itself (however it is spelled).
pub fn check_output(output: &str, input: Option<&str>) -> Result<(), String> {
    let path = Path::new(output);
    if path.extension() == Some(OsStr::new("ks")) {
        return Err(format!(
            "refusing to write `{output}`: `.ks` is for sources"
        ));
    }
    if let Some(input) = input {
        let same = match (std::fs::canonicalize(path), std::fs::canonicalize(input)) {
            (Ok(a), Ok(b)) => a == b,
            _ => path == Path::new(input),
        };
        if same {
            return Err(format!(
                "refusing to write `{output}`: it is the input file"
            ));
        }
    }
    Ok(())
}
// ANCHOR_END: check_output

// ANCHOR: tests
#[cfg(test)]
mod tests {
    use super::*;
    use crate::interp::Interpreter;
    use crate::lexer::lex;
    use crate::parser::parse;

    /// What the interpreter, the oracle, prints when it runs `text`.
    fn oracle(text: &str) -> String {
        let mut interpreter = Interpreter::new(Vec::new());
        for item in parse(text, &lex(text)) {
            match item.expect("the tests' programs parse") {
                Item::Def(proto, body) => interpreter.define(proto, body).unwrap(),
                Item::Extern(proto) => interpreter.declare(&proto).unwrap(),
                Item::Expr(expr) => drop(interpreter.evaluate(&expr).unwrap()),
            }
        }
        String::from_utf8(interpreter.into_output()).unwrap()
    }

    /// `text` as a program, or the first error of one of its items.
    fn compile<'ctx>(context: &'ctx Context, text: &str, optimize: bool) -> Program<'ctx> {
        let mut program = Program::new(context, optimize).expect("LLVM works here");
        for item in parse(text, &lex(text)) {
            program.item(&item.expect("parses")).expect("compiles");
        }
        program
    }

    /// What the executable built from `text` prints.
    fn run_executable(text: &str, optimize: bool) -> String {
        let context = Context::create();
        let dir = TempDir::new().unwrap();
        let exe = dir.0.join("program");
        compile(&context, text, optimize)
            .link(&exe, OsStr::new("cc"))
            .unwrap_or_else(|err| panic!("{text}: {err}"));
        let out = Command::new(&exe).output().expect("the executable runs");
        assert!(out.status.success(), "{text}: {:?}", out.status);
        String::from_utf8(out.stdout).unwrap()
    }

    /// Programs that print their results: an executable prints nothing else.
    const PROGRAMS: &[&str] = &[
        "extern printd(x); printd(1 + 2 * 3 - 4); printd(2 < 3); printd(1 - 2 - 3)",
        "extern printd(x); def fib(n) if n < 3 then 1 else fib(n-1) + fib(n-2); printd(fib(20))",
        "extern printd(x); extern sin(x); extern cos(x); extern pow(x y); extern sqrt(x);
         def one(x) sin(x)*sin(x) + cos(x)*cos(x); printd(one(0.7)); printd(pow(2, 0.5) - sqrt(2))",
        "extern printd(x); extern sqrt(x); def nan() sqrt(0-1); printd(nan()); printd(nan() < 1)",
        "extern printd(x); extern putchard(c); def binary : 1 (x y) y;
         for i = 0, i < 3 in printd(i) : putchard(65 + i) : putchard(10)",
        "extern printd(x); def f(x) x * 2; 1 + 1; printd(f(21)); def g(x) f(x) + 1; printd(g(1))",
        include_str!("../examples/mandel.ks"),
    ];

    #[test]
    fn an_executable_prints_what_the_interpreter_prints() {
        for program in PROGRAMS {
            let expected = oracle(program);
            assert!(!expected.is_empty(), "{program} prints something");
            for optimize in [false, true] {
                assert_eq!(
                    run_executable(program, optimize),
                    expected,
                    "{program} (optimized: {optimize})"
                );
            }
        }
    }

    #[test]
    fn main_calls_the_expressions_in_order_and_only_if_there_are_some() {
        let context = Context::create();
        let library = compile(&context, "def f(x) x + 1", true);
        library.object().unwrap();
        assert!(library.module.get_function("main").is_none());
        let text = "def f(x) x + 1; f(1); f(2)";
        let with_main = compile(&context, text, false);
        with_main.object().unwrap();
        let ir = with_main.module.print_to_string().to_string();
        assert!(
            ir.contains("define internal double @__anon_expr.0()"),
            "{ir}"
        );
        assert!(ir.contains("define i32 @main()"), "{ir}");
        let calls = ir.find("call double @__anon_expr.0()").unwrap();
        assert!(
            calls < ir.find("call double @__anon_expr.1()").unwrap(),
            "{ir}"
        );
        assert!(ir.contains("target triple = \"x86_64"), "{ir}");
    }

    #[test]
    fn the_object_file_is_elf() {
        let context = Context::create();
        let object = compile(&context, "def f(x) x + 1", true).object().unwrap();
        assert_eq!(&object[..4], b"\x7fELF");
    }

    #[test]
    fn what_an_executable_cannot_have() {
        let context = Context::create();
        let mut program = Program::new(&context, true).unwrap();
        let text = "extern strlen(s); extern sin(a b); def main() 1; def f(x) x; def f(x) 2 * x";
        let errors: Vec<String> = parse(text, &lex(text))
            .into_iter()
            .map(|item| program.item(&item.unwrap()))
            .filter_map(|result| result.err().map(|err| err.to_string()))
            .collect();
        assert_eq!(
            errors,
            [
                "no external function `strlen`: an executable links only the runtime and libm",
                "extern `sin` declares 2 parameter(s), but `sin` takes 1",
                "`main` is the executable's entry point and cannot be defined",
                "`f` is already defined: an object file has one symbol per name",
            ]
        );
    }

    #[test]
    fn what_cannot_be_linked_is_an_error() {
        let context = Context::create();
        let dir = TempDir::new().unwrap();
        let exe = dir.0.join("program");
        let cc = OsStr::new("cc");
        let err = compile(&context, "def f(x) x", true).link(&exe, cc);
        assert!(matches!(err, Err(AotError::NoMain)), "{err:?}");
        let program = compile(&context, "1", true);
        let err = program.link(&exe, OsStr::new("toy-no-such-cc"));
        assert!(matches!(err, Err(AotError::NoCompiler { .. })), "{err:?}");
        let err = program.link(&exe, OsStr::new("false"));
        assert!(matches!(err, Err(AotError::Link { .. })), "{err:?}");
        // A program's own `printd` clashes with the runtime's.
        let err = compile(&context, "def printd(x) x; printd(1)", true).link(&exe, cc);
        let message = err.unwrap_err().to_string();
        assert!(
            message.contains("multiple definition of `printd'"),
            "{message}"
        );
    }

    #[test]
    fn the_temporary_directory_goes_away() {
        let dir = TempDir::new().unwrap();
        let path = dir.write("x", b"x").unwrap();
        assert!(path.exists());
        let root = dir.0.clone();
        drop(dir);
        assert!(!root.exists());
    }

    #[test]
    fn an_output_file_is_never_a_source() {
        assert!(check_output("mandel", Some("mandel.ks")).is_ok());
        assert!(check_output("mandel.o", None).is_ok());
        assert!(check_output("mandel.ks", Some("other.ks")).is_err());
        assert!(check_output("prog", Some("prog")).is_err());
        assert!(check_output("./Cargo.toml", Some("Cargo.toml")).is_err());
    }
}
// ANCHOR_END: tests

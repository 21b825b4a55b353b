//! Ahead-of-time compilation: a Kaleidoscope file as a native executable.
//!
//! The program's items run in order at start-up, as `toy FILE.ks` runs them. To keep
//! the JIT's late binding (a function calls whatever its callee is *when the call
//! happens*; a redefinition changes it for every caller), each definition is compiled
//! under its own symbol (`toy_def_3`), every Kaleidoscope function name gets an
//! indirect stub (generated in LLVM IR, since names like `binary|` are no C names) that
//! calls through a pointer, and a generated C `main` points the stubs at each version
//! in program order, calling the top-level expressions in between: the JIT's stubs,
//! ahead of time. The runtime (`putchard`, `printd`) is C; `cc` compiles the generated
//! C and links it with the objects and libm. Parts: this file (the program's layout,
//! its C `main`, linking), `stubs.rs` (the stubs' object), `runtime.c` (the C runtime,
//! embedded).

mod stubs;

use std::collections::HashMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use thiserror::Error;

use inkwell::targets::{TargetMachine, TargetTriple};

use crate::codegen::{CodegenError, Compiler, DebugSource, OptLevel, Request};
use crate::frontend::ast::{Function, Item};

/// Why a build failed.
#[derive(Debug, Error)]
pub enum BuildError {
    /// The target is not an x86-64 one.
    #[error("unsupported target {triple}: toy builds for x86-64 only")]
    UnsupportedTarget {
        /// The triple asked for.
        triple: String,
    },
    /// No target machine for the target and CPU.
    #[error("cannot compile for {cpu}: {source}")]
    Target {
        /// The CPU asked for.
        cpu: String,
        /// Why.
        source: CodegenError,
    },
    /// LLVM failed.
    #[error(transparent)]
    Codegen(#[from] CodegenError),
    /// No C compiler driver.
    #[error("no C compiler found: install cc (gcc or clang) or set CC ({cc}: {source})")]
    NoCompiler {
        /// The driver tried (`cc`, or `$CC`).
        cc: String,
        /// Why it could not be run.
        source: std::io::Error,
    },
    /// The C compiler or linker failed.
    #[error("linking failed:\n{0}")]
    Link(String),
    /// The output file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The output file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The temporary files for the C compiler could not be written.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// The compiler of `toy build`: for `target` (an x86-64 triple; the host's if `None`)
/// and `cpu` (`native`: the host's CPU and its features).
pub fn compiler(target: Option<&str>, cpu: &str, opt: OptLevel) -> Result<Compiler, BuildError> {
    let triple = match target {
        Some(t) => TargetTriple::create(t),
        None => TargetMachine::get_default_triple(),
    };
    let name = triple.as_str().to_string_lossy().into_owned();
    if !name.starts_with("x86_64") {
        return Err(BuildError::UnsupportedTarget { triple: name });
    }
    let (cpu, features) = if cpu == "native" {
        (
            TargetMachine::get_host_cpu_name()
                .to_string_lossy()
                .into_owned(),
            TargetMachine::get_host_cpu_features()
                .to_string_lossy()
                .into_owned(),
        )
    } else {
        (cpu.to_string(), String::new())
    };
    Compiler::new(&triple, &cpu, &features, opt)
        .map_err(|source| BuildError::Target { cpu, source })
}

/// The program of a file's items, ready to be compiled.
pub struct Program<'a> {
    /// (function, symbol) for every definition and top-level expression.
    functions: Vec<(&'a Function, String)>,
    /// The C part: runtime, stub pointers and `main`.
    c: String,
    /// The stubs: (name, arity, pointer, what to call while it is null).
    stubs: Vec<(String, usize, String, String)>,
}

// ANCHOR: runtime
/// The C runtime of an executable. `printd` prints every NaN as `nan`, whatever its
/// sign bit (which depends on whether LLVM folded it or the CPU computed it), like
/// toy's own runtime. The program runs on a thread with a 1 GiB stack (address space
/// only), so that recursion goes as deep as in the JIT; running into its guard area is
/// reported as a stack overflow, as toy reports it, instead of a bare SIGSEGV.
const RUNTIME: &str = include_str!("runtime.c");
// ANCHOR_END: runtime

// ANCHOR: program
impl<'a> Program<'a> {
    /// Lays out `items` (resolved, in program order).
    pub fn new(items: &'a [Item]) -> Self {
        let mut functions = Vec::new();
        // Every name that is ever defined, in order of first definition, and its arity.
        let mut names: Vec<(String, usize)> = Vec::new();
        let mut index_of: HashMap<String, usize> = HashMap::new();
        let mut main = String::new();
        let mut decls = String::new();
        let mut tops = 0;
        for item in items {
            match item {
                Item::Def(f) => {
                    let name = f.proto.name.to_string();
                    let index = *index_of.entry(name.clone()).or_insert_with(|| {
                        names.push((name.clone(), f.proto.arity()));
                        names.len() - 1
                    });
                    let version = functions.len();
                    let symbol = format!("toy_def_{version}");
                    let params = c_params(f.proto.arity(), false);
                    let _ = writeln!(decls, "extern double {symbol}({params});");
                    let _ = writeln!(main, "    toy_ptr_{index} = toy_def_{version};");
                    functions.push((&**f, symbol));
                }
                Item::Extern(_) => {}
                Item::Expr(f) => {
                    let symbol = format!("toy_top_{tops}");
                    let _ = writeln!(decls, "extern double {symbol}(void);");
                    let _ = writeln!(main, "    toy_top_{tops}();");
                    functions.push((&**f, symbol));
                    tops += 1;
                }
            }
        }
        let mut c = String::from(RUNTIME);
        // A program's own `putchard` or `printd` replaces the runtime's.
        for (name, _) in &names {
            if name == "putchard" || name == "printd" {
                c = c.replace(
                    &format!("double {name}("),
                    &format!("static double toy_unused_{name}("),
                );
            }
        }
        c.push_str(&decls);
        let mut stubs = Vec::new();
        for (i, (name, arity)) in names.iter().enumerate() {
            let _ = write!(
                c,
                "double (*toy_ptr_{i})({});\n\
                 void toy_missing_{i}(void) {{ toy_missing(\"{}\"); }}\n",
                c_params(*arity, false),
                c_string(name),
            );
            stubs.push((
                name.clone(),
                *arity,
                format!("toy_ptr_{i}"),
                format!("toy_missing_{i}"),
            ));
        }
        let _ = write!(c, "static void toy_program(void) {{\n{main}}}\n");
        Program {
            functions,
            c,
            stubs,
        }
    }
    // ANCHOR_END: program

    /// The object file: every definition (versioned) and top-level expression.
    pub fn object(
        &self,
        compiler: &Compiler,
        debug: Option<&DebugSource<'_>>,
    ) -> Result<Vec<u8>, CodegenError> {
        let named: Vec<(&Function, &str)> = self
            .functions
            .iter()
            .map(|(f, s)| (*f, s.as_str()))
            .collect();
        compiler.emit(Request::named(&named).debug(debug))
    }

    /// An object exporting the file's functions under their own names, with the C
    /// calling convention (the last definition of each), without runtime or `main`.
    pub fn exports(&self, compiler: &Compiler) -> Result<Vec<u8>, CodegenError> {
        let mut last: Vec<&Function> = Vec::new();
        for (f, symbol) in &self.functions {
            if symbol.starts_with("toy_top_") {
                continue;
            }
            last.retain(|g| g.proto.name != f.proto.name);
            last.push(f);
        }
        compiler.emit(Request::library(&last))
    }

    /// Writes the object of [`Program::exports`] to `path`.
    pub fn write_exports(&self, compiler: &Compiler, path: &Path) -> Result<(), BuildError> {
        let object = self.exports(compiler)?;
        std::fs::write(path, object).map_err(|source| BuildError::Write {
            path: path.to_path_buf(),
            source,
        })
    }

    /// The generated C: runtime, stubs and `main`.
    pub fn c_source(&self) -> &str {
        &self.c
    }

    /// Compiles and links the executable `output`.
    pub fn link(
        &self,
        compiler: &Compiler,
        output: &Path,
        debug: Option<&DebugSource<'_>>,
    ) -> Result<(), BuildError> {
        let object = self.object(compiler, debug)?;
        let stubs = stubs::object(compiler, &self.stubs)?;
        // Removed when dropped, after `cc` has run.
        let dir = tempfile::Builder::new().prefix("toy-build-").tempdir()?;
        let object_path = dir.path().join("program.o");
        let stubs_path = dir.path().join("stubs.o");
        let c_path = dir.path().join("runtime.c");
        std::fs::write(&object_path, object)?;
        std::fs::write(&stubs_path, stubs)?;
        std::fs::write(&c_path, &self.c)?;
        let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
        let result = Command::new(&cc)
            .args(debug.map(|_| "-g"))
            .arg("-o")
            .arg(output)
            .arg(&c_path)
            .arg(&object_path)
            .arg(&stubs_path)
            .arg("-lm")
            .arg("-pthread")
            .output();
        drop(dir);
        let out = result.map_err(|source| BuildError::NoCompiler { cc, source })?;
        if !out.status.success() {
            return Err(BuildError::Link(
                String::from_utf8_lossy(&out.stderr).into_owned(),
            ));
        }
        Ok(())
    }
}

/// `double a0, double a1` (named) or `double, double` (types only); `void` if none.
fn c_params(arity: usize, named: bool) -> String {
    if arity == 0 {
        return "void".into();
    }
    (0..arity)
        .map(|i| {
            if named {
                format!("double a{i}")
            } else {
                "double".into()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A symbol name inside a C string literal (operator names contain punctuation).
fn c_string(name: &str) -> String {
    name.chars()
        .flat_map(|c| match c {
            '"' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect()
}

//! Code generation: AST functions to LLVM IR, optimized, to an ELF relocatable object
//! (or IR or assembly text) in memory. A [`Compiler`] holds one target machine and
//! optimization level and runs one [`Request`] at a time ([`Compiler::emit`]), each in
//! a fresh LLVM context and module. Calls name their callee by symbol (`fib`,
//! `binary|`); the JIT linker decides what each name means (a stub, a runtime
//! function), so a compiled object never depends on whether its callees exist yet.
//! Parts: `target.rs` (the machine, [`OptLevel`], passes, emission), `request.rs`
//! (what to compile), `generator.rs` (AST → IR), `counting.rs` (tier-0 call
//! counters), `zero_test.rs` (tests for zero as integer tests), `debug.rs` (DWARF), `error.rs` ([`CodegenError`]).

mod boolean;
mod counting;
mod debug;
mod error;
mod generator;
pub(crate) mod llvm_version;
mod request;
mod target;
mod zero_test;

use std::time::{Duration, Instant};

use inkwell::context::Context;
use inkwell::module::{Linkage, Module};
use inkwell::targets::{FileType, TargetTriple};

pub use counting::{COUNTER, POLL_CALLS, TRAMPOLINE};
pub use debug::DebugSource;
pub use error::CodegenError;
pub use request::Request;
pub(crate) use target::Machine;
pub use target::OptLevel;

use debug::Debug;
use generator::Generator;

/// Time spent in each phase of compiling one function.
#[derive(Clone, Copy, Debug, Default)]
pub struct Timings {
    /// AST to LLVM IR.
    pub irgen: Duration,
    /// The optimization pipeline.
    pub optimize: Duration,
    /// IR to an object file.
    pub codegen: Duration,
    /// Linking the object into executor memory (filled in by the JIT).
    pub link: Duration,
    /// Functions compiled.
    pub count: u32,
}

/// What to produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// An ELF relocatable object.
    Object,
    /// Optimized LLVM IR, as text.
    Ir,
    /// Assembly, as text.
    Asm,
}

/// A compiler for one target machine and optimization level.
pub struct Compiler {
    machine: Machine,
    /// Whether functions count their calls (see [`Compiler::counting`]).
    counting: bool,
}

impl Compiler {
    /// A compiler for the host (its CPU and features), position independent.
    pub fn host(opt: OptLevel) -> Result<Self, CodegenError> {
        Ok(Self::with(Machine::host(opt)?))
    }

    /// A compiler for `triple` and `cpu`.
    pub fn new(
        triple: &TargetTriple,
        cpu: &str,
        features: &str,
        opt: OptLevel,
    ) -> Result<Self, CodegenError> {
        Ok(Self::with(Machine::new(triple, cpu, features, opt)?))
    }

    fn with(machine: Machine) -> Self {
        Compiler {
            machine,
            counting: false,
        }
    }

    /// Makes each function count its calls in the external `i32` named
    /// [`COUNTER`]`NAME` and, every [`POLL_CALLS`] calls, call [`TRAMPOLINE`]`NAME` with
    /// its arguments instead of running its body (the JIT's tier-up hook).
    pub fn counting(mut self) -> Self {
        self.counting = true;
        self
    }

    /// The optimization level.
    pub fn opt(&self) -> OptLevel {
        self.machine.opt()
    }

    /// The target machine, for code that builds modules of its own (AOT stubs).
    pub(crate) fn machine(&self) -> &Machine {
        &self.machine
    }

    /// Compiles what `request` asks for: IR (with DWARF if asked), verification,
    /// passes, output; timed if asked.
    pub fn emit(&self, request: Request<'_>) -> Result<Vec<u8>, CodegenError> {
        let Request {
            module: name,
            functions,
            inlinable,
            output,
            debug: source,
            timings,
        } = request;
        let mut untimed = Timings::default();
        let timings = timings.unwrap_or(&mut untimed);
        let start = Instant::now();
        let context = Context::create();
        let module = self.machine.module(&context, name);
        let debug = source.map(|source| Debug::new(&context, &module, source));
        for (function, symbol) in &functions {
            let mut generator = Generator::new(&context, &module);
            generator.debug = debug.as_ref();
            generator.counting = self.counting;
            generator.function(function, symbol)?;
        }
        for callee in &inlinable {
            let name = &*callee.proto.name;
            Generator::new(&context, &module).function(callee, name)?;
            // Private to the module: the optimizer may inline it everywhere and drop
            // it, and the linker never sees it as a definition of the callee's name.
            if let Some(copy) = module.get_function(name) {
                copy.set_linkage(Linkage::Internal);
            }
        }
        if let Some(debug) = &debug {
            debug.finalize();
        }
        verify(&module)?;
        let optimized = Instant::now();
        timings.irgen += optimized - start;
        self.machine.optimize(&module)?;
        if self.machine.opt().optimizes() && debug.is_none() {
            zero_test::lower_zero_tests(&context, &module)?;
        }
        let generated = Instant::now();
        timings.optimize += generated - optimized;
        let kind = match output {
            Output::Ir => None,
            Output::Object => Some(FileType::Object),
            Output::Asm => Some(FileType::Assembly),
        };
        let bytes = match kind {
            None => module.print_to_string().to_bytes().to_vec(),
            Some(kind) => {
                let bytes = self.machine.write(&module, kind)?;
                timings.codegen += generated.elapsed();
                bytes
            }
        };
        timings.count += functions.len() as u32;
        Ok(bytes)
    }
}

/// Checks that `module` is valid IR.
pub(crate) fn verify(module: &Module<'_>) -> Result<(), CodegenError> {
    module.verify().map_err(|e| CodegenError::Verify {
        message: e.to_string(),
    })
}

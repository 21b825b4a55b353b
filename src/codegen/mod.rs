//! IR generation, optimization and code generation: one AST function at a time, each
//! in its own LLVM context and module, to an ELF relocatable object in memory.
//!
//! Calls name their callee by symbol (`fib`, `binary|`); the JIT linker decides what
//! each name means (a stub, a runtime function), so a compiled object never depends
//! on whether its callees exist yet.

mod generator;

use std::time::{Duration, Instant};

use inkwell::OptimizationLevel;
use inkwell::builder::BuilderError;
use inkwell::context::Context;
use inkwell::module::Linkage;
use inkwell::passes::PassBuilderOptions;
use inkwell::targets::{
    CodeModel, FileType, InitializationConfig, RelocMode, Target, TargetMachine, TargetTriple,
};
use thiserror::Error;

use crate::frontend::ast::Function;
use crate::frontend::source::Span;
use generator::{Debug, Generator};

/// Where the functions being compiled come from, for DWARF debug information.
pub struct DebugSource<'a> {
    /// The source file's name.
    pub file: String,
    /// Its directory.
    pub directory: String,
    /// The 1-based line and column of a span's start.
    pub position: &'a dyn Fn(Span) -> (u32, u32),
}

/// How hard to optimize.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OptLevel {
    /// The tutorial's passes: mem2reg, instcombine, reassociate, gvn, simplifycfg.
    #[default]
    Tutorial,
    /// `default<O0>` and fast instruction selection.
    O0,
    /// `default<O1>`
    O1,
    /// `default<O2>`
    O2,
    /// `default<O3>`
    O3,
    /// Tier 0 of the lazy JIT: mem2reg only and fast instruction selection (the
    /// cheapest code worth running; hot functions are recompiled at the chosen level).
    Baseline,
}

// ANCHOR: pipeline
impl OptLevel {
    fn pipeline(self) -> &'static str {
        match self {
            OptLevel::Tutorial => "mem2reg,instcombine,reassociate,gvn,simplifycfg",
            OptLevel::O0 => "default<O0>",
            OptLevel::O1 => "default<O1>",
            OptLevel::O2 => "default<O2>",
            OptLevel::O3 => "default<O3>",
            OptLevel::Baseline => "mem2reg",
        }
    }

    fn codegen(self) -> OptimizationLevel {
        match self {
            OptLevel::O0 | OptLevel::Baseline => OptimizationLevel::None,
            OptLevel::O1 => OptimizationLevel::Less,
            OptLevel::Tutorial | OptLevel::O2 => OptimizationLevel::Default,
            OptLevel::O3 => OptimizationLevel::Aggressive,
        }
    }
}
// ANCHOR_END: pipeline

/// A failure inside LLVM: a bug of toy's, reported rather than crashed on.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("LLVM: {0}")]
pub struct CodegenError(pub String);

impl From<BuilderError> for CodegenError {
    fn from(err: BuilderError) -> Self {
        CodegenError(err.to_string())
    }
}

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

/// Prefix of the symbol of a counted function's call counter.
pub const COUNTER: &str = "toy.counter.";
/// Prefix of the symbol a counted function calls when its counter reaches a multiple
/// of [`POLL_CALLS`]: the JIT points it at the function's trampoline.
pub const TRAMPOLINE: &str = "toy.trampoline.";
/// How often a counted function re-enters the JIT, in calls (a power of two).
pub const POLL_CALLS: u64 = 1024;

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
    machine: TargetMachine,
    opt: OptLevel,
    /// Whether functions count their calls (see [`Compiler::counting`]).
    counting: bool,
}

impl Compiler {
    /// A compiler for the host (its CPU and features), position independent.
    pub fn host(opt: OptLevel) -> Result<Self, CodegenError> {
        let triple = TargetMachine::get_default_triple();
        let cpu = TargetMachine::get_host_cpu_name();
        let features = TargetMachine::get_host_cpu_features();
        Self::new(
            &triple,
            &cpu.to_string_lossy(),
            &features.to_string_lossy(),
            opt,
        )
    }

    /// A compiler for `triple` and `cpu`.
    pub fn new(
        triple: &TargetTriple,
        cpu: &str,
        features: &str,
        opt: OptLevel,
    ) -> Result<Self, CodegenError> {
        // Registering LLVM's targets is not thread-safe: once per process, before any
        // compile thread makes a target machine of its own.
        static NATIVE: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
        NATIVE
            .get_or_init(|| Target::initialize_native(&InitializationConfig::default()))
            .clone()
            .map_err(CodegenError)?;
        let target = Target::from_triple(triple).map_err(|e| CodegenError(e.to_string()))?;
        let machine = target
            .create_target_machine(
                triple,
                cpu,
                features,
                opt.codegen(),
                RelocMode::PIC,
                CodeModel::Small,
            )
            .ok_or_else(|| CodegenError(format!("no target machine for {triple}")))?;
        Ok(Compiler {
            machine,
            opt,
            counting: false,
        })
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
        self.opt
    }

    /// Compiles `function` under the symbol `name` (its own name unless given), with
    /// DWARF if `debug` says where it comes from.
    pub fn compile(
        &self,
        function: &Function,
        name: Option<&str>,
        output: Output,
        timings: &mut Timings,
        debug: Option<&DebugSource<'_>>,
    ) -> Result<Vec<u8>, CodegenError> {
        let name = name.unwrap_or(&function.proto.name);
        let bytes = self.build(name, &[(function, name)], output, timings, debug)?;
        timings.count += 1;
        Ok(bytes)
    }

    /// Compiles several functions into one object (calls between them are direct).
    pub fn compile_module(&self, functions: &[&Function]) -> Result<Vec<u8>, CodegenError> {
        let named: Vec<_> = functions.iter().map(|f| (*f, &*f.proto.name)).collect();
        self.build("toy", &named, Output::Object, &mut Timings::default(), None)
    }

    /// Compiles several functions, each under its own name, into one object whose
    /// calls all go through symbols (none is direct), timed.
    pub fn compile_batch(
        &self,
        functions: &[(&Function, &str)],
        timings: &mut Timings,
    ) -> Result<Vec<u8>, CodegenError> {
        let bytes = self.build("toy", functions, Output::Object, timings, None)?;
        timings.count += functions.len() as u32;
        Ok(bytes)
    }

    /// Compiles several functions, each under the symbol given, into one object.
    pub fn compile_named(
        &self,
        functions: &[(&Function, &str)],
        debug: Option<&DebugSource<'_>>,
    ) -> Result<Vec<u8>, CodegenError> {
        self.build(
            "toy",
            functions,
            Output::Object,
            &mut Timings::default(),
            debug,
        )
    }

    /// An object of *indirect stubs*, for ahead-of-time programs: for each
    /// `(name, arity, pointer, missing)`, a function `name` that calls through the
    /// external global `pointer` (a `double (*)(double, ...)`), or calls the external
    /// `void missing(void)` while the pointer is null.
    pub fn stubs_object(
        &self,
        stubs: &[(String, usize, String, String)],
    ) -> Result<Vec<u8>, CodegenError> {
        let context = Context::create();
        let module = context.create_module("stubs");
        module.set_triple(&self.machine.get_triple());
        module.set_data_layout(&self.machine.get_target_data().get_data_layout());
        let builder = context.create_builder();
        let f64t = context.f64_type();
        let void = context.void_type();
        for (name, arity, pointer, missing) in stubs {
            let params = vec![f64t.into(); *arity];
            let fn_type = f64t.fn_type(&params, false);
            let ptr_type = fn_type.ptr_type(inkwell::AddressSpace::default());
            let global = module.add_global(ptr_type, None, pointer);
            global.set_linkage(Linkage::External);
            let missing = module.add_function(missing, void.fn_type(&[], false), None);
            let function = module.add_function(name, fn_type, None);
            let entry = context.append_basic_block(function, "entry");
            let absent = context.append_basic_block(function, "absent");
            let present = context.append_basic_block(function, "present");
            builder.position_at_end(entry);
            let target = builder
                .build_load(global.as_pointer_value(), "target")?
                .into_pointer_value();
            let is_null = builder.build_is_null(target, "null")?;
            builder.build_conditional_branch(is_null, absent, present)?;
            builder.position_at_end(absent);
            builder.build_call(missing, &[], "")?;
            builder.build_unreachable()?;
            builder.position_at_end(present);
            let args: Vec<_> = function.get_param_iter().map(|p| p.into()).collect();
            let callable = inkwell::values::CallableValue::try_from(target)
                .map_err(|()| CodegenError("not a function pointer".into()))?;
            let result = builder.build_call(callable, &args, "result")?;
            let value = result
                .try_as_basic_value()
                .basic()
                .ok_or_else(|| CodegenError("call without a value".into()))?;
            builder.build_return(Some(&value))?;
        }
        module.verify().map_err(|e| CodegenError(e.to_string()))?;
        let buffer = self
            .machine
            .write_to_memory_buffer(&module, FileType::Object)
            .map_err(|e| CodegenError(e.to_string()))?;
        Ok(buffer.as_slice().to_vec())
    }

    /// One module with `functions` (each under its symbol): IR (with DWARF if a
    /// source is given), passes, output.
    fn build(
        &self,
        module_name: &str,
        functions: &[(&Function, &str)],
        output: Output,
        timings: &mut Timings,
        source: Option<&DebugSource<'_>>,
    ) -> Result<Vec<u8>, CodegenError> {
        let start = Instant::now();
        let context = Context::create();
        let module = context.create_module(module_name);
        module.set_triple(&self.machine.get_triple());
        module.set_data_layout(&self.machine.get_target_data().get_data_layout());
        let debug = source.map(|source| Debug::new(&context, &module, source));
        if debug.is_some() {
            let version = context.i32_type().const_int(3, false);
            module.add_basic_value_flag(
                "Debug Info Version",
                inkwell::module::FlagBehavior::Warning,
                version,
            );
        }
        for (function, name) in functions {
            let mut generator = Generator::new(&context, &module);
            generator.debug = debug.as_ref();
            generator.counting = self.counting;
            generator.function(function, name)?;
        }
        if let Some(debug) = &debug {
            debug.builder.finalize();
        }
        module.verify().map_err(|e| CodegenError(e.to_string()))?;
        let optimized = Instant::now();
        timings.irgen += optimized - start;
        module
            .run_passes(
                self.opt.pipeline(),
                &self.machine,
                PassBuilderOptions::create(),
            )
            .map_err(|e| CodegenError(e.to_string()))?;
        let generated = Instant::now();
        timings.optimize += generated - optimized;
        let kind = match output {
            Output::Ir => return Ok(module.print_to_string().to_bytes().to_vec()),
            Output::Object => FileType::Object,
            Output::Asm => FileType::Assembly,
        };
        let buffer = self
            .machine
            .write_to_memory_buffer(&module, kind)
            .map_err(|e| CodegenError(e.to_string()))?;
        timings.codegen += generated.elapsed();
        Ok(buffer.as_slice().to_vec())
    }
}

//! IR generation, optimization and code generation: one AST function at a time, each
//! in its own LLVM context and module, to an ELF relocatable object in memory.
//!
//! Calls name their callee by symbol (`fib`, `binary|`); the JIT linker decides what
//! each name means (a stub, a runtime function), so a compiled object never depends
//! on whether its callees exist yet.

use std::time::{Duration, Instant};

use inkwell::attributes::{Attribute, AttributeLoc};
use inkwell::builder::{Builder, BuilderError};
use inkwell::context::Context;
use inkwell::module::{Linkage, Module};
use inkwell::passes::PassBuilderOptions;
use inkwell::targets::{
    CodeModel, FileType, InitializationConfig, RelocMode, Target, TargetMachine, TargetTriple,
};
use inkwell::values::{FloatValue, FunctionValue, PointerValue};
use inkwell::{FloatPredicate, OptimizationLevel};
use thiserror::Error;

use inkwell::debug_info::{
    AsDIScope, DIBasicType, DICompileUnit, DIFile, DIFlags, DIFlagsConstants, DIScope,
    DWARFEmissionKind, DWARFSourceLanguage, DebugInfoBuilder,
};

use crate::frontend::ast::{BinOp, Expr, ExprKind, Fixity, Function, OperatorName};
use crate::frontend::source::Span;

/// Where the functions being compiled come from, for DWARF debug information.
pub struct DebugSource<'a> {
    /// The source file's name.
    pub file: String,
    /// Its directory.
    pub directory: String,
    /// The 1-based line and column of a span's start.
    pub position: &'a dyn Fn(Span) -> (u32, u32),
}

/// The DWARF builder of one module.
struct Debug<'a, 'ctx> {
    builder: DebugInfoBuilder<'ctx>,
    unit: DICompileUnit<'ctx>,
    file: DIFile<'ctx>,
    double: DIBasicType<'ctx>,
    source: &'a DebugSource<'a>,
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
    /// `library(name)` says whether a callee is a C library function (an `extern`)
    /// that LLVM may fold or rewrite; other callees are marked `nobuiltin`, so that a
    /// `def sin(x)` is never mistaken for libm's.
    pub fn compile(
        &self,
        function: &Function,
        name: Option<&str>,
        output: Output,
        library: &dyn Fn(&str) -> bool,
        timings: &mut Timings,
        debug: Option<&DebugSource<'_>>,
    ) -> Result<Vec<u8>, CodegenError> {
        let name = name.unwrap_or(&function.proto.name);
        let bytes = self.build(name, &[(function, name)], output, library, timings, debug)?;
        timings.count += 1;
        Ok(bytes)
    }

    /// Compiles several functions into one object (calls between them are direct).
    pub fn compile_module(
        &self,
        functions: &[&Function],
        library: &dyn Fn(&str) -> bool,
    ) -> Result<Vec<u8>, CodegenError> {
        let named: Vec<_> = functions.iter().map(|f| (*f, &*f.proto.name)).collect();
        self.build(
            "toy",
            &named,
            Output::Object,
            library,
            &mut Timings::default(),
            None,
        )
    }

    /// Compiles several functions, each under its own name, into one object whose
    /// calls all go through symbols (none is direct), timed.
    pub fn compile_batch(
        &self,
        functions: &[(&Function, &str)],
        library: &dyn Fn(&str) -> bool,
        timings: &mut Timings,
    ) -> Result<Vec<u8>, CodegenError> {
        let bytes = self.build("toy", functions, Output::Object, library, timings, None)?;
        timings.count += functions.len() as u32;
        Ok(bytes)
    }

    /// Compiles several functions, each under the symbol given, into one object.
    pub fn compile_named(
        &self,
        functions: &[(&Function, &str)],
        library: &dyn Fn(&str) -> bool,
        debug: Option<&DebugSource<'_>>,
    ) -> Result<Vec<u8>, CodegenError> {
        self.build(
            "toy",
            functions,
            Output::Object,
            library,
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
        library: &dyn Fn(&str) -> bool,
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
            let mut generator = Generator::new(&context, &module, library);
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

// ANCHOR: generator
/// Builds the IR of one function.
struct Generator<'a, 'ctx> {
    context: &'ctx Context,
    library: &'a dyn Fn(&str) -> bool,
    module: &'a Module<'ctx>,
    builder: Builder<'ctx>,
    /// One stack slot per local (promoted to registers by mem2reg).
    slots: Vec<PointerValue<'ctx>>,
    function: Option<FunctionValue<'ctx>>,
    /// DWARF, with `-g`: the builder and the current function's scope.
    debug: Option<&'a Debug<'a, 'ctx>>,
    scope: Option<DIScope<'ctx>>,
    /// Whether the function counts its calls (tier 0 of the lazy JIT).
    counting: bool,
}

impl<'a, 'ctx> Debug<'a, 'ctx> {
    fn new(context: &'ctx Context, module: &Module<'ctx>, source: &'a DebugSource<'a>) -> Self {
        // DWARF has no language code for Kaleidoscope; like LLVM's tutorial we say C,
        // which debuggers handle well for functions of doubles.
        let (builder, unit) = module.create_debug_info_builder(
            true,
            DWARFSourceLanguage::C,
            &source.file,
            &source.directory,
            "toy (Kaleidoscope)",
            false,
            "",
            0,
            "",
            DWARFEmissionKind::Full,
            0,
            false,
            false,
            "",
            "",
        );
        let file = builder.create_file(&source.file, &source.directory);
        let double = builder
            .create_basic_type("double", 64, 0x04, DIFlags::ZERO)
            .unwrap_or_else(|_| unreachable!("a named type"));
        let _ = context;
        Debug {
            builder,
            unit,
            file,
            double,
            source,
        }
    }
}

impl<'a, 'ctx> Generator<'a, 'ctx> {
    fn new(
        context: &'ctx Context,
        module: &'a Module<'ctx>,
        library: &'a dyn Fn(&str) -> bool,
    ) -> Self {
        Generator {
            context,
            library,
            module,
            builder: context.create_builder(),
            slots: Vec::new(),
            function: None,
            debug: None,
            scope: None,
            counting: false,
        }
    }

    /// The function `name` taking `arity` doubles, declared if this module lacks it.
    fn declare(&self, name: &str, arity: usize) -> FunctionValue<'ctx> {
        if let Some(f) = self.module.get_function(name) {
            return f;
        }
        let f64 = self.context.f64_type();
        let params = vec![f64.into(); arity];
        let f =
            self.module
                .add_function(name, f64.fn_type(&params, false), Some(Linkage::External));
        let mut attributes = vec!["nounwind"];
        if !(self.library)(name) {
            attributes.push("nobuiltin");
        }
        for attribute in attributes {
            let kind = Attribute::get_named_enum_kind_id(attribute);
            f.add_attribute(
                AttributeLoc::Function,
                self.context.create_enum_attribute(kind, 0),
            );
        }
        f
    }

    // ANCHOR: function
    fn function(mut self, function: &Function, name: &str) -> Result<(), CodegenError> {
        let f = self.declare(name, function.proto.arity());
        self.function = Some(f);
        let entry = self.context.append_basic_block(f, "entry");
        self.builder.position_at_end(entry);
        if let Some(debug) = self.debug {
            let (line, _) = (debug.source.position)(function.proto.span);
            let double = debug.double.as_type();
            let params = vec![double; function.proto.arity()];
            let ty = debug.builder.create_subroutine_type(
                debug.file,
                Some(double),
                &params,
                DIFlags::ZERO,
            );
            // Named as in the program: an ahead-of-time build compiles `fib` under
            // a versioned symbol, but a debugger should say `fib`.
            let subprogram = debug.builder.create_function(
                debug.unit.as_debug_info_scope(),
                &function.proto.name,
                None,
                debug.file,
                line,
                ty,
                false,
                true,
                line,
                DIFlags::PROTOTYPED,
                false,
            );
            f.set_subprogram(subprogram);
            self.scope = Some(subprogram.as_debug_info_scope());
        }
        let f64 = self.context.f64_type();
        for (param, name) in f.get_param_iter().zip(&function.proto.params) {
            param.set_name(name);
        }
        for slot in 0..function.slots {
            let name = match function.proto.params.get(slot) {
                Some(param) => format!("{param}.addr"),
                None => "local".into(),
            };
            self.slots.push(self.builder.build_alloca(f64, &name)?);
        }
        if self.counting {
            self.count_calls(f, name)?;
        }
        for (i, param) in f.get_param_iter().enumerate() {
            self.builder.build_store(self.slots[i], param)?;
        }
        for (i, param) in function.proto.params.iter().enumerate() {
            self.describe(param, Some(i as u32 + 1), i, function.proto.span);
        }
        // Storing the parameters has no line of its own: it is prologue, so that a
        // debugger stopping at the function stops after it, where they are readable.
        self.locate(function.body.span);
        let value = self.expr(&function.body)?;
        self.builder.build_return(Some(&value))?;
        Ok(())
    }

    // ANCHOR_END: function

    // ANCHOR: count_calls
    /// Counts a call of `f` and, every [`POLL_CALLS`] calls, hands the call to the JIT
    /// (its trampoline) instead, which may request or install faster code; then
    /// continues in a fresh block.
    fn count_calls(&mut self, f: FunctionValue<'ctx>, name: &str) -> Result<(), CodegenError> {
        let i32t = self.context.i32_type();
        let counter = self
            .module
            .add_global(i32t, None, &format!("{COUNTER}{name}"));
        counter.set_linkage(Linkage::External);
        let pointer = counter.as_pointer_value();
        let old = self.builder.build_load(pointer, "calls")?.into_int_value();
        let new = self
            .builder
            .build_int_add(old, i32t.const_int(1, false), "calls")?;
        self.builder.build_store(pointer, new)?;
        let phase = self
            .builder
            .build_and(new, i32t.const_int(POLL_CALLS - 1, false), "phase")?;
        let poll = self.builder.build_int_compare(
            inkwell::IntPredicate::EQ,
            phase,
            i32t.const_zero(),
            "poll",
        )?;
        let hot = self.context.append_basic_block(f, "poll");
        let body = self.context.append_basic_block(f, "body");
        self.builder.build_conditional_branch(poll, hot, body)?;
        self.builder.position_at_end(hot);
        let args: Vec<FloatValue<'ctx>> =
            f.get_param_iter().map(|p| p.into_float_value()).collect();
        let value = self.call(&format!("{TRAMPOLINE}{name}"), &args)?;
        self.builder.build_return(Some(&value))?;
        self.builder.position_at_end(body);
        Ok(())
    }
    // ANCHOR_END: count_calls
    fn call(
        &self,
        name: &str,
        args: &[FloatValue<'ctx>],
    ) -> Result<FloatValue<'ctx>, CodegenError> {
        let callee = self.declare(name, args.len());
        let args: Vec<_> = args.iter().map(|a| (*a).into()).collect();
        let call = self.builder.build_call(callee, &args, "call")?;
        call.try_as_basic_value()
            .basic()
            .map(|v| v.into_float_value())
            .ok_or_else(|| CodegenError(format!("call of {name} has no value")))
    }

    fn truth(
        &self,
        value: FloatValue<'ctx>,
        name: &str,
    ) -> Result<inkwell::values::IntValue<'ctx>, CodegenError> {
        let zero = self.context.f64_type().const_float(0.0);
        Ok(self
            .builder
            .build_float_compare(FloatPredicate::ONE, value, zero, name)?)
    }

    // ANCHOR: debug
    /// With `-g`: the debug location of the instructions that follow.
    fn locate(&self, span: Span) {
        if let (Some(debug), Some(scope)) = (self.debug, self.scope) {
            let (line, column) = (debug.source.position)(span);
            let location =
                debug
                    .builder
                    .create_debug_location(self.context, line, column, scope, None);
            self.builder.set_current_debug_location(location);
        }
    }

    /// With `-g`: describes the variable in `slot` (a parameter if `arg` is given).
    fn describe(&self, name: &str, arg: Option<u32>, slot: usize, span: Span) {
        let (Some(debug), Some(scope), Some(block)) =
            (self.debug, self.scope, self.builder.get_insert_block())
        else {
            return;
        };
        let (line, column) = (debug.source.position)(span);
        let ty = debug.double.as_type();
        let variable = match arg {
            Some(arg) => debug.builder.create_parameter_variable(
                scope,
                name,
                arg,
                debug.file,
                line,
                ty,
                true,
                DIFlags::ZERO,
            ),
            None => debug.builder.create_auto_variable(
                scope,
                name,
                debug.file,
                line,
                ty,
                true,
                DIFlags::ZERO,
                0,
            ),
        };
        let location = debug
            .builder
            .create_debug_location(self.context, line, column, scope, None);
        debug.builder.insert_declare_at_end(
            self.slots[slot],
            Some(variable),
            None,
            location,
            block,
        );
    }
    // ANCHOR_END: debug

    fn expr(&mut self, expr: &Expr) -> Result<FloatValue<'ctx>, CodegenError> {
        self.locate(expr.span);
        let f64 = self.context.f64_type();
        let function = self
            .function
            .ok_or_else(|| CodegenError("no function".into()))?;
        Ok(match &expr.kind {
            ExprKind::Number(n) => f64.const_float(*n),
            ExprKind::Variable { name, slot } => self
                .builder
                .build_load(self.slots[*slot], name)?
                .into_float_value(),
            ExprKind::Assign { slot, value, .. } => {
                let value = self.expr(value)?;
                self.builder.build_store(self.slots[*slot], value)?;
                value
            }
            ExprKind::Unary { op, operand } => {
                let operand = self.expr(operand)?;
                self.call(OperatorName::new(Fixity::Unary, *op).as_str(), &[operand])?
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let l = self.expr(lhs)?;
                let r = self.expr(rhs)?;
                match op {
                    BinOp::Add => self.builder.build_float_add(l, r, "add")?,
                    BinOp::Sub => self.builder.build_float_sub(l, r, "sub")?,
                    BinOp::Mul => self.builder.build_float_mul(l, r, "mul")?,
                    BinOp::Lt => {
                        let lt =
                            self.builder
                                .build_float_compare(FloatPredicate::ULT, l, r, "lt")?;
                        self.builder.build_unsigned_int_to_float(lt, f64, "bool")?
                    }
                    BinOp::User(c) => {
                        self.call(OperatorName::new(Fixity::Binary, *c).as_str(), &[l, r])?
                    }
                }
            }
            ExprKind::Call { callee, args } => {
                let mut values = Vec::with_capacity(args.len());
                for arg in args {
                    values.push(self.expr(arg)?);
                }
                self.call(callee, &values)?
            }
            // ANCHOR: if
            ExprKind::If { cond, then, else_ } => {
                let cond = self.expr(cond)?;
                let cond = self.truth(cond, "ifcond")?;
                let then_bb = self.context.append_basic_block(function, "then");
                let else_bb = self.context.append_basic_block(function, "else");
                let merge_bb = self.context.append_basic_block(function, "ifcont");
                self.builder
                    .build_conditional_branch(cond, then_bb, else_bb)?;
                self.builder.position_at_end(then_bb);
                let then_value = self.expr(then)?;
                self.builder.build_unconditional_branch(merge_bb)?;
                let then_end = self.current_block()?;
                self.builder.position_at_end(else_bb);
                let else_value = self.expr(else_)?;
                self.builder.build_unconditional_branch(merge_bb)?;
                let else_end = self.current_block()?;
                self.builder.position_at_end(merge_bb);
                let phi = self.builder.build_phi(f64, "iftmp")?;
                phi.add_incoming(&[(&then_value, then_end), (&else_value, else_end)]);
                phi.as_basic_value().into_float_value()
            }
            // ANCHOR_END: if
            // ANCHOR: for
            ExprKind::For {
                var,
                slot,
                start,
                end,
                step,
                body,
            } => {
                // Chapter 7: body, step, end condition, then increment; loop while
                // the condition (evaluated before the increment) was true.
                let start = self.expr(start)?;
                self.builder.build_store(self.slots[*slot], start)?;
                self.describe(var, None, *slot, expr.span);
                let loop_bb = self.context.append_basic_block(function, "loop");
                self.builder.build_unconditional_branch(loop_bb)?;
                self.builder.position_at_end(loop_bb);
                self.expr(body)?;
                let step = match step {
                    Some(step) => self.expr(step)?,
                    None => f64.const_float(1.0),
                };
                let end = self.expr(end)?;
                let current = self
                    .builder
                    .build_load(self.slots[*slot], "var")?
                    .into_float_value();
                let next = self.builder.build_float_add(current, step, "nextvar")?;
                self.builder.build_store(self.slots[*slot], next)?;
                let more = self.truth(end, "loopcond")?;
                let after_bb = self.context.append_basic_block(function, "afterloop");
                self.builder
                    .build_conditional_branch(more, loop_bb, after_bb)?;
                self.builder.position_at_end(after_bb);
                f64.const_float(0.0)
            }
            // ANCHOR_END: for
            // ANCHOR: var
            ExprKind::Var { bindings, body } => {
                for binding in bindings {
                    let value = match &binding.init {
                        Some(init) => self.expr(init)?,
                        None => f64.const_float(0.0),
                    };
                    self.builder.build_store(self.slots[binding.slot], value)?;
                    self.describe(&binding.name, None, binding.slot, expr.span);
                }
                self.expr(body)?
            } // ANCHOR_END: var
        })
    }

    fn current_block(&self) -> Result<inkwell::basic_block::BasicBlock<'ctx>, CodegenError> {
        self.builder
            .get_insert_block()
            .ok_or_else(|| CodegenError("builder has no block".into()))
    }
}
// ANCHOR_END: generator

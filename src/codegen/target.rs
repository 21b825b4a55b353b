//! The machine code is generated for and how hard to optimize: [`OptLevel`] (with the
//! one mapping of the `-O`/`-g` flags to it, its pass pipeline and its instruction
//! selection level) and [`Machine`], an LLVM target machine — the host's, or a named
//! triple and CPU — with the three steps that depend on it: a module laid out for it,
//! the pass pipeline, and writing an object or assembly.

use std::sync::OnceLock;

use inkwell::OptimizationLevel;
use inkwell::context::Context;
use inkwell::module::Module;
use inkwell::passes::PassBuilderOptions;
use inkwell::targets::{
    CodeModel, FileType, InitializationConfig, RelocMode, Target, TargetMachine, TargetTriple,
};

use super::CodegenError;

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

impl OptLevel {
    /// The level of `-O LEVEL` (if given, 0 to 3; above 3 means 3) and `-g`: `-g`
    /// means `-O0` unless `-O` is given (so that lines stay accurate); neither means
    /// the tutorial's passes.
    pub fn from_flag(opt: Option<u8>, debug: bool) -> Self {
        match opt {
            None if debug => OptLevel::O0,
            None => OptLevel::Tutorial,
            Some(0) => OptLevel::O0,
            Some(1) => OptLevel::O1,
            Some(2) => OptLevel::O2,
            Some(_) => OptLevel::O3,
        }
    }

    /// Whether this is one of LLVM's optimizing pipelines (`-O1` to `-O3`), whose
    /// code is tuned further after the pipeline (`zero_test.rs`).
    pub(super) fn optimizes(self) -> bool {
        matches!(self, OptLevel::O1 | OptLevel::O2 | OptLevel::O3)
    }
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

/// An LLVM target machine (position independent, small code model) and the
/// optimization level it was made for.
pub struct Machine {
    machine: TargetMachine,
    opt: OptLevel,
}

impl Machine {
    /// The host's: its triple, CPU and features.
    pub(super) fn host(opt: OptLevel) -> Result<Self, CodegenError> {
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

    /// One for `triple`, `cpu` and `features`.
    pub(super) fn new(
        triple: &TargetTriple,
        cpu: &str,
        features: &str,
        opt: OptLevel,
    ) -> Result<Self, CodegenError> {
        // Registering LLVM's targets is not thread-safe: once per process, before any
        // compile thread makes a target machine of its own.
        static NATIVE: OnceLock<Result<(), CodegenError>> = OnceLock::new();
        NATIVE
            .get_or_init(|| {
                Target::initialize_native(&InitializationConfig::default())
                    .map_err(|message| CodegenError::NativeTarget { message })
            })
            .clone()?;
        let target = Target::from_triple(triple).map_err(|e| CodegenError::UnknownTarget {
            triple: triple.as_str().to_string_lossy().into_owned(),
            message: e.to_string(),
        })?;
        let machine = target
            .create_target_machine(
                triple,
                cpu,
                features,
                opt.codegen(),
                RelocMode::PIC,
                CodeModel::Small,
            )
            .ok_or_else(|| CodegenError::NoTargetMachine {
                triple: triple.as_str().to_string_lossy().into_owned(),
                cpu: cpu.to_string(),
            })?;
        Ok(Machine { machine, opt })
    }

    /// The optimization level.
    pub(super) fn opt(&self) -> OptLevel {
        self.opt
    }

    /// An empty module named `name`, with this machine's triple and data layout.
    pub fn module<'ctx>(&self, context: &'ctx Context, name: &str) -> Module<'ctx> {
        let module = context.create_module(name);
        module.set_triple(&self.machine.get_triple());
        module.set_data_layout(&self.machine.get_target_data().get_data_layout());
        module
    }

    /// Runs the optimization level's pass pipeline on `module`.
    pub(super) fn optimize(&self, module: &Module<'_>) -> Result<(), CodegenError> {
        let pipeline = self.opt.pipeline();
        module
            .run_passes(pipeline, &self.machine, PassBuilderOptions::create())
            .map_err(|e| CodegenError::Passes {
                pipeline,
                message: e.to_string(),
            })
    }

    /// `module` as an object file or assembly text.
    pub fn write(&self, module: &Module<'_>, kind: FileType) -> Result<Vec<u8>, CodegenError> {
        let buffer = self
            .machine
            .write_to_memory_buffer(module, kind)
            .map_err(|e| CodegenError::Emit {
                message: e.to_string(),
            })?;
        Ok(buffer.as_slice().to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn o_flags_map_to_levels_and_g_means_o0_unless_o_is_given() {
        let cases = [
            ((None, false), OptLevel::Tutorial),
            ((None, true), OptLevel::O0),
            ((Some(0), false), OptLevel::O0),
            ((Some(1), false), OptLevel::O1),
            ((Some(2), true), OptLevel::O2),
            ((Some(3), false), OptLevel::O3),
            ((Some(3), true), OptLevel::O3),
        ];
        for ((opt, debug), level) in cases {
            assert_eq!(
                OptLevel::from_flag(opt, debug),
                level,
                "-O {opt:?} -g {debug}"
            );
        }
    }

    #[test]
    fn an_unknown_triple_is_a_target_error() {
        let triple = TargetTriple::create("nonsense-unknown-nowhere");
        match Machine::new(&triple, "", "", OptLevel::O0) {
            Err(CodegenError::UnknownTarget { triple, message }) => {
                assert_eq!(triple, "nonsense-unknown-nowhere");
                assert!(!message.is_empty());
            }
            Err(other) => panic!("another error: {other:?}"),
            Ok(_) => panic!("a machine for a nonsense triple"),
        }
    }
}

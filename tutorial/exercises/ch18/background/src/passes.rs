// ANCHOR: head
//! The optimization passes of LLVM's tutorial, run on each function of a module.

use inkwell::OptimizationLevel;
use inkwell::module::Module;
use inkwell::passes::PassBuilderOptions;
use inkwell::targets::{CodeModel, RelocMode, Target, TargetMachine};
// ANCHOR_END: head

// ANCHOR: pipeline
/// The tutorial's function passes, in `opt -passes=` syntax, run in this order:
/// `mem2reg` promotes stack slots to SSA values (nothing to do until chapter 9's
/// allocas); `instcombine` makes peephole rewrites, among them moving constants
/// to the right of `+` and `*`; `reassociate` reorders chains of `+` and `*` so
/// that equal expressions look equal; `gvn` computes each equal expression once;
/// `simplifycfg` merges and deletes basic blocks (chapter 7 makes some).
const PIPELINE: &str = "function(mem2reg,instcombine,reassociate,gvn,simplifycfg)";
// ANCHOR_END: pipeline

// ANCHOR: machine
/// A description of the host's CPU, which some passes ask about (vector widths,
/// which operations are cheap). The native target must be initialized.
pub fn host_machine() -> Result<TargetMachine, String> {
    let triple = TargetMachine::get_default_triple();
    let target = Target::from_triple(&triple).map_err(|err| err.to_string())?;
    let cpu = TargetMachine::get_host_cpu_name().to_string();
    let features = TargetMachine::get_host_cpu_features().to_string();
    target
        .create_target_machine(
            &triple,
            &cpu,
            &features,
            OptimizationLevel::Default,
            RelocMode::Default,
            CodeModel::JITDefault,
        )
        .ok_or_else(|| format!("LLVM has no target machine for {triple}"))
}
// ANCHOR_END: machine

// ANCHOR: optimize
/// Runs the tutorial's passes over every function `module` defines.
pub fn optimize(module: &Module<'_>, machine: &TargetMachine) -> Result<(), String> {
    module
        .run_passes(PIPELINE, machine, PassBuilderOptions::create())
        .map_err(|err| err.to_string())
}
// ANCHOR_END: optimize

// ANCHOR: tests
#[cfg(test)]
mod tests {
    use inkwell::context::Context;
    use inkwell::targets::InitializationConfig;

    use super::*;
    use crate::codegen::Generator;
    use crate::lexer::lex;
    use crate::parser::parse;

    /// The IR of `text`'s one item, optimized or not.
    fn ir(text: &str, optimized: bool) -> String {
        Target::initialize_native(&InitializationConfig::default()).unwrap();
        let context = Context::create();
        let item = parse(text, &lex(text)).remove(0).unwrap();
        let module = Generator::new(&context).item(&item).unwrap();
        if optimized {
            optimize(&module, &host_machine().unwrap()).unwrap();
        }
        module.print_to_string().to_string()
    }

    #[test]
    fn equal_subexpressions_are_computed_once() {
        let text = "def test(x) (1+2+x)*(x+(1+2))";
        let before = ir(text, false);
        // ANCHOR: before_loads
        // Before the passes, each use of `x` is a load of its slot.
        assert!(
            before.contains("%add = fadd double 3.000000e+00, %x2"),
            "{before}"
        );
        assert!(
            before.contains("%add4 = fadd double %x3, 3.000000e+00"),
            "{before}"
        );
        // ANCHOR_END: before_loads
        let after = ir(text, true);
        assert!(
            after.contains("%add = fadd double %x, 3.000000e+00"),
            "{after}"
        );
        assert!(after.contains("%mul = fmul double %add, %add\n"), "{after}");
        // ANCHOR: after_no_second_add
        assert!(!after.contains("%add4"), "{after}");
        // ANCHOR_END: after_no_second_add
    }
}
// ANCHOR_END: tests

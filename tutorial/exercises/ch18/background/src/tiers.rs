// ANCHOR: head
//! Two tiers: the pieces that do not belong to the JIT itself. Tier 0's code
//! generator and its one pass, the call counters in the executor, and the few
//! instructions that count a call and, every [`POLL`] calls, hand it to the JIT.

use std::sync::atomic::AtomicU32;

use inkwell::OptimizationLevel;
use inkwell::builder::BuilderError;
use inkwell::module::Module;
use inkwell::passes::PassBuilderOptions;
use inkwell::targets::{CodeModel, RelocMode, Target, TargetMachine};
use inkwell::values::{BasicMetadataValueEnum, FunctionValue};
use inkwell::{AddressSpace, IntPredicate};

use crate::stubs;
// ANCHOR_END: head

// ANCHOR: names
/// How often tier-0 code hands a call to the JIT: every 1024th call of a function
/// (a power of two, so that the test is one `and`).
pub const POLL: u32 = 1024;

/// The executor's array of call counters, one `u32` per stub: found by the linker
/// like a native, so that each executor, in this process or another, has its own.
pub const COUNTERS: &str = "toy_counters";

/// The prefix of the symbol of function `f`'s counter in its tier-0 code:
/// `toy.counter.f`. The JIT resolves it to `f`'s element of the counters.
pub const COUNTER: &str = "toy.counter.";

/// The prefix of the symbol that `f`'s tier-0 code calls on a poll:
/// `toy.trampoline.f`, which the JIT resolves to `f`'s trampoline.
pub const TRAMPOLINE: &str = "toy.trampoline.";

/// The prefix of the name under which tier-0 code defines function `f`:
/// `toy.tier0.f`, so that `f`, even in `f`'s own body, is the stub.
pub const TIER0: &str = "toy.tier0.";
// ANCHOR_END: names

// ANCHOR: machine
/// The host's CPU for tier 0: LLVM's `-O0` code generator, which selects
/// instructions one by one (`FastISel`) and allocates registers in one pass.
pub fn baseline_machine() -> Result<TargetMachine, String> {
    let triple = TargetMachine::get_default_triple();
    let target = Target::from_triple(&triple).map_err(|err| err.to_string())?;
    let cpu = TargetMachine::get_host_cpu_name().to_string();
    let features = TargetMachine::get_host_cpu_features().to_string();
    target
        .create_target_machine(
            &triple,
            &cpu,
            &features,
            OptimizationLevel::None,
            RelocMode::PIC,
            CodeModel::Small,
        )
        .ok_or_else(|| format!("LLVM has no target machine for {triple}"))
}

/// Tier 0's one pass: `mem2reg`, so that variables live in registers, not in
/// stack slots that every use loads and every assignment stores.
pub fn baseline(module: &Module<'_>, machine: &TargetMachine) -> Result<(), String> {
    module
        .run_passes("function(mem2reg)", machine, PassBuilderOptions::create())
        .map_err(|err| err.to_string())
}
// ANCHOR_END: machine

// ANCHOR: counters
/// The call counters of one executor: one per stub, zero at first, incremented by
/// tier-0 code and never read by Rust but in tests.
pub struct Counters(Box<[AtomicU32]>);

impl Counters {
    /// A counter for every stub there can be.
    pub fn new() -> Self {
        Counters((0..stubs::CAPACITY).map(|_| AtomicU32::new(0)).collect())
    }

    /// The address of counter 0; counter `id` is `4 * id` bytes further.
    pub fn address(&self) -> usize {
        self.0.as_ptr() as usize
    }

    /// How many calls counter `id` has seen.
    #[cfg(test)]
    pub fn get(&self, id: usize) -> u32 {
        self.0[id].load(std::sync::atomic::Ordering::Relaxed)
    }
}
// ANCHOR_END: counters

// ANCHOR: rename
/// Renames function `name` of `module` to `toy.tier0.NAME`, and makes its calls of
/// itself calls of a declaration of `name`: like every other call, they will go
/// through the stub, which the tier-up points at the tier-1 code. Returns it.
pub fn rename<'ctx>(module: &Module<'ctx>, name: &str) -> FunctionValue<'ctx> {
    let function = module.get_function(name).expect("the module defines it");
    function
        .as_global_value()
        .set_name(&(TIER0.to_owned() + name));
    let stub = module.add_function(name, function.get_type(), None);
    function.replace_all_uses_with(stub);
    function
}
// ANCHOR_END: rename

// ANCHOR: count_calls
/// Makes `function`, function `name` of `module` at tier 0, count its calls: a new entry block adds one
/// to its counter and, every `POLL`th call, calls the function's trampoline with
/// the same arguments and returns what it returns; the other calls go on to the
/// old entry block. Run after `mem2reg`, which promotes only the slots of the
/// entry block.
pub fn count_calls<'ctx>(
    module: &Module<'ctx>,
    function: FunctionValue<'ctx>,
    name: &str,
) -> Result<(), BuilderError> {
    let context = module.get_context();
    let body = function
        .get_first_basic_block()
        .expect("a defined function");
    let count = context.prepend_basic_block(body, "count");
    let poll = context.insert_basic_block_after(count, "poll");
    let builder = context.create_builder();
    // count: calls = counter + 1; counter = calls; poll if calls % POLL == 0.
    builder.position_at_end(count);
    let i32 = context.i32_type();
    let counter = module.add_global(
        i32,
        Some(AddressSpace::default()),
        &(COUNTER.to_owned() + name),
    );
    let pointer = counter.as_pointer_value();
    let old = builder.build_load(pointer, "old")?.into_int_value();
    let calls = builder.build_int_add(old, i32.const_int(1, false), "calls")?;
    builder.build_store(pointer, calls)?;
    let phase = builder.build_and(calls, i32.const_int(u64::from(POLL - 1), false), "phase")?;
    let zero = i32.const_zero();
    let hot = builder.build_int_compare(IntPredicate::EQ, phase, zero, "hot")?;
    builder.build_conditional_branch(hot, poll, body)?;
    // poll: return trampoline(arguments), the way a first call goes.
    builder.position_at_end(poll);
    let trampoline =
        module.add_function(&(TRAMPOLINE.to_owned() + name), function.get_type(), None);
    let args: Vec<BasicMetadataValueEnum> = function.get_param_iter().map(Into::into).collect();
    let call = builder.build_call(trampoline, &args, "tier_up")?;
    let value = call.try_as_basic_value().basic();
    builder.build_return(Some(&value.expect("our functions return a double")))?;
    Ok(())
}
// ANCHOR_END: count_calls

// ANCHOR: tests
#[cfg(test)]
mod tests {
    use inkwell::context::Context;
    use inkwell::targets::InitializationConfig;

    use super::*;
    use crate::codegen::Generator;
    use crate::lexer::lex;
    use crate::parser::parse;

    #[test]
    fn tier_0_code_counts_then_polls() {
        Target::initialize_native(&InitializationConfig::default()).unwrap();
        let context = Context::create();
        let text = "def f(x) var y = x in f(y * 2)";
        let item = parse(text, &lex(text)).remove(0).unwrap();
        let module = Generator::new(&context).item(&item).unwrap();
        baseline(&module, &baseline_machine().unwrap()).unwrap();
        let function = rename(&module, "f");
        count_calls(&module, function, "f").unwrap();
        assert!(module.verify().is_ok());
        let ir = module.print_to_string().to_string();
        for line in [
            "@toy.counter.f = external global i32",
            "define double @toy.tier0.f(double %x)",
            "%call = call double @f(double %mul)",
            "declare double @f(double)",
            "count:\n  %old = load i32, i32* @toy.counter.f",
            "%calls = add i32 %old, 1",
            "store i32 %calls, i32* @toy.counter.f",
            "%phase = and i32 %calls, 1023",
            "br i1 %hot, label %poll, label %entry",
            "%tier_up = call double @toy.trampoline.f(double %x)",
            "ret double %tier_up",
            "declare double @toy.trampoline.f(double)",
        ] {
            assert!(ir.contains(line), "{line} in {ir}");
        }
        // `mem2reg` ran before: no stack slot is left.
        assert!(!ir.contains("alloca"), "{ir}");
    }

    #[test]
    fn each_executor_has_its_own_counters() {
        let (a, b) = (Counters::new(), Counters::new());
        assert_ne!(a.address(), b.address());
        assert_eq!(a.get(stubs::CAPACITY - 1), 0);
    }
}
// ANCHOR_END: tests

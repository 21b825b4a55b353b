//! Tier-0 call counting: the symbols a counted function uses and the prologue that
//! counts each call and, every [`POLL_CALLS`] calls, hands the call to the JIT (its
//! trampoline) so that a hot function can be recompiled at tier 1.

use inkwell::module::Linkage;
use inkwell::values::{FloatValue, FunctionValue};

use super::generator::Generator;
use super::{CodegenError, llvm_version};

/// Prefix of the symbol of a counted function's call counter.
pub const COUNTER: &str = "toy.counter.";
/// Prefix of the symbol a counted function calls when its counter reaches a multiple
/// of [`POLL_CALLS`]: the JIT points it at the function's trampoline.
pub const TRAMPOLINE: &str = "toy.trampoline.";
/// How often a counted function re-enters the JIT, in calls (a power of two).
pub const POLL_CALLS: u64 = 1024;

impl<'ctx> Generator<'_, 'ctx> {
    // ANCHOR: count_calls
    /// Counts a call of `f` and, every [`POLL_CALLS`] calls, hands the call to the JIT
    /// (its trampoline) instead, which may request or install faster code; then
    /// continues in a fresh block.
    pub(super) fn count_calls(
        &mut self,
        f: FunctionValue<'ctx>,
        name: &str,
    ) -> Result<(), CodegenError> {
        let i32t = self.context.i32_type();
        let counter = self
            .module
            .add_global(i32t, None, &format!("{COUNTER}{name}"));
        counter.set_linkage(Linkage::External);
        let pointer = counter.as_pointer_value();
        let old = llvm_version::load(&self.builder, i32t, pointer, "calls")?.into_int_value();
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
}

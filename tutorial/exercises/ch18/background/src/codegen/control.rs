// ANCHOR: head
//! IR for control flow: `if` and `for` make basic blocks; `if` joins its values with
//! a phi node, `for` keeps its variable in a stack slot.

use inkwell::FloatPredicate;
use inkwell::basic_block::BasicBlock;
use inkwell::module::Module;
use inkwell::values::{FloatValue, FunctionValue, IntValue, PointerValue};

use super::{CodegenError, Generator};
use crate::ast::{Expr, For};
// ANCHOR_END: head

// ANCHOR: if
impl<'ctx> Generator<'ctx> {
    /// `if cond then yes else no`: a conditional branch to two blocks, each of
    /// which branches to a merge block, where a phi picks the value that arrived.
    pub(super) fn if_expr(
        &self,
        module: &Module<'ctx>,
        [cond, yes, no]: [&Expr; 3],
        // ANCHOR: if_params
        params: &[(&str, PointerValue<'ctx>)],
        // ANCHOR_END: if_params
    ) -> Result<FloatValue<'ctx>, CodegenError> {
        let cond = self.expr(module, cond, params)?;
        let test = self.test(cond, "ifcond")?;
        let function = self.current_function();
        let then_block = self.context.append_basic_block(function, "then");
        let else_block = self.context.append_basic_block(function, "else");
        let merge = self.context.append_basic_block(function, "ifcont");
        self.builder
            .build_conditional_branch(test, then_block, else_block)?;
        // Each branch may end in another block than it began (an inner `if` adds
        // blocks): the phi needs the block each value comes *from*.
        self.builder.position_at_end(then_block);
        let yes = self.expr(module, yes, params)?;
        self.builder.build_unconditional_branch(merge)?;
        let yes_end = self.current_block();
        self.builder.position_at_end(else_block);
        let no = self.expr(module, no, params)?;
        self.builder.build_unconditional_branch(merge)?;
        let no_end = self.current_block();
        self.builder.position_at_end(merge);
        let phi = self.builder.build_phi(self.context.f64_type(), "iftmp")?;
        phi.add_incoming(&[(&yes, yes_end), (&no, no_end)]);
        Ok(phi.as_basic_value().into_float_value())
    }
    // ANCHOR_END: if

    // ANCHOR: for
    /// `for var = start, end, step in body`: one loop block, entered from the
    /// block before it and from its own end; the variable is a stack slot, which
    /// the body may assign, read again after the end condition to add the step.
    pub(super) fn for_expr(
        &self,
        module: &Module<'ctx>,
        l: &For,
        params: &[(&str, PointerValue<'ctx>)],
    ) -> Result<FloatValue<'ctx>, CodegenError> {
        let f64 = self.context.f64_type();
        let slot = self.entry_alloca(&l.var)?;
        let start = self.expr(module, &l.start, params)?;
        self.builder.build_store(slot, start)?;
        // ANCHOR: debug_for
        if let Some(debug) = &self.debug {
            debug.variable(&self.builder, &l.var, None, slot);
        }
        // ANCHOR_END: debug_for
        let body_block = self
            .context
            .append_basic_block(self.current_function(), "loop");
        self.builder.build_unconditional_branch(body_block)?;
        self.builder.position_at_end(body_block);
        let mut inner = params.to_vec();
        inner.push((l.var.as_str(), slot));
        self.expr(module, &l.body, &inner)?;
        let step = match &l.step {
            Some(step) => self.expr(module, step, &inner)?,
            None => f64.const_float(1.0),
        };
        let end = self.expr(module, &l.end, &inner)?;
        // The body or the condition may have assigned the variable: read it again.
        let current = self.builder.build_load(slot, &l.var)?.into_float_value();
        let next = self.builder.build_float_add(current, step, "nextvar")?;
        self.builder.build_store(slot, next)?;
        let test = self.test(end, "loopcond")?;
        let after = self
            .context
            .append_basic_block(self.current_function(), "afterloop");
        self.builder
            .build_conditional_branch(test, body_block, after)?;
        self.builder.position_at_end(after);
        Ok(f64.const_float(0.0))
    }
    // ANCHOR_END: for

    // ANCHOR: helpers
    /// `value` as a condition: `fcmp one value, 0.0`, true unless 0 or NaN.
    fn test(&self, value: FloatValue<'ctx>, name: &str) -> Result<IntValue<'ctx>, CodegenError> {
        let zero = self.context.f64_type().const_float(0.0);
        let test = self
            .builder
            .build_float_compare(FloatPredicate::ONE, value, zero, name)?;
        Ok(test)
    }

    /// The block the builder appends to.
    fn current_block(&self) -> BasicBlock<'ctx> {
        self.builder
            .get_insert_block()
            .expect("the builder is positioned")
    }

    /// The function the builder appends to.
    fn current_function(&self) -> FunctionValue<'ctx> {
        self.current_block()
            .get_parent()
            .expect("a block is in a function")
    }
}
// ANCHOR_END: helpers

// ANCHOR: tests
#[cfg(test)]
mod tests {
    // ANCHOR: test_use
    use super::super::tests::{ir, raw_ir};
    // ANCHOR_END: test_use

    #[test]
    fn if_is_a_branch_and_a_phi() {
        let out = ir("def f(x) if x then 1 else 2");
        for line in [
            "%ifcond = fcmp one double %x, 0.000000e+00",
            "br i1 %ifcond, label %then, label %else",
            "%iftmp = phi double [ 1.000000e+00, %then ], [ 2.000000e+00, %else ]",
        ] {
            assert!(out[0].contains(line), "{line} in {}", out[0]);
        }
    }

    // ANCHOR: for_test
    #[test]
    fn for_keeps_its_variable_in_a_slot_that_mem2reg_makes_a_phi() {
        let text = "def f(n) for i = 0, i < n, 2 in f(i)";
        let raw = &raw_ir(text)[0];
        for line in [
            "%i = alloca double",
            "store double 0.000000e+00, double* %i",
            "%i5 = load double, double* %i",
            "%nextvar = fadd double %i5, 2.000000e+00",
            "store double %nextvar, double* %i",
            "br i1 %loopcond, label %loop, label %afterloop",
        ] {
            assert!(raw.contains(line), "{line} in {raw}");
        }
        let promoted = &ir(text)[0];
        for line in [
            "%i.0 = phi double [ 0.000000e+00, %entry ], [ %nextvar, %loop ]",
            "%call = call double @f(double %i.0)",
            "%nextvar = fadd double %i.0, 2.000000e+00",
            "%lt = fcmp ult double %i.0, %n",
            "ret double 0.000000e+00",
        ] {
            assert!(promoted.contains(line), "{line} in {promoted}");
        }
        assert!(!promoted.contains("alloca"), "{promoted}");
    }
}
// ANCHOR_END: for_test
// ANCHOR_END: tests

//! IR for mutable variables: stack slots in the entry block, `=` and `var`.

use inkwell::module::Module;
use inkwell::values::{FloatValue, PointerValue};

use super::{CodegenError, Generator};
use crate::ast::{Expr, Span};

impl<'ctx> Generator<'ctx> {
    /// A new stack slot for a double named `name`, made at the top of the current
    /// function's entry block, where `mem2reg` looks for slots to promote (and
    /// where it is made once per call, not once per run of a loop body).
    pub(super) fn entry_alloca(&self, name: &str) -> Result<PointerValue<'ctx>, CodegenError> {
        let entry = self
            .builder
            .get_insert_block()
            .and_then(|block| block.get_parent())
            .and_then(|function| function.get_first_basic_block())
            .expect("the builder is in a function, which has an entry block");
        // A builder of its own, so that `self.builder` stays where it is.
        let builder = self.context.create_builder();
        match entry.get_first_instruction() {
            Some(first) => builder.position_before(&first),
            None => builder.position_at_end(entry),
        }
        Ok(builder.build_alloca(self.context.f64_type(), name)?)
    }

    /// The slot of the innermost variable named `name` in `params`.
    pub(super) fn slot(
        &self,
        params: &[(&str, PointerValue<'ctx>)],
        name: &str,
        span: &Span,
    ) -> Result<PointerValue<'ctx>, CodegenError> {
        params
            .iter()
            .rev()
            .find(|(param, _)| *param == name)
            .map(|&(_, slot)| slot)
            .ok_or_else(|| CodegenError::UnknownVariable {
                name: name.to_string(),
                span: span.clone(),
            })
    }

    /// `name = value`: computes `value` first, stores it in the variable's slot, and
    /// yields it.
    pub(super) fn assign(
        &self,
        module: &Module<'ctx>,
        name: &str,
        span: &Span,
        value: &Expr,
        params: &[(&str, PointerValue<'ctx>)],
    ) -> Result<FloatValue<'ctx>, CodegenError> {
        let value = self.expr(module, value, params)?;
        let slot = self.slot(params, name, span)?;
        self.builder.build_store(slot, value)?;
        Ok(value)
    }

    /// `var a = 1, b in body`: for each variable in turn, computes its initializer
    /// (0 without one) with the variables before it in scope, stores it in a new
    /// slot, and puts the slot in scope; then computes `body` in that scope. The
    /// caller's `params` are untouched, so the shadowed names come back after it.
    pub(super) fn var(
        &self,
        module: &Module<'ctx>,
        bindings: &[(String, Option<Expr>)],
        body: &Expr,
        params: &[(&str, PointerValue<'ctx>)],
    ) -> Result<FloatValue<'ctx>, CodegenError> {
        let mut inner = params.to_vec();
        for (name, init) in bindings {
            let value = match init {
                Some(init) => self.expr(module, init, &inner)?,
                None => self.context.f64_type().const_float(0.0),
            };
            let slot = self.entry_alloca(name)?;
            self.builder.build_store(slot, value)?;
            // ANCHOR: debug_var
            if let Some(debug) = &self.debug {
                debug.variable(&self.builder, name, None, slot);
            }
            // ANCHOR_END: debug_var
            inner.push((name.as_str(), slot));
        }
        self.expr(module, body, &inner)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{ir, raw_ir};

    #[test]
    fn a_parameter_is_a_slot_in_the_entry_block() {
        let out = raw_ir("def f(x) x = x + 1");
        let expected = "define double @f(double %x) {\n\
                        entry:\n  \
                          %x1 = alloca double, align 8\n  \
                          store double %x, double* %x1, align 8\n  \
                          %x2 = load double, double* %x1, align 8\n  \
                          %add = fadd double %x2, 1.000000e+00\n  \
                          store double %add, double* %x1, align 8\n  \
                          ret double %add\n\
                        }\n";
        assert_eq!(out[0], expected);
    }

    #[test]
    fn var_slots_go_to_the_entry_block_even_inside_a_loop() {
        let out = raw_ir("def f(n) for i = 0, i < n in var t = i in t");
        let loop_at = out[0].find("loop:").expect("a loop block");
        let entry = &out[0][..loop_at];
        for slot in ["%n1 = alloca", "%i = alloca", "%t = alloca"] {
            assert!(entry.contains(slot), "{slot} in {}", out[0]);
        }
        assert!(!out[0][loop_at..].contains("alloca"), "{}", out[0]);
    }

    #[test]
    fn assignment_to_an_unknown_variable_is_an_error() {
        assert_eq!(
            ir("def f(x) y = x; def g(x) (var y in y) + y"),
            [
                "error at `y`: unknown variable `y`",
                "error at `y`: unknown variable `y`",
            ]
        );
    }
}

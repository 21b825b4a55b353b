//! Truth values without branches: an `if` whose arms are the numbers 1 and 0 (the
//! tutorial's `!`, `|` and `&` are written so) becomes `uitofp` of its condition.
//! The value is the same double as the branches' phi would give, NaN included; but
//! LLVM 14 folds arithmetic on `uitofp i1` (the product of two `!`s compared with 0
//! becomes one comparison) and never on a `select` of two constants, so inlined
//! operators then cost what C's `&&` and `!` cost.

use inkwell::FloatPredicate;
use inkwell::values::FloatValue;

use super::CodegenError;
use super::generator::Generator;
use crate::frontend::ast::{Expr, ExprKind};

impl<'ctx> Generator<'_, 'ctx> {
    /// Whether `if _ then THEN else ELSE` is a truth value: `Some(true)` for the arms
    /// `1` and `0`, `Some(false)` for `0` and `1` (the tutorial's `!`, `|`, `&`).
    /// Not with `-g`, where each arm keeps its own line for the debugger.
    pub(super) fn boolean(&self, then: &Expr, else_: &Expr) -> Option<bool> {
        let bits = |e: &Expr| match e.kind {
            ExprKind::Number(n) => Some(n.to_bits()),
            _ => None,
        };
        let (one, zero) = (1f64.to_bits(), 0f64.to_bits());
        match (self.debug, bits(then)?, bits(else_)?) {
            (Some(_), _, _) => None,
            (None, t, e) if (t, e) == (one, zero) => Some(true),
            (None, t, e) if (t, e) == (zero, one) => Some(false),
            _ => None,
        }
    }

    /// An `if` whose arms are `1` and `0` (either way round) as `uitofp` of its
    /// condition, without branches. The value is the same double as the branches'
    /// phi; but LLVM 14 folds arithmetic on `uitofp i1` (a product of two `!`s
    /// compared with 0 becomes one comparison) and not on a `select` of two constants.
    pub(super) fn boolean_if(
        &mut self,
        cond: &Expr,
        then: &Expr,
        else_: &Expr,
    ) -> Result<FloatValue<'ctx>, CodegenError> {
        let value = self.expr(cond)?;
        let truth = match self.boolean(then, else_) {
            Some(true) => self.truth(value, "ifcond")?,
            // `ueq` is the negation of `one`, NaN included: NaN is true, so `else`.
            _ => {
                let zero = self.context.f64_type().const_float(0.0);
                self.builder
                    .build_float_compare(FloatPredicate::UEQ, value, zero, "ifnot")?
            }
        };
        let f64 = self.context.f64_type();
        Ok(self
            .builder
            .build_unsigned_int_to_float(truth, f64, "truth")?)
    }
}

#[cfg(test)]
mod tests {
    use crate::codegen::{Compiler, OptLevel, Output, Request};
    use crate::frontend::ast::Item;
    use crate::session::Session;

    /// The IR of the program's last function at `opt`.
    fn ir(text: &str, opt: OptLevel) -> String {
        let items = Session::resolve_program(text).expect("a valid program");
        let f = items
            .iter()
            .rev()
            .find_map(|item| match item {
                Item::Def(f) => Some(f.as_ref()),
                _ => None,
            })
            .expect("a def");
        let compiler = Compiler::host(opt).expect("compiler");
        let ir = compiler.emit(Request::function(f, None).output(Output::Ir));
        String::from_utf8(ir.expect("compiles")).expect("UTF-8")
    }

    #[test]
    fn an_if_of_one_and_zero_is_its_condition_as_a_number() {
        let not = ir("def unary!(v) if v then 0 else 1;", OptLevel::O0);
        assert!(not.contains("fcmp ueq double"), "{not}");
        assert!(not.contains("uitofp i1"), "{not}");
        assert!(!not.contains("br i1"), "no branch: {not}");
        let truth = ir("def t(v) 2 * (if v then 1 else 0);", OptLevel::O0);
        assert!(truth.contains("fcmp one double"), "{truth}");
        assert!(!truth.contains("phi"), "{truth}");
    }

    #[test]
    fn other_arms_keep_their_branches() {
        for text in [
            "def f(v) if v then 1 else 2;",
            "def f(v) if v then 0 else 0;",
            "def f(v) if v then 1 else v;",
            "def f(v) if v then 1 else 0-0;",
        ] {
            let ir = ir(text, OptLevel::O0);
            assert!(ir.contains("br i1"), "{text}: {ir}");
            assert!(!ir.contains("uitofp i1 %ifnot"), "{text}: {ir}");
        }
    }

    #[test]
    fn a_product_of_negations_folds_to_one_comparison() {
        let eq = "def unary!(v) if v then 0 else 1;
                  def eq(a b) !(a < b) * !(b < a);
                  def f(a b) if eq(a, b) then 5 else 7;";
        let functions: Vec<_> = Session::resolve_program(eq)
            .expect("valid")
            .into_iter()
            .filter_map(|item| match item {
                Item::Def(f) => Some((*f).clone()),
                _ => None,
            })
            .collect();
        let compiler = Compiler::host(OptLevel::O2).expect("compiler");
        let request = Request::function(&functions[2], None)
            .inlining(&[&functions[0], &functions[1]])
            .output(Output::Ir);
        let ir = String::from_utf8(compiler.emit(request).expect("compiles")).expect("UTF-8");
        // Tested by `if`, `!(a < b) * !(b < a)` is `a == b`: one ordered comparison
        // (NaN equals nothing), or its negation `une`.
        let compares = ir.matches("fcmp").count();
        assert!(
            compares == 1 && (ir.contains("fcmp oeq") || ir.contains("fcmp une")),
            "{ir}"
        );
        assert!(!ir.contains("fmul"), "{ir}");
    }
}

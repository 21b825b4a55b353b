//! IR generation: one AST function at a time into an LLVM module — its prologue (stack
//! slots, parameters, and at tier 0 the call counter that triggers tier-up), its
//! expressions, and tail position, where a self call becomes a jump. Calls name their
//! callee by symbol; DWARF, when asked for, is recorded through `debug.rs`.

use inkwell::FloatPredicate;
use inkwell::attributes::{Attribute, AttributeLoc};
use inkwell::builder::Builder;
use inkwell::context::Context;
use inkwell::module::{Linkage, Module};
use inkwell::values::{FloatValue, FunctionValue, PointerValue};

use inkwell::debug_info::{AsDIScope, DIFlags, DIFlagsConstants, DIScope};

use super::debug::Debug;
use super::{CodegenError, llvm_version};
use crate::frontend::ast::{BinOp, Binding, Expr, ExprKind, Fixity, Function, OperatorName};
use crate::frontend::source::Span;
use crate::frontend::tail;

// ANCHOR: generator
/// Builds the IR of one function.
pub(super) struct Generator<'a, 'ctx> {
    pub(super) context: &'ctx Context,
    pub(super) module: &'a Module<'ctx>,
    pub(super) builder: Builder<'ctx>,
    /// One stack slot per local (promoted to registers by mem2reg).
    pub(super) slots: Vec<PointerValue<'ctx>>,
    function: Option<FunctionValue<'ctx>>,
    /// DWARF, with `-g`: the builder and the current function's scope.
    pub(super) debug: Option<&'a Debug<'a, 'ctx>>,
    pub(super) scope: Option<DIScope<'ctx>>,
    /// Whether the function counts its calls (tier 0 of the lazy JIT).
    pub(super) counting: bool,
    /// The function being generated and the block its self tail calls jump to.
    recursion: Option<(&'a Function, Option<inkwell::basic_block::BasicBlock<'ctx>>)>,
}

impl<'a, 'ctx> Generator<'a, 'ctx> {
    pub(super) fn new(context: &'ctx Context, module: &'a Module<'ctx>) -> Self {
        Generator {
            context,
            module,
            builder: context.create_builder(),
            slots: Vec::new(),
            function: None,
            debug: None,
            scope: None,
            counting: false,
            recursion: None,
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
        // `nobuiltin` on every callee, C library functions included: LLVM may not fold
        // `sin(1)` at compile time nor rewrite `fmax` as `llvm.maxnum` (which ignores
        // the sign of zero), so a call computes what the interpreter's call computes.
        for attribute in ["nounwind", "nobuiltin"] {
            let kind = Attribute::get_named_enum_kind_id(attribute);
            f.add_attribute(
                AttributeLoc::Function,
                self.context.create_enum_attribute(kind, 0),
            );
        }
        f
    }

    // ANCHOR: function
    pub(super) fn function(
        mut self,
        function: &'a Function,
        name: &str,
    ) -> Result<(), CodegenError> {
        let f = self.declare(name, function.proto.arity());
        // No sibling-call optimization: at -O2 x86 would turn tail calls of other
        // functions into jumps, so mutual recursion would run in constant stack at
        // tier 1 and overflow at tier 0. Only self tail calls loop, at every tier.
        f.add_attribute(
            AttributeLoc::Function,
            self.context
                .create_string_attribute("disable-tail-calls", "true"),
        );
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
        // Self tail calls jump back here, after the prologue: a loop, at every tier.
        let top = match tail::loops_on_itself(function) {
            true => {
                let top = self.context.append_basic_block(f, "tailrecurse");
                self.builder.build_unconditional_branch(top)?;
                self.builder.position_at_end(top);
                Some(top)
            }
            false => None,
        };
        self.recursion = Some((function, top));
        self.locate(function.body.span);
        self.tail(&function.body)
    }

    // ANCHOR_END: function

    /// A call of `name` with `args`, declaring it if needed.
    pub(super) fn call(
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
            .ok_or_else(|| CodegenError::CallWithoutValue {
                callee: name.to_string(),
            })
    }

    pub(super) fn truth(
        &self,
        value: FloatValue<'ctx>,
        name: &str,
    ) -> Result<inkwell::values::IntValue<'ctx>, CodegenError> {
        let zero = self.context.f64_type().const_float(0.0);
        Ok(self
            .builder
            .build_float_compare(FloatPredicate::ONE, value, zero, name)?)
    }

    pub(super) fn expr(&mut self, expr: &Expr) -> Result<FloatValue<'ctx>, CodegenError> {
        self.locate(expr.span);
        let f64 = self.context.f64_type();
        let function = self.function.ok_or(CodegenError::NoInsertPoint {
            what: "no function",
        })?;
        // Each kind emits its own IR: an explicit match, not the visitor (frontend/visit.rs).
        Ok(match &expr.kind {
            ExprKind::Number(n) => f64.const_float(*n),
            ExprKind::Variable { name, slot } => {
                llvm_version::load(&self.builder, f64, self.slots[*slot], name)?.into_float_value()
            }
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
            ExprKind::If { cond, then, else_ } if self.boolean(then, else_).is_some() => {
                self.boolean_if(cond, then, else_)?
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
                let current = llvm_version::load(&self.builder, f64, self.slots[*slot], "var")?
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
                self.bind(bindings, expr.span)?;
                self.expr(body)?
            } // ANCHOR_END: var
        })
    }

    /// Stores each `var` binding's initial value (0.0 without one) in its slot.
    fn bind(&mut self, bindings: &[Binding], span: Span) -> Result<(), CodegenError> {
        for binding in bindings {
            let value = match &binding.init {
                Some(init) => self.expr(init)?,
                None => self.context.f64_type().const_float(0.0),
            };
            self.builder.build_store(self.slots[binding.slot], value)?;
            self.describe(&binding.name, None, binding.slot, span);
        }
        Ok(())
    }

    // ANCHOR: tail
    /// Emits `expr` in tail position: its value is returned, except that a call of the
    /// function itself stores the arguments in the parameters and jumps back to the top
    /// of the body. Doing it here, not leaving it to LLVM's `tailcallelim` (which only
    /// runs at `-O2`), makes self tail recursion a loop in every engine and tier.
    fn tail(&mut self, expr: &Expr) -> Result<(), CodegenError> {
        self.locate(expr.span);
        let (function, top) = self.recursion.ok_or(CodegenError::NoInsertPoint {
            what: "no function",
        })?;
        // Each kind emits its own IR: an explicit match, not the visitor (frontend/visit.rs).
        match &expr.kind {
            ExprKind::If { cond, then, else_ } if self.boolean(then, else_).is_some() => {
                let value = self.boolean_if(cond, then, else_)?;
                self.builder.build_return(Some(&value))?;
                Ok(())
            }
            ExprKind::If { cond, then, else_ } => {
                let f = self.current_function()?;
                let cond = self.expr(cond)?;
                let cond = self.truth(cond, "ifcond")?;
                let then_bb = self.context.append_basic_block(f, "then");
                let else_bb = self.context.append_basic_block(f, "else");
                self.builder
                    .build_conditional_branch(cond, then_bb, else_bb)?;
                self.builder.position_at_end(then_bb);
                self.tail(then)?;
                self.builder.position_at_end(else_bb);
                self.tail(else_)
            }
            ExprKind::Var { bindings, body } => {
                self.bind(bindings, expr.span)?;
                self.tail(body)
            }
            _ => match top.zip(tail::self_call(function, expr)) {
                Some((top, args)) => {
                    let mut values = Vec::with_capacity(args.len());
                    for arg in args {
                        values.push(self.expr(arg)?);
                    }
                    for (slot, value) in values.into_iter().enumerate() {
                        self.builder.build_store(self.slots[slot], value)?;
                    }
                    self.builder.build_unconditional_branch(top)?;
                    Ok(())
                }
                None => {
                    let value = self.expr(expr)?;
                    self.builder.build_return(Some(&value))?;
                    Ok(())
                }
            },
        }
    }
    // ANCHOR_END: tail

    fn current_function(&self) -> Result<FunctionValue<'ctx>, CodegenError> {
        self.function.ok_or(CodegenError::NoInsertPoint {
            what: "no function",
        })
    }

    fn current_block(&self) -> Result<inkwell::basic_block::BasicBlock<'ctx>, CodegenError> {
        self.builder
            .get_insert_block()
            .ok_or(CodegenError::NoInsertPoint {
                what: "builder has no block",
            })
    }
}
// ANCHOR_END: generator

// ANCHOR: head
//! LLVM IR generation with inkwell: one module per item; each variable of a function
//! is a stack slot, which the `mem2reg` pass turns into SSA values.

use std::collections::HashMap;
// ANCHOR: use_rc
use std::rc::Rc;
// ANCHOR_END: use_rc

use inkwell::FloatPredicate;
use inkwell::builder::{Builder, BuilderError};
use inkwell::context::Context;
use inkwell::module::Module;
use inkwell::types::BasicMetadataTypeEnum;
// ANCHOR: use_values
use inkwell::values::{BasicMetadataValueEnum, FloatValue, FunctionValue, PointerValue};
// ANCHOR_END: use_values

use crate::ast::{Expr, Item, Prototype, Span};
// ANCHOR: use_debug
use crate::debug::{self, Debug, Source};
// ANCHOR_END: use_debug
// ANCHOR_END: head

// ANCHOR: mod_control
mod control;
// ANCHOR_END: mod_control
// ANCHOR: mod_vars
mod vars;
// ANCHOR_END: mod_vars

// ANCHOR: error
/// Why an item has no IR.
#[derive(Debug, thiserror::Error)]
pub enum CodegenError {
    // ANCHOR: unknown_variable_doc
    /// A name in a body that is no variable there.
    // ANCHOR_END: unknown_variable_doc
    #[error("unknown variable `{name}`")]
    UnknownVariable {
        /// The name.
        name: String,
        /// Where it is used.
        span: Span,
    },
    /// A call of a function that no earlier `def` or `extern` declared.
    #[error("unknown function `{name}`")]
    UnknownFunction {
        /// The name.
        name: String,
        /// Where the call is.
        span: Span,
    },
    /// A call with the wrong number of arguments, or a `def`/`extern` that gives a
    /// known function another number of parameters.
    #[error("`{name}` takes {expected} argument(s) but {found} were given")]
    Arity {
        /// The function.
        name: String,
        /// How many parameters it has.
        expected: usize,
        /// How many the call passes, or the new prototype declares.
        found: usize,
        /// Where the call or the prototype is.
        span: Span,
    },
    /// LLVM's builder refused an instruction: a bug of this generator.
    #[error("LLVM's builder failed: {0}")]
    Builder(#[from] BuilderError),
    /// LLVM's verifier rejected the function: a bug of this generator.
    #[error("LLVM's verifier rejected `{0}`")]
    Invalid(String),
}

impl CodegenError {
    /// The text the error is about; `None` for a bug of the generator.
    pub fn span(&self) -> Option<Span> {
        match self {
            CodegenError::UnknownVariable { span, .. }
            | CodegenError::UnknownFunction { span, .. }
            | CodegenError::Arity { span, .. } => Some(span.clone()),
            CodegenError::Builder(_) | CodegenError::Invalid(_) => None,
        }
    }
}
// ANCHOR_END: error

// ANCHOR: generator
/// Turns items into LLVM modules. It remembers every function's number of
/// parameters, so that a call in a later item can be checked and declared.
pub struct Generator<'ctx> {
    /// LLVM's context: owns the types and constants of every module made here.
    context: &'ctx Context,
    /// Appends instructions at its position, which `function` sets.
    builder: Builder<'ctx>,
    /// Every function defined or declared so far, and its number of parameters.
    arities: HashMap<String, usize>,
    // ANCHOR: debug_fields
    /// With `-g`: the program's text, which each module's debug information describes.
    source: Option<Rc<Source>>,
    /// With `-g`: the debug information of the function being generated.
    debug: Option<Debug<'ctx>>,
    // ANCHOR_END: debug_fields
}

/// The name of the function a top-level expression becomes, as in LLVM's tutorial.
pub const ANON: &str = "__anon_expr";
// ANCHOR_END: generator

// ANCHOR: item
impl<'ctx> Generator<'ctx> {
    /// A generator whose modules live in `context`.
    pub fn new(context: &'ctx Context) -> Self {
        Generator {
            context,
            builder: context.create_builder(),
            arities: HashMap::new(),
            // ANCHOR: debug_none
            source: None,
            debug: None,
            // ANCHOR_END: debug_none
        }
    }

    // ANCHOR: set_source
    /// Asks for debug information about `source` in each function from now on.
    pub fn set_source(&mut self, source: Rc<Source>) {
        self.source = Some(source);
    }
    // ANCHOR_END: set_source

    /// The module of one item: a function, or an extern's declaration. A failed item
    /// leaves no trace: its module is dropped, and a new name is forgotten again.
    pub fn item(&mut self, item: &Item) -> Result<Module<'ctx>, CodegenError> {
        match item {
            Item::Extern(proto) => {
                let module = self.context.create_module(&proto.name);
                self.remember(proto)?;
                self.declare(&module, &proto.name, proto.params.len());
                Ok(module)
            }
            Item::Def(proto, body) => {
                let module = self.context.create_module(&proto.name);
                let is_new = !self.arities.contains_key(&proto.name);
                // Remembered before the body, so that the body may call itself.
                self.remember(proto)?;
                let result = self.function(&module, proto, body);
                if result.is_err() && is_new {
                    self.arities.remove(&proto.name);
                }
                result.map(|()| module)
            }
            Item::Expr(expr) => {
                let module = self.context.create_module(ANON);
                let proto = Prototype {
                    name: ANON.to_string(),
                    params: Vec::new(),
                    span: 0..0,
                };
                self.function(&module, &proto, expr)?;
                Ok(module)
            }
        }
    }

    /// Records `proto`'s number of parameters; a known name must keep its number.
    fn remember(&mut self, proto: &Prototype) -> Result<(), CodegenError> {
        let found = proto.params.len();
        match self.arities.get(&proto.name) {
            Some(&expected) if expected != found => Err(CodegenError::Arity {
                name: proto.name.clone(),
                expected,
                found,
                span: proto.span.clone(),
            }),
            _ => {
                self.arities.insert(proto.name.clone(), found);
                Ok(())
            }
        }
    }

    // ANCHOR: arity
    /// The number of parameters of `name`, if it is defined or declared.
    pub fn arity(&self, name: &str) -> Option<usize> {
        self.arities.get(name).copied()
    }
    // ANCHOR_END: arity

    // ANCHOR: forget
    /// Forgets `name`'s number of parameters, so that a redefinition may change it;
    /// returns it, for `restore` to put back if the redefinition fails.
    pub fn forget(&mut self, name: &str) -> Option<usize> {
        self.arities.remove(name)
    }

    /// Puts back a number of parameters that `forget` returned.
    pub fn restore(&mut self, name: &str, arity: Option<usize>) {
        if let Some(arity) = arity {
            self.arities.insert(name.to_string(), arity);
        }
    }
    // ANCHOR_END: forget
    // ANCHOR_END: item

    // ANCHOR: declare
    /// `name` in `module` as a function of `arity` doubles returning a double,
    /// declared (without a body) if the module does not have it yet.
    fn declare(&self, module: &Module<'ctx>, name: &str, arity: usize) -> FunctionValue<'ctx> {
        if let Some(function) = module.get_function(name) {
            return function;
        }
        let f64 = self.context.f64_type();
        let params: Vec<BasicMetadataTypeEnum> = vec![f64.into(); arity];
        module.add_function(name, f64.fn_type(&params, false), None)
    }
    // ANCHOR_END: declare

    // ANCHOR: function
    /// Defines `proto` in `module`: an entry block that stores each parameter in a
    /// stack slot of its own, then computes `body` and returns it.
    fn function(
        &mut self,
        module: &Module<'ctx>,
        proto: &Prototype,
        body: &Expr,
    ) -> Result<(), CodegenError> {
        let function = self.declare(module, &proto.name, proto.params.len());
        let entry = self.context.append_basic_block(function, "entry");
        self.builder.position_at_end(entry);
        // ANCHOR: debug_function
        // The builder still has the last function's location: never carry it over.
        self.builder.unset_current_debug_location();
        self.debug = None;
        if let Some(source) = &self.source {
            let debug = Debug::new(module, source.clone());
            // A top-level expression starts where its text does, a `def` at its name.
            let offset = match proto.name.as_str() {
                ANON => debug::start(body).unwrap_or(0),
                _ => proto.span.start,
            };
            // No location yet: storing the parameters is the prologue, before the
            // body's first line, where a debugger stops when it enters the function.
            debug.function(function, &proto.name, offset);
            self.debug = Some(debug);
        }
        // ANCHOR_END: debug_function
        // ANCHOR: param_slots
        let mut params = Vec::new();
        for (value, name) in function.get_param_iter().zip(&proto.params) {
            // Names only make the printed IR readable: `%a` instead of `%0`.
            value.set_name(name);
            // A parameter may be assigned: it lives in a slot, like every variable.
            let slot = self.entry_alloca(name)?;
            self.builder.build_store(slot, value)?;
            // ANCHOR: debug_param
            if let Some(debug) = &self.debug {
                let arg = params.len() as u32 + 1;
                debug.variable(&self.builder, name, Some(arg), slot);
            }
            // ANCHOR_END: debug_param
            params.push((name.as_str(), slot));
        }
        // ANCHOR_END: param_slots
        let value = self.expr(module, body, &params)?;
        self.builder.build_return(Some(&value))?;
        // ANCHOR: debug_finalize
        if let Some(debug) = self.debug.take() {
            debug.finalize();
        }
        // ANCHOR_END: debug_finalize
        if !function.verify(false) {
            return Err(CodegenError::Invalid(proto.name.clone()));
        }
        Ok(())
    }
    // ANCHOR_END: function

    // ANCHOR: expr_head
    /// Appends the instructions that compute `expr` at the builder's position, and
    /// returns the value that holds the result. `params` are the variables in scope
    /// (parameters, loop and `var` variables), each a stack slot, innermost last.
    fn expr(
        &self,
        module: &Module<'ctx>,
        expr: &Expr,
        params: &[(&str, PointerValue<'ctx>)],
    ) -> Result<FloatValue<'ctx>, CodegenError> {
        let f64 = self.context.f64_type();
        // ANCHOR: debug_locate
        if let (Some(debug), Some(offset)) = (&self.debug, debug::start(expr)) {
            debug.locate(&self.builder, offset);
        }
        // ANCHOR_END: debug_locate
        match expr {
            // ANCHOR_END: expr_head
            // ANCHOR: number
            Expr::Number(n) => Ok(f64.const_float(*n)),
            // ANCHOR_END: number
            // ANCHOR: variable
            // A variable's value is what its slot holds now: a load.
            Expr::Variable(name, span) => {
                let slot = self.slot(params, name, span)?;
                Ok(self.builder.build_load(slot, name)?.into_float_value())
            }
            // ANCHOR_END: variable
            // ANCHOR: binary
            Expr::Binary(op, lhs, rhs) => {
                let l = self.expr(module, lhs, params)?;
                let r = self.expr(module, rhs, params)?;
                let b = &self.builder;
                Ok(match op {
                    '+' => b.build_float_add(l, r, "add")?,
                    '-' => b.build_float_sub(l, r, "sub")?,
                    '*' => b.build_float_mul(l, r, "mul")?,
                    '<' => {
                        // `ult`, not `olt`: true when an operand is NaN, as in
                        // LLVM's tutorial and our interpreter.
                        let lt = b.build_float_compare(FloatPredicate::ULT, l, r, "lt")?;
                        b.build_unsigned_int_to_float(lt, f64, "bool")?
                    }
                    _ => unreachable!("the parser accepts only + - * <, not {op}"),
                })
            }
            // ANCHOR_END: binary
            // ANCHOR: control_arms
            Expr::If(cond, yes, no) => self.if_expr(module, [cond, yes, no], params),
            Expr::For(l) => self.for_expr(module, l, params),
            // ANCHOR_END: control_arms
            // ANCHOR: mutation_arms
            Expr::Assign(name, span, value) => self.assign(module, name, span, value, params),
            Expr::Var(bindings, body) => self.var(module, bindings, body, params),
            // ANCHOR_END: mutation_arms
            // ANCHOR: call
            Expr::Call(callee, args, span) => {
                let Some(&expected) = self.arities.get(callee) else {
                    let (name, span) = (callee.clone(), span.clone());
                    return Err(CodegenError::UnknownFunction { name, span });
                };
                if expected != args.len() {
                    return Err(CodegenError::Arity {
                        name: callee.clone(),
                        expected,
                        found: args.len(),
                        span: span.clone(),
                    });
                }
                let mut values: Vec<BasicMetadataValueEnum> = Vec::new();
                for arg in args {
                    values.push(self.expr(module, arg, params)?.into());
                }
                // Every callee is declared in this item's module: calls leave it.
                let function = self.declare(module, callee, expected);
                let call = self.builder.build_call(function, &values, "call")?;
                let value = call.try_as_basic_value().basic();
                Ok(value
                    .expect("our functions return a double")
                    .into_float_value())
            }
        }
    }
}
// ANCHOR_END: call

// ANCHOR: tests
#[cfg(test)]
mod tests {
    // ANCHOR: test_uses
    use inkwell::passes::PassBuilderOptions;
    use inkwell::targets::{InitializationConfig, Target};
    use inkwell::values::AnyValue;
    // ANCHOR_END: test_uses

    use super::*;
    use crate::lexer::lex;
    use crate::parser::parse;

    // ANCHOR: ir_helpers
    /// Each item's function as LLVM prints it once `mem2reg` has promoted its slots
    /// (the SSA form that the tests of chapters 5 to 7 expect), or its error with
    /// the text it is about.
    pub(super) fn ir(text: &str) -> Vec<String> {
        functions(text, true)
    }

    /// The same, as the generator makes it: every variable a stack slot.
    pub(super) fn raw_ir(text: &str) -> Vec<String> {
        functions(text, false)
    }

    /// Each item's function, promoted or not, or its error.
    fn functions(text: &str, promote: bool) -> Vec<String> {
        // ANCHOR_END: ir_helpers
        let context = Context::create();
        let mut generator = Generator::new(&context);
        let mut out = Vec::new();
        for item in parse(text, &lex(text)) {
            let item = item.expect("the tests' programs parse");
            let name = match &item {
                Item::Def(proto, _) | Item::Extern(proto) => proto.name.clone(),
                Item::Expr(_) => ANON.to_string(),
            };
            out.push(match generator.item(&item) {
                Ok(module) => {
                    // ANCHOR: promote
                    if promote {
                        Target::initialize_native(&InitializationConfig::default()).unwrap();
                        let machine = crate::passes::host_machine().unwrap();
                        let options = PassBuilderOptions::create();
                        module
                            .run_passes("function(mem2reg)", &machine, options)
                            .unwrap();
                    }
                    // ANCHOR_END: promote
                    let function = module.get_function(&name).expect("defined");
                    function.print_to_string().to_string()
                }
                Err(err) => match err.span() {
                    Some(span) => format!("error at `{}`: {err}", &text[span]),
                    None => format!("error: {err}"),
                },
            });
        }
        out
    }

    #[test]
    fn arithmetic_is_ssa_on_the_parameters() {
        let out = ir("def f(a b) a * b + 2");
        assert!(
            out[0].contains("define double @f(double %a, double %b)"),
            "{}",
            out[0]
        );
        assert!(out[0].contains("%mul = fmul double %a, %b"), "{}", out[0]);
        assert!(
            out[0].contains("%add = fadd double %mul, 2.000000e+00"),
            "{}",
            out[0]
        );
        assert!(!out[0].contains("alloca"), "{}", out[0]);
    }

    #[test]
    fn less_than_is_fcmp_ult_then_uitofp() {
        let out = ir("def lt(a b) a < b");
        assert!(
            out[0].contains("%lt = fcmp ult double %a, %b"),
            "{}",
            out[0]
        );
        assert!(
            out[0].contains("%bool = uitofp i1 %lt to double"),
            "{}",
            out[0]
        );
    }

    #[test]
    fn calls_declare_their_callee_in_the_module() {
        let out = ir("extern sin(x); def f(x) sin(x) + f(x); f(1)");
        assert_eq!(out[0].trim(), "declare double @sin(double)");
        assert!(
            out[1].contains("%call = call double @sin(double %x)"),
            "{}",
            out[1]
        );
        assert!(out[1].contains("call double @f(double %x)"), "{}", out[1]);
        assert!(
            out[2].contains("define double @__anon_expr()"),
            "{}",
            out[2]
        );
        assert!(
            out[2].contains("call double @f(double 1.000000e+00)"),
            "{}",
            out[2]
        );
    }

    #[test]
    fn errors_point_at_what_is_wrong() {
        assert_eq!(
            ir("def f(x) y; def g(x) h(x); def k(x) x; k(1, 2); def k(a b) a; k(3)"),
            [
                "error at `y`: unknown variable `y`",
                "error at `h(x)`: unknown function `h`",
                "define double @k(double %x) {\nentry:\n  ret double %x\n}\n",
                "error at `k(1, 2)`: `k` takes 1 argument(s) but 2 were given",
                "error at `k`: `k` takes 1 argument(s) but 2 were given",
                "define double @__anon_expr() {\nentry:\n  %call = call double @k(double 3.000000e+00)\n  ret double %call\n}\n",
            ]
        );
    }

    #[test]
    fn a_failed_definition_is_forgotten() {
        // `f` fails, so a later call of `f` is an unknown function, not a dangling
        // declaration of a function that never got a body.
        assert_eq!(
            ir("def f(x) y; f(1)"),
            [
                "error at `y`: unknown variable `y`",
                "error at `f(1)`: unknown function `f`",
            ]
        );
    }
}
// ANCHOR_END: tests

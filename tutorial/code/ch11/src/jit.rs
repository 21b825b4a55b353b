// ANCHOR: head
//! The eager JIT: each item's module is optimized, handed to LLVM's MCJIT, and a
//! top-level expression is compiled to machine code and called at once.

use std::collections::HashSet;

use inkwell::OptimizationLevel;
use inkwell::context::Context;
use inkwell::execution_engine::ExecutionEngine;
use inkwell::targets::{InitializationConfig, Target, TargetMachine};

use crate::ast::{Item, Span};
use crate::codegen::{ANON, CodegenError, Generator};
use crate::{natives, passes};
// ANCHOR_END: head

// ANCHOR: error
/// Why an item cannot be compiled or run.
#[derive(Debug, thiserror::Error)]
pub enum JitError {
    /// The item has no IR.
    #[error(transparent)]
    Codegen(#[from] CodegenError),
    /// An `extern` of a function the host does not provide.
    #[error("no external function `{name}`: the JIT maps only the interpreter's natives")]
    UnknownExtern {
        /// The name.
        name: String,
        /// The prototype.
        span: Span,
    },
    /// An `extern` whose parameters do not match the native function's.
    #[error("extern `{name}` declares {found} parameter(s), but `{name}` takes {expected}")]
    ExternArity {
        /// The native.
        name: String,
        /// How many parameters it takes.
        expected: usize,
        /// How many the `extern` declares.
        found: usize,
        /// The prototype.
        span: Span,
    },
    /// A second `def` of a name: MCJIT would keep running the first one.
    #[error("`{name}` is already defined: this JIT cannot replace a function")]
    Redefinition {
        /// The name.
        name: String,
        /// The new prototype.
        span: Span,
    },
    /// LLVM rejected the pass pipeline: a bug of this JIT.
    #[error("LLVM's passes failed: {0}")]
    Passes(String),
    /// LLVM could not make the execution engine or find the compiled expression.
    #[error("LLVM's JIT failed: {0}")]
    Engine(String),
}

impl JitError {
    /// The text the error is about; `None` when it is not the program's fault.
    pub fn span(&self) -> Option<Span> {
        match self {
            JitError::Codegen(err) => err.span(),
            JitError::UnknownExtern { span, .. }
            | JitError::ExternArity { span, .. }
            | JitError::Redefinition { span, .. } => Some(span.clone()),
            JitError::Passes(_) | JitError::Engine(_) => None,
        }
    }
}
// ANCHOR_END: error

// ANCHOR: jit
/// Compiles and runs items one by one, in one MCJIT execution engine.
pub struct Jit<'ctx> {
    /// Makes each item's module.
    generator: Generator<'ctx>,
    /// MCJIT: owns the modules added to it and the machine code made from them.
    engine: ExecutionEngine<'ctx>,
    /// The names of the functions defined so far.
    defined: HashSet<String>,
    /// The host's CPU for the passes; `None` when this JIT does not optimize.
    machine: Option<TargetMachine>,
    /// How many expressions have run: each gets a name of its own.
    expressions: usize,
}
// ANCHOR_END: jit

// ANCHOR: new
impl<'ctx> Jit<'ctx> {
    /// A JIT for the host's CPU whose modules live in `context`.
    pub fn new(context: &'ctx Context, optimize: bool) -> Result<Self, JitError> {
        // The host as LLVM sees it: the engine and the passes both need it (inkwell
        // would register it when making the engine; the passes should not rely on that).
        Target::initialize_native(&InitializationConfig::default()).map_err(JitError::Engine)?;
        // The engine is made from a module; an empty one, since items come later.
        let engine = context
            .create_module("jit")
            .create_jit_execution_engine(OptimizationLevel::Default)
            .map_err(|err| JitError::Engine(err.to_string()))?;
        let machine = match optimize {
            true => Some(passes::host_machine().map_err(JitError::Engine)?),
            false => None,
        };
        Ok(Jit {
            generator: Generator::new(context),
            engine,
            defined: HashSet::new(),
            machine,
            expressions: 0,
        })
    }
    // ANCHOR_END: new

    // ANCHOR: ir
    /// The IR of one item, optimized if this JIT optimizes, without running it.
    pub fn ir(&mut self, item: &Item) -> Result<String, JitError> {
        let module = self.generator.item(item)?;
        self.optimize(&module)?;
        Ok(module.print_to_string().to_string())
    }
    // ANCHOR_END: ir

    // ANCHOR: item
    /// Compiles one item; runs it if it is an expression, and returns its value.
    pub fn item(&mut self, item: &Item) -> Result<Option<f64>, JitError> {
        // Checked before the generator remembers the name.
        match item {
            Item::Extern(proto) => {
                self.native(&proto.name, proto.params.len(), &proto.span)?;
            }
            Item::Def(proto, _) if self.defined.contains(&proto.name) => {
                let (name, span) = (proto.name.clone(), proto.span.clone());
                return Err(JitError::Redefinition { name, span });
            }
            _ => {}
        }
        let module = self.generator.item(item)?;
        self.optimize(&module)?;
        match item {
            Item::Extern(proto) => {
                let (_, address) = self.native(&proto.name, proto.params.len(), &proto.span)?;
                let function = module.get_function(&proto.name).expect("declared");
                // By name: every module's declaration of it now resolves here.
                self.engine.add_global_mapping(&function, address);
                Ok(None)
            }
            Item::Def(proto, _) => {
                // No machine code yet: MCJIT compiles the module when a symbol of
                // it is first looked up, by us or by its linker.
                self.add(&module)?;
                self.defined.insert(proto.name.clone());
                Ok(None)
            }
            Item::Expr(_) => {
                // A name of its own: MCJIT's linker remembers every symbol it has
                // seen, so a second `__anon_expr` would find the first one's code.
                let name = format!("{ANON}.{}", self.expressions);
                self.expressions += 1;
                let function = module.get_function(ANON).expect("defined");
                function.as_global_value().set_name(&name);
                self.add(&module)?;
                // SAFETY: the generator made `name` a function of no parameters
                // that returns a double, which is the type given here.
                let value = unsafe {
                    self.engine
                        .get_function::<unsafe extern "C" fn() -> f64>(&name)
                        .map_err(|err| JitError::Engine(err.to_string()))?
                        .call()
                };
                // Its IR is not needed any more (its machine code stays in memory).
                self.engine
                    .remove_module(&module)
                    .map_err(|err| JitError::Engine(err.to_string()))?;
                Ok(Some(value))
            }
        }
    }

    /// Runs the passes on `module`, if this JIT optimizes.
    fn optimize(&self, module: &inkwell::module::Module<'ctx>) -> Result<(), JitError> {
        match &self.machine {
            Some(machine) => passes::optimize(module, machine).map_err(JitError::Passes),
            None => Ok(()),
        }
    }

    /// Hands `module` to the engine.
    fn add(&self, module: &inkwell::module::Module<'ctx>) -> Result<(), JitError> {
        self.engine
            .add_module(module)
            .map_err(|()| JitError::Engine("the module is already in an engine".into()))
    }

    /// The native an `extern` declares: its arity and address.
    fn native(&self, name: &str, found: usize, span: &Span) -> Result<natives::Native, JitError> {
        let (name, span) = (name.to_string(), span.clone());
        match natives::lookup(&name) {
            None => Err(JitError::UnknownExtern { name, span }),
            Some((expected, _)) if expected != found => Err(JitError::ExternArity {
                name,
                expected,
                found,
                span,
            }),
            Some(native) => Ok(native),
        }
    }
}
// ANCHOR_END: item

// ANCHOR: tests
#[cfg(test)]
mod tests {
    use super::*;
    use crate::interp::Interpreter;
    use crate::lexer::lex;
    use crate::natives;
    use crate::parser::parse;

    /// Each item's outcome as the JIT gives it (a value, nothing, or an error), and
    /// what the natives wrote.
    fn jit_output(text: &str, optimize: bool) -> (Vec<Result<Option<f64>, String>>, Vec<u8>) {
        let context = Context::create();
        let mut jit = Jit::new(&context, optimize).expect("LLVM's JIT works here");
        let items = parse(text, &lex(text)).into_iter();
        let items = items.map(|item| item.expect("the tests' programs parse"));
        natives::capture(|| {
            items
                .map(|item| jit.item(&item).map_err(|err| err.to_string()))
                .collect()
        })
    }

    /// Each item's outcome as the JIT gives it.
    fn jit(text: &str, optimize: bool) -> Vec<Result<Option<f64>, String>> {
        jit_output(text, optimize).0
    }

    /// The expressions' values as the interpreter, the oracle, computes them, and
    /// what the program wrote.
    fn oracle(text: &str) -> (Vec<f64>, Vec<u8>) {
        let mut interpreter = Interpreter::new(Vec::new());
        let mut values = Vec::new();
        for item in parse(text, &lex(text)) {
            match item.expect("the tests' programs parse") {
                Item::Def(proto, body) => interpreter.define(proto, body).unwrap(),
                Item::Extern(proto) => interpreter.declare(&proto).unwrap(),
                Item::Expr(expr) => values.push(interpreter.evaluate(&expr).unwrap()),
            }
        }
        (values, interpreter.into_output())
    }

    /// Programs whose every item compiles; their expressions cover the operators,
    /// calls between items, the math natives and NaN.
    const PROGRAMS: &[&str] = &[
        "1 + 2 * 3 - 4; 2 < 3; 3 < 2; 1 - 2 - 3",
        "def test(x) (1+2+x)*(x+(1+2)); test(4); test(0-3); test(0.5)",
        "def sq(x) x * x; def hyp(a b) sq(a) + sq(b); hyp(3, 4); hyp(sq(2), 1)",
        "extern sin(x); extern cos(x); def one(x) sin(x)*sin(x) + cos(x)*cos(x); one(0.7)",
        "extern pow(x y); extern atan2(y x); extern sqrt(x); pow(2, 0.5) - sqrt(2); atan2(1, 1)",
        "extern log(x); extern exp(x); extern floor(x); extern fabs(x); floor(exp(log(7.5)) + fabs(0-2))",
        "extern sqrt(x); def nan() sqrt(0-1); nan() < 1; 1 < nan(); nan()",
        "def f(x y z) x * (y - z) + x * y - x * z; f(1.5, 2.25, 0-3)",
        "extern printd(x); extern putchard(c); printd(1.25 * 3 - 0.5); putchard(79) + putchard(75)",
        // ANCHOR: programs_control
        "def fib(n) if n < 3 then 1 else fib(n-1) + fib(n-2); fib(1); fib(20)",
        "extern sqrt(x); if sqrt(0-1) then 1 else 2; if 0 then 1 else 2; if 0-0 then 1 else 2",
        "def sum(n) (for i = 1, i < n in 0) + n; sum(3); def sgn(x) if x < 0 then 0-1 else if 0 < x then 1 else 0; sgn(0-4) + 10 * sgn(4) + 100 * sgn(0)",
        "def id(x) x; def tri(n) for i = 0, i < n in for j = 0, j < i in id(j); tri(4)",
        "def f(i) (for i = 10, i < 20, i in 0) + i; f(5)",
        "extern printd(x); def f(n) for i = 0, i < n in for j = 0, j < i in printd(10*i + j); f(3); for i = 7, 0 in printd(i)",
        // ANCHOR_END: programs_control
        // ANCHOR: programs_operators
        "def unary!(v) if v then 0 else 1; def unary-(v) 0 - v; !0; !3; -(2 + 3); 1 - -2",
        "def binary| 5 (a b) if a then 1 else if b then 1 else 0; def binary> 10 (a b) b < a; 1 + 2 | 0; 0 | 0; 3 > 2 | 0",
        "extern printd(x); def binary : 1 (x y) y; printd(1) : printd(2) : 3",
        "def binary% 60 (a b) if a < b then a else (a - b) % b; 1 + 10 % 3; 7.5 % 2",
        include_str!("../examples/mandel.ks"),
        // ANCHOR_END: programs_operators
        // ANCHOR: programs_mutation
        include_str!("../examples/fibi.ks"),
        "def f(x) (x = x + 1) * 10 + x; f(1); def g(a b) a = (b = 3) + a; g(1, 2)",
        "def f(x) (var x = x + 1 in x * 10) + x; f(5); var a = 1, b = a + 1, c in a * 100 + b * 10 + c",
        "extern printd(x); def binary : 1 (x y) y; def f() for i = 0, i < 5 in printd(i) : (i = i * 2); f()",
        "def binary : 1 (x y) y; def tri(n) var s in (for i = 1, i < n in s = s + i) : s; tri(100)",
        "def binary : 1 (x y) y; def f(n) var i = 0 in (for j = 0, (i = i + 1) < n in 0) : i; f(7); f(0)",
        "def binary : 1 (x y) y; def g(n) var k in (for j = 0, (j = j + 1) < n in k = k + 1) : k; g(10)",
        // ANCHOR_END: programs_mutation
    ];

    #[test]
    fn agrees_with_the_interpreter() {
        for program in PROGRAMS {
            let (expected, expected_output) = oracle(program);
            for optimize in [false, true] {
                let (outcomes, output) = jit_output(program, optimize);
                let values: Vec<f64> = outcomes
                    .into_iter()
                    .filter_map(|outcome| outcome.expect("every item compiles"))
                    .collect();
                // Compared bit for bit, as `printf` would show them: NaN included.
                let bits = |values: &[f64]| values.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                let (found, wanted) = (bits(&values), bits(&expected));
                let nan = |v: &u64| f64::from_bits(*v).is_nan();
                let same = found.len() == wanted.len()
                    && found
                        .iter()
                        .zip(&wanted)
                        .all(|(a, b)| a == b || (nan(a) && nan(b)));
                assert!(
                    same,
                    "{program} (optimized: {optimize}): {values:?} vs {expected:?}"
                );
                assert_eq!(
                    String::from_utf8_lossy(&output),
                    String::from_utf8_lossy(&expected_output),
                    "{program} (optimized: {optimize}): the output"
                );
            }
        }
    }

    #[test]
    fn each_expression_runs_its_own_code() {
        assert_eq!(
            jit("1 + 1; 2 + 2; 3 + 3", true),
            [Ok(Some(2.0)), Ok(Some(4.0)), Ok(Some(6.0))]
        );
    }

    #[test]
    fn a_redefinition_is_refused_and_the_first_stays() {
        assert_eq!(
            jit("def f(x) x * 2; def f(x) x * 3; f(3)", true),
            [
                Ok(None),
                Err("`f` is already defined: this JIT cannot replace a function".into()),
                Ok(Some(6.0)),
            ]
        );
    }

    #[test]
    fn externs_must_be_natives() {
        assert_eq!(
            jit(
                "extern foo(x); extern sin(a b); extern sin(x); sin(0)",
                true
            ),
            [
                Err(
                    "no external function `foo`: the JIT maps only the interpreter's natives"
                        .into()
                ),
                Err("extern `sin` declares 2 parameter(s), but `sin` takes 1".into()),
                Ok(None),
                Ok(Some(0.0)),
            ]
        );
    }

    #[test]
    fn a_failed_item_leaves_no_trace() {
        assert_eq!(
            jit("def f(x) y; def f(x) x + 1; f(1)", true),
            [Err("unknown variable `y`".into()), Ok(None), Ok(Some(2.0)),]
        );
    }

    // ANCHOR: stack_test
    #[test]
    fn a_var_in_a_loop_takes_no_stack_per_iteration() {
        // Unoptimized, so no pass can tidy up: a slot made in the loop block would
        // take 8 more bytes of stack at each of the million runs of the body, far
        // more than a test thread's 2 MiB.
        let program = "def f(n) for i = 0, i < n in var t = i in t; f(1000000)";
        assert_eq!(jit(program, false), [Ok(None), Ok(Some(0.0))]);
    }
    // ANCHOR_END: stack_test
}
// ANCHOR_END: tests

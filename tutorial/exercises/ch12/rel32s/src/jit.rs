// ANCHOR: head
//! The eager JIT: each item's module is optimized, compiled to an object in memory
//! and loaded by our own linker; a top-level expression is then called at once.

use std::collections::HashMap;

use inkwell::context::Context;
use inkwell::targets::{InitializationConfig, Target, TargetMachine};

use crate::ast::{Item, Span};
use crate::codegen::{ANON, CodegenError, Generator};
use crate::linker::{self, LinkError, Linked};
use crate::{emit, natives, passes};
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
    // ANCHOR: redefinition
    /// A new `def` of a name that a linked function calls: that call would keep
    /// going to the old code.
    #[error(
        "`{name}` cannot be redefined: `{caller}` calls it, and would keep calling the old `{name}`"
    )]
    Redefinition {
        /// The name.
        name: String,
        /// A function that calls it.
        caller: String,
        /// The new prototype.
        span: Span,
    },
    /// Our linker could not load the item's object.
    #[error(transparent)]
    Link(#[from] LinkError),
    // ANCHOR_END: redefinition
    /// LLVM rejected the pass pipeline: a bug of this JIT.
    #[error("LLVM's passes failed: {0}")]
    Passes(String),
    /// LLVM could not make the target machine or the object.
    #[error("LLVM's code generator failed: {0}")]
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
            JitError::Passes(_) | JitError::Engine(_) | JitError::Link(_) => None,
        }
    }
}
// ANCHOR_END: error

// ANCHOR: jit
/// Compiles and runs items one by one, linking each with our own linker.
pub struct Jit<'ctx> {
    /// Makes each item's module.
    generator: Generator<'ctx>,
    /// The host's CPU for the passes; `None` when this JIT does not optimize.
    machine: Option<TargetMachine>,
    // ANCHOR: fields
    /// The host's CPU for the code generator, with the code shape the linker expects.
    target: TargetMachine,
    /// Each defined function's object, loaded: its code lives as long as it does.
    functions: HashMap<String, Linked>,
    // ANCHOR_END: fields
}
// ANCHOR_END: jit

// ANCHOR: new
impl<'ctx> Jit<'ctx> {
    /// A JIT for the host's CPU whose modules live in `context`.
    pub fn new(context: &'ctx Context, optimize: bool) -> Result<Self, JitError> {
        // The host as LLVM sees it: the code generator and the passes both need it.
        Target::initialize_native(&InitializationConfig::default()).map_err(JitError::Engine)?;
        let target = emit::jit_machine().map_err(JitError::Engine)?;
        let machine = match optimize {
            true => Some(passes::host_machine().map_err(JitError::Engine)?),
            false => None,
        };
        Ok(Jit {
            generator: Generator::new(context),
            machine,
            target,
            functions: HashMap::new(),
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
            Item::Def(proto, _) => self.may_redefine(&proto.name, &proto.span)?,
            _ => {}
        }
        let module = self.generator.item(item)?;
        self.optimize(&module)?;
        match item {
            // The linker finds a native by its name: nothing to do until a call.
            Item::Extern(_) => Ok(None),
            Item::Def(proto, _) => {
                let linked = self.link(&module)?;
                // Later items resolve the name to the new code. The old code, if
                // any, is called by nobody now: dropping it unmaps it.
                self.functions.insert(proto.name.clone(), linked);
                Ok(None)
            }
            Item::Expr(_) => {
                let linked = self.link(&module)?;
                // SAFETY: the generator made `ANON` a function of no parameters that
                // returns a double, and the linker made its memory executable.
                let value = unsafe {
                    let address = linked.symbols[ANON];
                    let function: unsafe extern "C" fn() -> f64 = std::mem::transmute(address);
                    function()
                };
                // `linked` is dropped here: the expression's code is unmapped.
                Ok(Some(value))
            }
        }
    }
    // ANCHOR_END: item

    /// Runs the passes on `module`, if this JIT optimizes.
    fn optimize(&self, module: &inkwell::module::Module<'ctx>) -> Result<(), JitError> {
        match &self.machine {
            Some(machine) => passes::optimize(module, machine).map_err(JitError::Passes),
            None => Ok(()),
        }
    }

    // ANCHOR: link
    /// Compiles `module` to an object and links it: a name resolves to the function
    /// last defined under it, or else to the native of that name.
    fn link(&self, module: &inkwell::module::Module<'ctx>) -> Result<Linked, JitError> {
        let object = emit::object(module, &self.target).map_err(JitError::Engine)?;
        let resolve = |name: &str| match self.functions.get(name) {
            Some(linked) => linked.symbols.get(name).copied(),
            None => natives::lookup(name).map(|(_, address)| address),
        };
        Ok(linker::link(&object, &resolve)?)
    }

    /// Refuses a new `def` of `name` if another linked function calls it (a function
    /// that calls itself is replaced with its calls).
    fn may_redefine(&self, name: &str, span: &Span) -> Result<(), JitError> {
        let callers = self.functions.iter().filter(|(caller, linked)| {
            *caller != name && linked.imports.iter().any(|import| import == name)
        });
        match callers.map(|(caller, _)| caller).min() {
            Some(caller) => Err(JitError::Redefinition {
                name: name.to_string(),
                caller: caller.clone(),
                span: span.clone(),
            }),
            None => Ok(()),
        }
    }
    // ANCHOR_END: link

    // ANCHOR: native
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
// ANCHOR_END: native

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
        // ANCHOR: programs_linker
        "def f(x) x * 2; f(3); def f(x) x * 3; f(3); def g(x) f(x) + 1; g(1)",
        "def f(n) if n < 1 then 0 else f(n-1) + 1; f(3); def f(n) if n < 1 then 0 else f(n-1) + 2; f(3)",
        // ANCHOR_END: programs_linker
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

    // ANCHOR: test_redefinition
    #[test]
    fn a_redefinition_applies_to_later_items() {
        assert_eq!(
            jit("def f(x) x * 2; f(3); def f(x) x * 3; f(3)", true),
            [Ok(None), Ok(Some(6.0)), Ok(None), Ok(Some(9.0))]
        );
    }

    #[test]
    fn a_function_with_a_linked_caller_cannot_be_redefined() {
        assert_eq!(
            jit(
                "def f(x) x * 2; def g(x) f(x); def f(x) x * 3; g(3); f(3)",
                true
            ),
            [
                Ok(None),
                Ok(None),
                Err(
                    "`f` cannot be redefined: `g` calls it, and would keep calling the old `f`"
                        .into()
                ),
                Ok(Some(6.0)),
                Ok(Some(6.0)),
            ]
        );
    }
    // ANCHOR_END: test_redefinition

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
}
// ANCHOR_END: tests

// ANCHOR: head
//! The reference interpreter: evaluates the AST directly, with the tutorial's semantics.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::io::Write;
use std::rc::Rc;

use crate::ast::{Expr, Prototype, Span};
// ANCHOR_END: head

// ANCHOR: mod_control
mod control;
// ANCHOR_END: mod_control
// ANCHOR: mod_scope
mod scope;

use scope::Scope;
// ANCHOR_END: mod_scope

// ANCHOR: error
/// Why an item cannot be run.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    // ANCHOR: unknown_variable_doc
    /// A name in a body that is no variable there.
    // ANCHOR_END: unknown_variable_doc
    #[error("unknown variable `{0}`")]
    UnknownVariable(String),
    /// A call of a name that is neither defined nor declared with `extern`.
    #[error("unknown function `{0}`")]
    UnknownFunction(String),
    /// A call with the wrong number of arguments.
    #[error("`{name}` takes {expected} argument(s) but {found} were given")]
    Arity {
        /// The function called.
        name: String,
        /// How many parameters it has.
        expected: usize,
        /// How many arguments the call passes.
        found: usize,
    },
    /// An `extern` of a function the native table does not have.
    #[error("no external function `{0}`: the interpreter knows {NATIVE_NAMES}")]
    UnknownExtern(String),
    /// An `extern` whose parameters do not match the native function's.
    #[error("extern `{name}` declares {found} parameter(s), but `{name}` takes {expected}")]
    ExternArity {
        /// The native function.
        name: String,
        /// How many parameters it takes.
        expected: usize,
        /// How many the `extern` declares.
        found: usize,
    },
    /// Calls nested deeper than `MAX_DEPTH`: almost surely endless recursion.
    #[error("stack overflow: more than {MAX_DEPTH} nested calls")]
    StackOverflow,
    /// `printd` or `putchard` could not write.
    #[error("cannot write the program's output: {0}")]
    Output(#[from] std::io::Error),
}

/// A run-time error and the text it is about.
pub type Located = (RuntimeError, Span);
// ANCHOR_END: error

// ANCHOR: natives
/// A function of the host that `extern` may declare.
#[derive(Clone, Copy, Debug)]
enum Native {
    /// `putchard(c)`: writes the byte `c`, returns 0.
    Putchard,
    /// `printd(x)`: writes `x` as C's `%f` and a newline, returns 0.
    Printd,
    /// A math function of one argument.
    Unary(fn(f64) -> f64),
    /// A math function of two arguments.
    Binary(fn(f64, f64) -> f64),
}

impl Native {
    /// How many arguments it takes.
    fn arity(self) -> usize {
        match self {
            Native::Binary(_) => 2,
            _ => 1,
        }
    }
}

/// The natives, by name. Rust's `f64` methods call the C math library's functions
/// of the same name, so a program computes what compiled code calling libm computes.
const NATIVES: &[(&str, Native)] = &[
    ("putchard", Native::Putchard),
    ("printd", Native::Printd),
    ("sin", Native::Unary(f64::sin)),
    ("cos", Native::Unary(f64::cos)),
    ("tan", Native::Unary(f64::tan)),
    ("atan", Native::Unary(f64::atan)),
    ("exp", Native::Unary(f64::exp)),
    ("log", Native::Unary(f64::ln)),
    ("sqrt", Native::Unary(f64::sqrt)),
    ("fabs", Native::Unary(f64::abs)),
    ("floor", Native::Unary(f64::floor)),
    ("pow", Native::Binary(f64::powf)),
    ("atan2", Native::Binary(f64::atan2)),
];

/// The natives' names, for the error message.
const NATIVE_NAMES: &str = "putchard, printd, sin, cos, tan, atan, exp, log, sqrt, fabs, \
                            floor, pow and atan2";
// ANCHOR_END: natives

// ANCHOR: format_f
/// `x` as C's `printf("%f")` writes it: six decimals, `inf`, `nan`.
pub fn format_f(x: f64) -> String {
    if x.is_nan() {
        // Rust writes `NaN`, and C ignores the sign of a NaN.
        "nan".to_string()
    } else {
        format!("{x:.6}")
    }
}
// ANCHOR_END: format_f

// ANCHOR: function
/// What a name can be called as.
#[derive(Clone, Debug)]
enum Function {
    /// A `def`: its prototype and body, shared so that a call can hold them while
    /// the table changes (or is borrowed) around it.
    Defined(Rc<(Prototype, Expr)>),
    /// An `extern` of a native.
    Native(Native),
}
// ANCHOR_END: function

// ANCHOR: interpreter
/// The functions a program has defined and declared, and where its output goes.
pub struct Interpreter<W: Write> {
    /// Every `def` and `extern` so far, by name; a later one replaces an earlier one.
    functions: HashMap<String, Function>,
    /// Where `printd` and `putchard` write.
    out: W,
    /// How many calls are under way.
    depth: usize,
}

/// The most calls that may be under way at once.
pub const MAX_DEPTH: usize = 10_000;
// ANCHOR_END: interpreter

// ANCHOR: items
impl<W: Write> Interpreter<W> {
    /// An interpreter with no functions, writing the program's output to `out`.
    pub fn new(out: W) -> Self {
        Interpreter {
            functions: HashMap::new(),
            out,
            depth: 0,
        }
    }

    /// `def proto body`: checks that the body names only parameters, then adds the
    /// function (replacing one of the same name). Callees are looked up at each call.
    pub fn define(&mut self, proto: Prototype, body: Expr) -> Result<(), Located> {
        check_variables(&body, &proto.params)?;
        let name = proto.name.clone();
        let function = Function::Defined(Rc::new((proto, body)));
        self.functions.insert(name, function);
        Ok(())
    }

    /// `extern proto`: makes the native of that name callable.
    pub fn declare(&mut self, proto: &Prototype) -> Result<(), Located> {
        let Some(&(_, native)) = NATIVES.iter().find(|(name, _)| *name == proto.name) else {
            let err = RuntimeError::UnknownExtern(proto.name.clone());
            return Err((err, proto.span.clone()));
        };
        if native.arity() != proto.params.len() {
            let err = RuntimeError::ExternArity {
                name: proto.name.clone(),
                expected: native.arity(),
                found: proto.params.len(),
            };
            return Err((err, proto.span.clone()));
        }
        self.functions
            .insert(proto.name.clone(), Function::Native(native));
        Ok(())
    }

    // ANCHOR: into_output
    /// The writer the program's output went to (the JIT's tests compare it).
    #[cfg(test)]
    pub fn into_output(self) -> W {
        self.out
    }
    // ANCHOR_END: into_output

    /// A top-level expression's value. It has no parameters.
    pub fn evaluate(&mut self, expr: &Expr) -> Result<f64, Located> {
        check_variables(expr, &[])?;
        // ANCHOR: evaluate_scope
        self.eval(expr, &mut Scope::default())
        // ANCHOR_END: evaluate_scope
    }
    // ANCHOR_END: items

    // ANCHOR: eval
    /// The value of `expr` in a call whose variables are `vars`.
    fn eval(&mut self, expr: &Expr, vars: &mut Scope) -> Result<f64, Located> {
        match expr {
            Expr::Number(n) => Ok(*n),
            // `define` checked every variable; this is a bug of ours if it happens.
            Expr::Variable(name, span) => vars
                .get(name)
                .ok_or_else(|| (RuntimeError::UnknownVariable(name.clone()), span.clone())),
            Expr::Binary(op, lhs, rhs) => {
                let l = self.eval(lhs, vars)?;
                let r = self.eval(rhs, vars)?;
                Ok(binary(*op, l, r))
            }
            Expr::If(cond, yes, no) => match control::truth(self.eval(cond, vars)?) {
                true => self.eval(yes, vars),
                false => self.eval(no, vars),
            },
            Expr::For(l) => self.for_loop(l, vars),
            // ANCHOR: eval_mutation
            Expr::Assign(name, span, value) => self.assign(name, span, value, vars),
            Expr::Var(bindings, body) => self.var(bindings, body, vars),
            // ANCHOR_END: eval_mutation
            Expr::Call(callee, arg_exprs, span) => {
                let mut values = Vec::with_capacity(arg_exprs.len());
                for arg in arg_exprs {
                    values.push(self.eval(arg, vars)?);
                }
                self.call(callee, &values, span)
            }
        }
    }
    // ANCHOR_END: eval

    // ANCHOR: call
    /// Calls `name` with `args`; `span` is the call's, for errors.
    fn call(&mut self, name: &str, args: &[f64], span: &Span) -> Result<f64, Located> {
        let at = |err| (err, span.clone());
        let function = self
            .functions
            .get(name)
            .cloned()
            .ok_or_else(|| at(RuntimeError::UnknownFunction(name.to_string())))?;
        let expected = match &function {
            Function::Defined(def) => def.0.params.len(),
            Function::Native(native) => native.arity(),
        };
        if args.len() != expected {
            let (name, found) = (name.to_string(), args.len());
            return Err(at(RuntimeError::Arity {
                name,
                expected,
                found,
            }));
        }
        match function {
            Function::Native(native) => self.native(native, args).map_err(at),
            Function::Defined(def) => {
                if self.depth == MAX_DEPTH {
                    return Err(at(RuntimeError::StackOverflow));
                }
                self.depth += 1;
                // Each call nests a few Rust frames; `maybe_grow` gives the Rust stack
                // a new 1 MiB segment (on the heap) whenever less than 64 KiB is left,
                // so `MAX_DEPTH` calls fit whatever the thread's stack is.
                let (proto, body) = &*def;
                let result = stacker::maybe_grow(64 * 1024, 1024 * 1024, || {
                    // ANCHOR: call_scope
                    // A new scope: the parameters, bound to the arguments.
                    self.eval(body, &mut Scope::new(&proto.params, args))
                    // ANCHOR_END: call_scope
                });
                self.depth -= 1;
                result
            }
        }
    }
    // ANCHOR_END: call

    // ANCHOR: native
    /// Runs a native: arithmetic, or output.
    fn native(&mut self, native: Native, args: &[f64]) -> Result<f64, RuntimeError> {
        match native {
            Native::Putchard => {
                // C's `(char)c`: the low byte of the integer part.
                self.out.write_all(&[args[0] as i32 as u8])?;
                Ok(0.0)
            }
            Native::Printd => {
                writeln!(self.out, "{}", format_f(args[0]))?;
                Ok(0.0)
            }
            Native::Unary(f) => Ok(f(args[0])),
            Native::Binary(f) => Ok(f(args[0], args[1])),
        }
    }
}
// ANCHOR_END: native

// ANCHOR: binary
/// `l op r` for the four built-in operators (the parser accepts no others).
fn binary(op: char, l: f64, r: f64) -> f64 {
    match op {
        '+' => l + r,
        '-' => l - r,
        '*' => l * r,
        // LLVM's `fcmp ult`: "unordered or less than", so a NaN operand (no order)
        // gives true, where Rust's `l < r` gives false.
        '<' => match l.partial_cmp(&r) {
            None | Some(Ordering::Less) => 1.0,
            Some(_) => 0.0,
        },
        _ => unreachable!("the parser accepts only + - * <, not {op}"),
    }
}
// ANCHOR_END: binary

// ANCHOR: check_variables
// ANCHOR: check_doc
/// Checks that every variable `expr` reads or assigns is one of `params` or one
/// that a `for` or `var` in `expr` binds around it: an unknown name is an error of
/// the definition, found once, not at every call.
// ANCHOR_END: check_doc
fn check_variables(expr: &Expr, params: &[String]) -> Result<(), Located> {
    match expr {
        Expr::Number(_) => Ok(()),
        Expr::Variable(name, span) if !params.contains(name) => {
            Err((RuntimeError::UnknownVariable(name.clone()), span.clone()))
        }
        Expr::Variable(..) => Ok(()),
        Expr::Binary(_, lhs, rhs) => {
            check_variables(lhs, params)?;
            check_variables(rhs, params)
        }
        // ANCHOR: check_control
        Expr::If(cond, yes, no) => [cond, yes, no]
            .into_iter()
            .try_for_each(|e| check_variables(e, params)),
        Expr::For(l) => {
            check_variables(&l.start, params)?;
            let mut inner = params.to_vec();
            inner.push(l.var.clone());
            let rest = [Some(&l.end), l.step.as_ref(), Some(&l.body)];
            rest.into_iter()
                .flatten()
                .try_for_each(|e| check_variables(e, &inner))
        }
        // ANCHOR_END: check_control
        // ANCHOR: check_mutation
        Expr::Assign(name, span, _) if !params.contains(name) => {
            Err((RuntimeError::UnknownVariable(name.clone()), span.clone()))
        }
        Expr::Assign(_, _, value) => check_variables(value, params),
        Expr::Var(bindings, body) => {
            let mut inner = params.to_vec();
            for (name, init) in bindings {
                // An initializer sees the variables before it, not its own.
                if let Some(init) = init {
                    check_variables(init, &inner)?;
                }
                inner.push(name.clone());
            }
            check_variables(body, &inner)
        }
        // ANCHOR_END: check_mutation
        Expr::Call(_, args, _) => args.iter().try_for_each(|a| check_variables(a, params)),
    }
}
// ANCHOR_END: check_variables

// ANCHOR: tests
#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::Item;
    use crate::lexer::lex;
    use crate::parser::parse;

    /// Runs `text` item by item: each expression's value, or each error with the
    /// text it points at; then everything the program wrote.
    // ANCHOR: pub_run
    pub(super) fn run(text: &str) -> (Vec<String>, String) {
        // ANCHOR_END: pub_run
        let mut interp = Interpreter::new(Vec::new());
        let mut results = Vec::new();
        for item in parse(text, &lex(text)) {
            let outcome = match item.expect("the tests' programs parse") {
                Item::Def(proto, body) => interp.define(proto, body).map(|()| None),
                Item::Extern(proto) => interp.declare(&proto).map(|()| None),
                Item::Expr(expr) => interp.evaluate(&expr).map(Some),
            };
            match outcome {
                Ok(Some(value)) => results.push(format_f(value)),
                Ok(None) => {}
                Err((err, span)) => results.push(format!("error at `{}`: {err}", &text[span])),
            }
        }
        (results, String::from_utf8(interp.out).expect("utf-8"))
    }

    #[test]
    fn arithmetic_and_comparison() {
        let (values, _) = run("1 + 2 * 3 - 4; 1 < 2; 2 < 1; 2 < 2; 0 - 1.5");
        assert_eq!(
            values,
            ["3.000000", "1.000000", "0.000000", "0.000000", "-1.500000"]
        );
    }

    #[test]
    fn less_than_is_true_when_an_operand_is_nan() {
        let (values, _) = run("extern sqrt(x); sqrt(0 - 1) < 1; 1 < sqrt(0 - 1)");
        assert_eq!(values, ["1.000000", "1.000000"]);
    }

    #[test]
    fn functions_are_looked_up_at_each_call() {
        // `g` calls `f` before `f` exists; a redefinition of `f` changes `g`.
        let (values, _) = run("def g(x) f(x) + 1; def f(a) a * 10; g(2); def f(a) a; g(2)");
        assert_eq!(values, ["21.000000", "3.000000"]);
    }

    #[test]
    fn natives_write_and_compute() {
        let (values, out) = run("extern putchard(c); extern printd(x); extern pow(x y); \
             putchard(72) + putchard(105) + putchard(10); printd(1 < 2); pow(2, 10)");
        assert_eq!(values, ["0.000000", "0.000000", "1024.000000"]);
        assert_eq!(out, "Hi\n1.000000\n");
    }

    #[test]
    fn errors_point_at_what_is_wrong() {
        let (values, _) = run(
            "def f(x) y + 1; def g(x) x; g(1, 2) + 1; h(1); extern exit(code); \
             extern sin(a b); putchard(65)",
        );
        assert_eq!(
            values,
            [
                "error at `y`: unknown variable `y`",
                "error at `g(1, 2)`: `g` takes 1 argument(s) but 2 were given",
                "error at `h(1)`: unknown function `h`",
                format!("error at `exit`: no external function `exit`: the interpreter knows {NATIVE_NAMES}").as_str(),
                "error at `sin`: extern `sin` declares 2 parameter(s), but `sin` takes 1",
                // Natives are callable only once declared, as in the tutorial.
                "error at `putchard(65)`: unknown function `putchard`",
            ]
        );
    }

    #[test]
    fn endless_recursion_is_an_error_not_a_crash() {
        // The test thread's stack is 2 MiB: without `maybe_grow` this aborts the
        // whole test binary long before `MAX_DEPTH` calls.
        let (values, _) = run("def down(n) down(n - 1) + 1; down(0); 7");
        assert_eq!(
            values,
            [
                format!(
                    "error at `down(n - 1)`: stack overflow: more than {MAX_DEPTH} nested calls"
                )
                .as_str(),
                "7.000000",
            ]
        );
    }
}
// ANCHOR_END: tests

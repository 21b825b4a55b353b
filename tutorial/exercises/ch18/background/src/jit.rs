// ANCHOR: head
//! The lazy JIT: a `def` gets an indirect stub, and its module is compiled and
//! linked by our own linker only when the stub is first called; a top-level
//! expression is compiled at once and called.

use std::collections::HashMap;
// ANCHOR: use_hashset
use std::collections::HashSet;
// ANCHOR_END: use_hashset
// ANCHOR: use_rc
use std::rc::Rc;
use std::sync::Arc;
// ANCHOR_END: use_rc

use inkwell::context::Context;
// ANCHOR: module_import
use inkwell::module::Module;
// ANCHOR_END: module_import
use inkwell::targets::{InitializationConfig, Target, TargetMachine};

// ANCHOR: imports
use crate::ast::{Expr, Item, Prototype, Span};
use crate::codegen::{ANON, CodegenError, Generator};
use crate::escape;
// ANCHOR: use_executor
use crate::executor::{ExecError, Executor, Local};
// ANCHOR_END: use_executor
use crate::linker::{self, LinkError, Linked};
// ANCHOR: use_stubs
use crate::stubs;
use crate::{emit, natives, passes};
// ANCHOR_END: use_stubs
// ANCHOR: use_tiers
use crate::tiers;
// ANCHOR_END: use_tiers
// ANCHOR_END: imports
// ANCHOR_END: head

// ANCHOR: mod_tier_up
mod background;
mod tier_up;
// ANCHOR_END: mod_tier_up

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
    // ANCHOR: full
    /// A new function, and every stub taken.
    #[error(
        "no stub left for `{name}`: this JIT holds {} functions",
        stubs::CAPACITY
    )]
    Full {
        /// The name.
        name: String,
        /// The new prototype.
        span: Span,
    },
    // ANCHOR_END: full
    // ANCHOR: overflow
    /// The code filled the JIT stack: almost surely an endless recursion.
    #[error(
        "stack overflow: the calls nest deeper than the JIT stack ({} MiB) holds",
        escape::STACK >> 20
    )]
    StackOverflow {
        /// The expression's first call.
        span: Span,
    },
    // ANCHOR_END: overflow
    /// Our linker could not load the item's object.
    #[error(transparent)]
    Link(#[from] LinkError),
    /// LLVM rejected the pass pipeline: a bug of this JIT.
    #[error("LLVM's passes failed: {0}")]
    Passes(String),
    /// LLVM could not make the target machine or the object.
    #[error("LLVM's code generator failed: {0}")]
    Engine(String),
    // ANCHOR: exec_error
    /// The executor refused, or crashed, or had to be ended.
    #[error(transparent)]
    Executor(#[from] ExecError),
    // ANCHOR_END: exec_error
}

impl JitError {
    /// The text the error is about; `None` when it is not the program's fault.
    pub fn span(&self) -> Option<Span> {
        match self {
            JitError::Codegen(err) => err.span(),
            JitError::UnknownExtern { span, .. }
            | JitError::ExternArity { span, .. }
            // ANCHOR: overflow_span
            | JitError::StackOverflow { span }
            // ANCHOR_END: overflow_span
            // ANCHOR: full_span
            | JitError::Full { span, .. } => Some(span.clone()),
            // ANCHOR_END: full_span
            // ANCHOR: exec_span
            JitError::Executor(_) => None,
            // ANCHOR_END: exec_span
            JitError::Passes(_) | JitError::Engine(_) | JitError::Link(_) => None,
        }
    }
}
// ANCHOR_END: error

// ANCHOR: jit
/// Compiles and runs items one by one, each function on its first call.
pub struct Jit<'ctx> {
    /// Makes each item's module.
    generator: Generator<'ctx>,
    /// The host's CPU for the passes; `None` when this JIT does not optimize.
    machine: Option<TargetMachine>,
    /// The host's CPU for the code generator, with the code shape the linker expects.
    target: TargetMachine,
    /// Each compiled function's object, loaded: its code lives as long as it does.
    functions: HashMap<String, Linked>,
    // ANCHOR: fields
    // ANCHOR: field_executor
    /// Where the code lives and runs, with every defined function's stub: shared
    /// with a run in progress, which links through it too.
    executor: Rc<dyn Executor>,
    // ANCHOR_END: field_executor
    /// Each defined function's id: the number of its stub.
    ids: HashMap<String, usize>,
    /// Each id's function.
    names: Vec<String>,
    /// The module of each function defined and not compiled yet.
    pending: HashMap<String, Module<'ctx>>,
    /// Whether to report each compile (`--trace`).
    trace: bool,
    // ANCHOR_END: fields
    // ANCHOR: escape_fields
    /// Each defined function's calls, checked against the functions defined at
    /// each of its resolves.
    calls: HashMap<String, Vec<Call>>,
    /// The error of the resolve that failed, for `item` to return.
    failure: Option<JitError>,
    // ANCHOR_END: escape_fields
    // ANCHOR: tier_fields
    /// The host's CPU for tier 0's code generator: `-O0`.
    baseline: TargetMachine,
    /// The functions whose code in `functions` is tier 1's.
    tier1: HashSet<String>,
    /// The blocks of tier-0 code replaced during the run in progress.
    retired: Vec<usize>,
    // ANCHOR_END: tier_fields
    /// Whether tier 1 compiles on the worker thread (`--background`).
    background: bool,
    /// The worker, started at the first tier-up in the background.
    worker: Option<background::Worker>,
    /// Each defined function's definition, for the worker.
    items: HashMap<String, Arc<Item>>,
    /// Each defined function's generation: how many times it was defined.
    generations: HashMap<String, u64>,
    /// The functions whose tier-1 compile is queued.
    queued: HashSet<String>,
    /// How many compiles the worker has not answered yet.
    in_flight: usize,
    /// Compiles received and not installed yet.
    arrived: Vec<background::Done>,
    /// Tests only: install nothing for now.
    hold: bool,
}
// ANCHOR_END: jit

// ANCHOR: call_type
/// A call in a body: the callee's name, the number of arguments, and where.
type Call = (String, usize, Span);
// ANCHOR_END: call_type

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
        // ANCHOR: new_stubs
        let executor = Rc::new(Local::new().map_err(LinkError::Memory)?);
        // ANCHOR_END: new_stubs
        // ANCHOR: new_prepare
        escape::prepare().map_err(LinkError::Memory)?;
        // ANCHOR_END: new_prepare
        Ok(Jit {
            generator: Generator::new(context),
            machine,
            target,
            functions: HashMap::new(),
            // ANCHOR: new_fields
            executor,
            ids: HashMap::new(),
            names: Vec::new(),
            pending: HashMap::new(),
            trace: false,
            // ANCHOR_END: new_fields
            // ANCHOR: new_escape_fields
            calls: HashMap::new(),
            failure: None,
            // ANCHOR_END: new_escape_fields
            // ANCHOR: new_tier_fields
            baseline: tiers::baseline_machine().map_err(JitError::Engine)?,
            tier1: HashSet::new(),
            retired: Vec::new(),
            // ANCHOR_END: new_tier_fields
            background: false,
            worker: None,
            items: HashMap::new(),
            generations: HashMap::new(),
            queued: HashSet::new(),
            in_flight: 0,
            arrived: Vec::new(),
            hold: false,
        })
    }
    // ANCHOR_END: new

    // ANCHOR: set_executor
    /// Runs the code in `executor` from now on, instead of in this process. Called
    /// before the first item.
    pub fn set_executor(&mut self, executor: Rc<dyn Executor>) {
        self.executor = executor;
    }
    // ANCHOR_END: set_executor

    // ANCHOR: set_trace
    /// Reports each compile (`[lazy] compiled NAME`) where the natives write.
    pub fn set_trace(&mut self, on: bool) {
        self.trace = on;
    }
    // ANCHOR_END: set_trace

    // ANCHOR: ir
    /// The IR of one item, optimized if this JIT optimizes, without running it.
    pub fn ir(&mut self, item: &Item) -> Result<String, JitError> {
        let module = self.generate(item)?;
        self.optimize(&module)?;
        Ok(module.print_to_string().to_string())
    }
    // ANCHOR_END: ir

    // ANCHOR: item_recover
    /// One item, as `item_once` says. If the executor crashed meanwhile, or was ended,
    /// a new one takes its place before the error is returned.
    pub fn item(&mut self, item: &Item) -> Result<Option<f64>, JitError> {
        let outcome = self.item_once(item);
        let lost = |err: &ExecError| matches!(err, ExecError::Crashed(_));
        match &outcome {
            Err(JitError::Executor(err) | JitError::Link(LinkError::Executor(err)))
                if lost(err) =>
            {
                self.recover()?;
            }
            _ => {}
        }
        outcome
    }
    // ANCHOR_END: item_recover

    // ANCHOR: item
    /// Defines or declares one item, or compiles an expression, runs it and returns
    /// its value. A function is compiled on its first call, by `resolve`.
    fn item_once(&mut self, item: &Item) -> Result<Option<f64>, JitError> {
        // Checked before the generator remembers the name.
        match item {
            Item::Extern(proto) => {
                self.native(&proto.name, proto.params.len(), &proto.span)?;
            }
            Item::Def(proto, _) => self.may_define(&proto.name, &proto.span)?,
            _ => {}
        }
        // A redefinition may change the number of parameters: the generator forgets
        // the old one, and gets it back if the new `def` fails.
        let old = match item {
            Item::Def(proto, _) => Some((&proto.name, self.generator.forget(&proto.name))),
            _ => None,
        };
        let module = self.generate(item).inspect_err(|_| {
            if let Some((name, arity)) = old {
                self.generator.restore(name, arity);
            }
        })?;
        match item {
            // The linker finds a native by its name: nothing to do until a call.
            Item::Extern(_) => Ok(None),
            Item::Def(proto, body) => {
                // ANCHOR: define_call
                self.define(&proto.name, module)?;
                // ANCHOR_END: define_call
                self.defined(&proto.name, item);
                self.calls.insert(proto.name.clone(), calls(body));
                // Compiled callers pass the old number of arguments: check them again.
                let arity = proto.params.len();
                if let Some((name, Some(old))) = old
                    && old != arity
                {
                    self.recheck_callers(name)?;
                }
                Ok(None)
            }
            Item::Expr(expr) => {
                let calls = calls(expr);
                self.check_calls(&calls)?;
                self.optimize(&module)?;
                // ANCHOR: link_expr
                let linked = self.link(&module, &self.target)?;
                // ANCHOR_END: link_expr
                // The generator made `ANON` a function of no parameters that returns a
                // double; a first call in it asks this JIT for the function's code. A
                // failed resolve keeps its error here, and the executor is told why.
                let executor = Rc::clone(&self.executor);
                let mut resolve = |id| match self.resolve(id) {
                    Ok(address) => Ok(address),
                    Err(err) => {
                        let message = err.to_string();
                        self.fail(err);
                        Err(message)
                    }
                };
                let outcome = executor.run(linked.symbols[ANON], &mut resolve);
                // ANCHOR: release_call
                if !matches!(outcome, Err(ExecError::Crashed(_))) {
                    self.install_finished()?;
                }
                self.release_retired(&outcome)?;
                // ANCHOR_END: release_call
                // ANCHOR: item_outcome
                match outcome {
                    Ok(value) => {
                        self.executor.release(linked.block)?;
                        Ok(Some(value))
                    }
                    // The error of the resolve that failed, with its place in the text.
                    Err(ExecError::Failed(message)) => {
                        self.executor.release(linked.block)?;
                        Err(self
                            .failure
                            .take()
                            .unwrap_or(ExecError::Failed(message).into()))
                    }
                    Err(ExecError::Overflowed) => {
                        self.executor.release(linked.block)?;
                        // An overflow needs a call: the expression has one.
                        let span = calls.first().map_or(0..0, |call| call.2.clone());
                        Err(JitError::StackOverflow { span })
                    }
                    // A crash: the block died with the executor.
                    Err(err) => Err(err.into()),
                }
                // ANCHOR_END: item_outcome
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
    /// Compiles `module` to an object with `machine` and links it: a name resolves
    /// to the stub of the function defined under it, or to a symbol of tier-0
    /// code, or else to the native of that name.
    fn link(&self, module: &Module<'ctx>, machine: &TargetMachine) -> Result<Linked, JitError> {
        let object = emit::object(module, machine).map_err(JitError::Engine)?;
        self.load(&object)
    }

    /// Links the object `object`, as `link` says.
    fn load(&self, object: &[u8]) -> Result<Linked, JitError> {
        let resolve = |name: &str| match self.ids.get(name) {
            // ANCHOR: link_executor
            Some(&id) => Some(self.executor.stub(id)),
            // ANCHOR: link_tiers
            None if name.starts_with("toy.") => self.tier_symbol(name),
            // ANCHOR_END: link_tiers
            None => self.executor.native(name),
        };
        Ok(linker::link(object, &resolve, &*self.executor)?)
        // ANCHOR_END: link_executor
    }
    // ANCHOR_END: link

    // ANCHOR: define
    /// Refuses a new function when every stub is taken.
    fn may_define(&self, name: &str, span: &Span) -> Result<(), JitError> {
        if self.ids.contains_key(name) || self.names.len() < stubs::CAPACITY {
            return Ok(());
        }
        let (name, span) = (name.to_string(), span.clone());
        Err(JitError::Full { name, span })
    }

    /// Gives `name` the body `module`, compiled on the next call of its stub. A new
    /// name gets a stub, for good; a known one keeps its stub, so that every caller,
    /// compiled or not, calls the new body.
    // ANCHOR: define_executor
    fn define(&mut self, name: &str, module: Module<'ctx>) -> Result<(), JitError> {
        let id = match self.ids.get(name) {
            Some(&id) => id,
            None => {
                let id = self.executor.add_stub()?;
                // ANCHOR_END: define_executor
                self.ids.insert(name.to_string(), id);
                self.names.push(name.to_string());
                id
            }
        };
        // ANCHOR: define_reset
        // Back to the trampoline. The old code, if any, is called by nobody now (no
        // JIT'd code runs between items): it is released.
        self.executor.set_slot(id, None)?;
        if let Some(old) = self.functions.remove(name) {
            self.executor.release(old.block)?;
        }
        // ANCHOR: define_tier
        self.tier1.remove(name);
        // ANCHOR_END: define_tier
        self.pending.insert(name.to_string(), module);
        Ok(())
    }
    // ANCHOR_END: define_reset

    // ANCHOR: recover
    /// After a crash of the executor: a new one, with a stub for every function
    /// defined, at its trampoline. Compiled code died with the old executor; every
    /// function keeps its module, and compiles again on its next first call.
    fn recover(&mut self) -> Result<(), JitError> {
        self.executor.restart()?;
        self.functions.clear();
        // ANCHOR: recover_tiers
        self.tier1.clear();
        self.retired.clear();
        self.queued.clear();
        // ANCHOR_END: recover_tiers
        for _ in &self.names {
            self.executor.add_stub()?;
        }
        Ok(())
    }
    // ANCHOR_END: recover
    // ANCHOR_END: define

    // ANCHOR: recheck
    /// Points every compiled caller of `name` back at its trampoline: `name` now
    /// takes another number of parameters than their calls pass. Their next call
    /// goes through the resolver again, which checks them.
    // ANCHOR: recheck_callers
    fn recheck_callers(&mut self, name: &str) -> Result<(), JitError> {
        for (caller, linked) in &self.functions {
            if linked.imports.iter().any(|import| import == name) {
                self.executor.set_slot(self.ids[caller], None)?;
            }
        }
        Ok(())
    }
    // ANCHOR_END: recheck_callers

    /// The first of `calls` that the interpreter would refuse if it made it now: a
    /// call of a function not defined, or with a number of arguments its
    /// definition does not take. The error is the interpreter's, at the call.
    fn check_calls(&self, calls: &[Call]) -> Result<(), JitError> {
        for (name, found, span) in calls {
            let defined = self.ids.contains_key(name) || natives::lookup(name).is_some();
            let (name, span, found) = (name.clone(), span.clone(), *found);
            let Some(expected) = self.generator.arity(&name).filter(|_| defined) else {
                return Err(CodegenError::UnknownFunction { name, span }.into());
            };
            if expected != found {
                let error = CodegenError::Arity {
                    name,
                    expected,
                    found,
                    span,
                };
                return Err(error.into());
            }
        }
        Ok(())
    }
    // ANCHOR_END: recheck

    // ANCHOR: resolve
    /// Compiles and links function `id`, points its stub at the code and returns
    /// the code's address. Called by the resolver, on the function's first call.
    pub fn resolve(&mut self, id: usize) -> Result<usize, JitError> {
        let name = self.names[id].clone();
        self.install_finished()?;
        // ANCHOR: resolve_check
        // Its calls against the functions defined now. An error leaves the function
        // as it was: its next call tries again.
        self.check_calls(&self.calls[&name])?;
        // ANCHOR: resolve_hot
        // Compiled at tier 0, and back here: its poll.
        if self.is_hot(&name) {
            return self.tier_up(id, &name);
        }
        // ANCHOR_END: resolve_hot
        // Compiled already: a callee changed, and the calls are right again.
        if let Some(linked) = self.functions.get(&name) {
            let address = linked.symbols[&name];
            // ANCHOR: resolve_again
            self.executor.set_slot(id, Some(address))?;
            // ANCHOR_END: resolve_again
            return Ok(address);
        }
        // ANCHOR_END: resolve_check
        // ANCHOR: resolve_executor
        // Kept: after a crash of the executor, the function compiles again.
        // ANCHOR: resolve_tier0
        let linked = self.tier0(&name)?;
        // ANCHOR_END: resolve_tier0
        let address = linked.symbols[&name];
        self.executor.set_slot(id, Some(address))?;
        // ANCHOR_END: resolve_executor
        if self.trace {
            let calls = match linked.imports.is_empty() {
                true => String::new(),
                false => format!(" (calls {})", linked.imports.join(", ")),
            };
            // ANCHOR: trace_tier0
            let line = format!("[lazy] compiled {name} at tier 0{calls}\n");
            natives::write(line.as_bytes());
            // ANCHOR_END: trace_tier0
        }
        self.functions.insert(name, linked);
        Ok(address)
    }
    // ANCHOR_END: resolve

    // ANCHOR: fail
    /// Keeps the error of a failed resolve, for `item` to return after the escape.
    pub fn fail(&mut self, err: JitError) {
        self.failure = Some(err);
    }
    // ANCHOR_END: fail

    // ANCHOR: generate
    /// The module of one item. A call in a `def` of a name not known yet is a
    /// *forward reference*: it is declared as an `extern` would declare it, and the
    /// function must be defined before the caller's first call.
    fn generate(&mut self, item: &Item) -> Result<Module<'ctx>, JitError> {
        if let Item::Def(proto, body) = item {
            let mut calls = Vec::new();
            callees(body, &mut calls);
            for (name, arity, span) in calls {
                let known = self.generator.arity(name).is_some() || name == proto.name;
                // A native must be declared: its number of parameters is not ours to set.
                if !known && natives::lookup(name).is_none() {
                    let params = (0..arity).map(|i| format!("x{i}")).collect();
                    let name = name.to_string();
                    let declaration = Prototype { name, params, span };
                    self.generator.item(&Item::Extern(declaration))?;
                }
            }
        }
        Ok(self.generator.item(item)?)
    }
    // ANCHOR_END: generate

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

// ANCHOR: callees
/// Every call in `expr`: the callee's name, the number of arguments, and where.
fn callees<'a>(expr: &'a Expr, out: &mut Vec<(&'a str, usize, Span)>) {
    match expr {
        Expr::Number(_) | Expr::Variable(..) => {}
        Expr::Binary(_, lhs, rhs) => {
            callees(lhs, out);
            callees(rhs, out);
        }
        Expr::Call(name, args, span) => {
            out.push((name, args.len(), span.clone()));
            args.iter().for_each(|arg| callees(arg, out));
        }
        Expr::If(cond, yes, no) => [cond, yes, no].into_iter().for_each(|e| callees(e, out)),
        Expr::For(l) => {
            [&l.start, &l.end, &l.body]
                .into_iter()
                .for_each(|e| callees(e, out));
            l.step.iter().for_each(|step| callees(step, out));
        }
        Expr::Assign(_, _, value) => callees(value, out),
        Expr::Var(bindings, body) => {
            bindings
                .iter()
                .flat_map(|(_, init)| init)
                .for_each(|e| callees(e, out));
            callees(body, out);
        }
    }
}
// ANCHOR_END: callees

// ANCHOR: calls
/// Every call in `expr`, owned.
fn calls(expr: &Expr) -> Vec<Call> {
    let mut out = Vec::new();
    callees(expr, &mut out);
    let owned = out
        .into_iter()
        .map(|(name, n, span)| (name.to_string(), n, span));
    owned.collect()
}
// ANCHOR_END: calls

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
        // ANCHOR: programs_linker
        "def f(x) x * 2; f(3); def f(x) x * 3; f(3); def g(x) f(x) + 1; g(1)",
        "def f(n) if n < 1 then 0 else f(n-1) + 1; f(3); def f(n) if n < 1 then 0 else f(n-1) + 2; f(3)",
        // ANCHOR_END: programs_linker
        // ANCHOR: programs_lazy
        "def even(n) if n < 1 then 1 else odd(n-1); def odd(n) if n < 1 then 0 else even(n-1); even(9); odd(9)",
        "def f(x) x * 2; def g(x) f(x) + 1; g(3); def f(x) x * 3; g(3); def h(x) g(x) + k(x); def k(x) 0-x; h(2)",
        "def eight(a b c d e f g h) a + 2*b + 3*c + 4*d + 5*e + 6*f + 7*g + 8*h; def none() eight(1, 2, 3, 4, 5, 6, 7, 8); none()",
        // ANCHOR_END: programs_lazy
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
    fn a_redefinition_applies_to_later_items() {
        assert_eq!(
            jit("def f(x) x * 2; f(3); def f(x) x * 3; f(3)", true),
            [Ok(None), Ok(Some(6.0)), Ok(None), Ok(Some(9.0))]
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

    // ANCHOR: test_lazy
    /// The outcomes, and what the natives and the trace wrote, as one string.
    fn traced(text: &str) -> (Vec<Result<Option<f64>, String>>, String) {
        let context = Context::create();
        let mut jit = Jit::new(&context, true).expect("LLVM's JIT works here");
        jit.set_trace(true);
        let items = parse(text, &lex(text)).into_iter();
        let items = items.map(|item| item.expect("the tests' programs parse"));
        let (outcomes, output) = natives::capture(|| {
            items
                .map(|item| jit.item(&item).map_err(|err| err.to_string()))
                .collect()
        });
        (outcomes, String::from_utf8(output).unwrap())
    }

    #[test]
    fn only_the_functions_called_are_compiled() {
        let mut text = String::new();
        for i in 0..100 {
            text += &format!("def f{i}(x) x + {i};\n");
        }
        text += "f7(1) + f42(1)";
        let (outcomes, trace) = traced(&text);
        assert_eq!(outcomes.last(), Some(&Ok(Some(51.0))));
        // ANCHOR: trace_test_a
        let tier0 = "[lazy] compiled f7 at tier 0\n[lazy] compiled f42 at tier 0\n";
        assert_eq!(trace, tier0);
        // ANCHOR_END: trace_test_a
    }

    #[test]
    fn a_second_call_goes_straight_to_the_code() {
        let text = "def f(x) x + 1; def g(x) f(x) * 2; g(1); g(2); f(3)";
        let (outcomes, trace) = traced(text);
        assert_eq!(
            &outcomes[2..],
            [Ok(Some(4.0)), Ok(Some(6.0)), Ok(Some(4.0))]
        );
        // ANCHOR: trace_test_b
        let tier0 = "[lazy] compiled g at tier 0 (calls f)\n[lazy] compiled f at tier 0\n";
        assert_eq!(trace, tier0);
        // ANCHOR_END: trace_test_b
    }

    #[test]
    fn the_stub_points_at_the_trampoline_then_at_the_code() {
        let context = Context::create();
        let mut jit = Jit::new(&context, true).unwrap();
        // ANCHOR: test_local
        let local = Rc::new(Local::new().unwrap());
        jit.set_executor(local.clone());
        // ANCHOR_END: test_local
        let text = "def f(x) x + 1; f(1); def f(x) x + 2";
        let mut items = parse(text, &lex(text)).into_iter().map(Result::unwrap);
        jit.item(&items.next().unwrap()).unwrap();
        let id = jit.ids["f"];
        // ANCHOR: test_target
        let trampoline = local.target(id);
        assert_eq!(trampoline, local.stub(id) + 8);
        jit.item(&items.next().unwrap()).unwrap();
        assert_eq!(local.target(id), jit.functions["f"].symbols["f"]);
        jit.item(&items.next().unwrap()).unwrap();
        assert_eq!(local.target(id), trampoline);
        // ANCHOR_END: test_target
        assert!(!jit.functions.contains_key("f"));
    }
    // ANCHOR_END: test_lazy

    // ANCHOR: test_redefinition
    #[test]
    fn an_old_caller_calls_the_new_definition() {
        let text = "def f(x) x * 2; def g(x) f(x) + 1; g(3); def f(x) x * 3; g(3)";
        let (outcomes, trace) = traced(text);
        assert_eq!(&outcomes[2..], [Ok(Some(7.0)), Ok(None), Ok(Some(10.0))]);
        // `g` is compiled once: its call goes through `f`'s stub, to each `f`.
        // ANCHOR: trace_test_c
        let tier0 = "[lazy] compiled g at tier 0 (calls f)\n[lazy] compiled f at tier 0\n";
        assert_eq!(trace, format!("{tier0}[lazy] compiled f at tier 0\n"));
        // ANCHOR_END: trace_test_c
    }

    #[test]
    fn mutual_recursion_defined_in_any_order() {
        let text = "def even(n) if n < 1 then 1 else odd(n - 1);
                    def odd(n) if n < 1 then 0 else even(n - 1);
                    even(10); odd(7); even(7)";
        assert_eq!(
            &jit(text, true)[2..],
            [Ok(Some(1.0)), Ok(Some(1.0)), Ok(Some(0.0))]
        );
    }

    // ANCHOR: test_forward_arity
    #[test]
    fn a_forward_reference_is_checked_at_the_first_call() {
        assert_eq!(
            jit(
                "def f(x) g(x, 1); def g(x) x; f(3); def g(x y) x - y; f(3)",
                true
            ),
            [
                Ok(None),
                Ok(None),
                Err("`g` takes 1 argument(s) but 2 were given".into()),
                Ok(None),
                Ok(Some(2.0)),
            ]
        );
    }
    // ANCHOR_END: test_forward_arity
    // ANCHOR_END: test_redefinition

    // ANCHOR: test_registers
    #[test]
    fn arguments_survive_the_resolver() {
        let text = "def none() 42;
                    def eight(a b c d e f g h) a + 2*b + 3*c + 4*d + 5*e + 6*f + 7*g + 8*h;
                    def ten(a b c d e f g h i j) eight(a, b, c, d, e, f, g, h) + 9*i + 10*j;
                    none(); ten(1, 2, 3, 4, 5, 6, 7, 8, 9, 10); none() + eight(8, 7, 6, 5, 4, 3, 2, 1)";
        for optimize in [false, true] {
            assert_eq!(
                &jit(text, optimize)[3..],
                [Ok(Some(42.0)), Ok(Some(385.0)), Ok(Some(162.0))]
            );
        }
    }

    #[test]
    fn a_first_call_deep_in_a_recursion() {
        // `leaf` is compiled 10000 calls deep, each through a stub.
        let text = "def leaf(x) x + 0.5;
                    def even(n) if n < 1 then leaf(n) else 1 + odd(n - 1);
                    def odd(n) if n < 1 then leaf(n) else 1 + even(n - 1);
                    even(10000)";
        assert_eq!(jit(text, false)[3], Ok(Some(10000.5)));
    }
    // ANCHOR_END: test_registers

    // ANCHOR: test_errors
    /// An item's outcome with its error's text and span.
    type Outcome = Result<Option<f64>, (String, Option<Span>)>;

    /// Each item's outcome as the JIT gives it, and as the interpreter does.
    fn both(text: &str) -> (Vec<Outcome>, Vec<Outcome>) {
        let context = Context::create();
        let mut jit = Jit::new(&context, true).unwrap();
        let mut interpreter = Interpreter::new(Vec::new());
        let (mut from_jit, mut from_interpreter) = (Vec::new(), Vec::new());
        for item in parse(text, &lex(text)) {
            let item = item.expect("the tests' programs parse");
            let outcome = jit.item(&item);
            from_jit.push(outcome.map_err(|err| (err.to_string(), err.span())));
            let outcome = match item {
                Item::Def(proto, body) => interpreter.define(proto, body).map(|()| None),
                Item::Extern(proto) => interpreter.declare(&proto).map(|()| None),
                Item::Expr(expr) => interpreter.evaluate(&expr).map(Some),
            };
            from_interpreter.push(outcome.map_err(|(err, span)| (err.to_string(), Some(span))));
        }
        (from_jit, from_interpreter)
    }

    /// Programs with calls that fail when they are made: a callee missing, then
    /// defined; a callee whose number of parameters changes under a compiled
    /// caller, and changes back; a failure three resolves deep.
    const FAILING: &[&str] = &[
        "def f(x) g(x) + 1; f(1); def g(x) x * 100; f(1)",
        "def f(x) x; def g(x y) f(x) * y; g(1, 10); def f(x y) x + y; g(1, 10); def f(x) x + 1; g(1, 10)",
        "def h(x) missing(x); def g(x) 1 + h(x); def f(x) 1 + g(x); f(1); def missing(x) x * 2; f(1)",
        "def f(x) g(x); g(2); def g(x) 0 - x; g(2) + f(3)",
        "def f(x) g(x, 1); def g(x) x; f(3); def g(x y) x - y; f(3)",
    ];

    #[test]
    fn errors_agree_with_the_interpreter() {
        for program in FAILING {
            let (from_jit, from_interpreter) = both(program);
            assert_eq!(from_jit, from_interpreter, "{program}");
            assert!(
                from_jit.iter().any(Result::is_err),
                "{program} fails somewhere"
            );
        }
    }

    #[test]
    fn a_missing_callee_is_reported_at_the_call() {
        let text = "def f(x) g(x) + 1; f(1)";
        let (outcomes, _) = both(text);
        let (message, span) = outcomes[1].clone().unwrap_err();
        assert_eq!(message, "unknown function `g`");
        assert_eq!(&text[span.unwrap()], "g(x)");
    }

    #[test]
    fn a_new_arity_sends_compiled_callers_back_to_their_trampolines() {
        let context = Context::create();
        let mut jit = Jit::new(&context, true).unwrap();
        // ANCHOR: test_recheck
        let local = Rc::new(Local::new().unwrap());
        jit.set_executor(local.clone());
        // ANCHOR_END: test_recheck
        let text = "def f(x) x; def g(x) f(x); g(1); def f(x) x + 1; def f(x y) x + y";
        let mut items = parse(text, &lex(text)).into_iter().map(Result::unwrap);
        for item in items.by_ref().take(3) {
            jit.item(&item).unwrap();
        }
        // ANCHOR: test_recheck_target
        let g = jit.ids["g"];
        let code = jit.functions["g"].symbols["g"];
        assert_eq!(local.target(g), code);
        // The same number of parameters: `g` calls the new `f` through its stub.
        jit.item(&items.next().unwrap()).unwrap();
        assert_eq!(local.target(g), code);
        // Another: `g` is checked on its next call, and keeps its code meanwhile.
        jit.item(&items.next().unwrap()).unwrap();
        assert_eq!(local.target(g), local.stub(g) + 8);
        // ANCHOR_END: test_recheck_target
        assert!(jit.functions.contains_key("g"));
    }

    #[test]
    fn after_an_escape_the_next_expression_works() {
        let mut text = String::from("def f(x) 1 + g(x); def id(x) x;");
        for i in 0..50 {
            text += &format!("f({i}); id({i});");
        }
        let outcomes = jit(&text, true);
        for (i, pair) in outcomes[2..].chunks(2).enumerate() {
            assert_eq!(pair[0], Err("unknown function `g`".into()));
            assert_eq!(pair[1], Ok(Some(i as f64)));
        }
    }

    #[test]
    fn a_stack_overflow_is_an_error_and_definitions_survive() {
        let text = "def r(x) r(x + 1) + 1; def ok(x) x; r(0); ok(7); r(0); ok(8)";
        for optimize in [false, true] {
            let outcomes = jit(text, optimize);
            let overflow = Err(
                "stack overflow: the calls nest deeper than the JIT stack (64 MiB) holds".into(),
            );
            assert_eq!(outcomes[2], overflow);
            assert_eq!(outcomes[3], Ok(Some(7.0)));
            assert_eq!(outcomes[4], overflow);
            assert_eq!(outcomes[5], Ok(Some(8.0)));
        }
    }

    #[test]
    fn deep_recursion_that_ends_is_not_an_overflow() {
        // 100,000 calls: ten times what the interpreter allows, well within 64 MiB.
        let text = "def down(n) if n < 1 then 0 else 1 + down(n - 1); down(100000)";
        assert_eq!(jit(text, false)[1], Ok(Some(100000.0)));
    }

    #[test]
    fn a_first_call_with_too_little_stack_is_an_overflow() {
        // `leaf` is first called at the bottom of a recursion that leaves it less
        // than `RESERVE` bytes (or none): an overflow either way, never a crash.
        let text = "def leaf(x) x;
                    def deep(n) if n < 1 then leaf(n) else 1 + deep(n - 1);
                    deep(100000000); deep(3)";
        let outcomes = jit(text, false);
        assert!(matches!(&outcomes[2], Err(e) if e.starts_with("stack overflow")));
        assert_eq!(outcomes[3], Ok(Some(3.0)));
    }
    // ANCHOR_END: test_errors
}
// ANCHOR_END: tests

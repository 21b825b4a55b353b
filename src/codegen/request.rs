//! What one compile is asked for ([`Request`]): which functions, each under which
//! symbol, what to produce, with or without DWARF, and whether its phases are timed.

use super::{DebugSource, Output, Timings};
use crate::frontend::ast::Function;

/// One compile: functions into one module, then [`Output`].
///
/// A call goes directly to a function of the same request compiled under the
/// callee's own name; every other call names the callee's symbol, for a linker to
/// bind (the JIT binds it to a stub). So [`Request::library`] calls directly and
/// [`Request::named`] under other symbols goes through them.
pub struct Request<'a> {
    pub(super) module: &'a str,
    pub(super) functions: Vec<(&'a Function, &'a str)>,
    pub(super) inlinable: Vec<&'a Function>,
    pub(super) output: Output,
    pub(super) debug: Option<&'a DebugSource<'a>>,
    pub(super) timings: Option<&'a mut Timings>,
}

impl<'a> Request<'a> {
    /// `function` under `symbol` (its own name if `None`), in a module of that name.
    pub fn function(function: &'a Function, symbol: Option<&'a str>) -> Self {
        let symbol = symbol.unwrap_or(&function.proto.name);
        Self::new(symbol, vec![(function, symbol)])
    }

    /// `functions`, each under its own name: a C-callable library, calls among them
    /// direct.
    pub fn library(functions: &[&'a Function]) -> Self {
        let named = functions.iter().map(|f| (*f, &*f.proto.name)).collect();
        Self::new("toy", named)
    }

    /// `functions`, each under the symbol paired with it.
    pub fn named(functions: &[(&'a Function, &'a str)]) -> Self {
        Self::new("toy", functions.to_vec())
    }

    fn new(module: &'a str, functions: Vec<(&'a Function, &'a str)>) -> Self {
        Request {
            module,
            functions,
            inlinable: Vec::new(),
            output: Output::Object,
            debug: None,
            timings: None,
        }
    }

    /// Adds the bodies of `callees`, each under its own name, as module-private
    /// functions: calls to them from this request go to those copies, which the
    /// optimizer may inline (the caller's code then depends on those bodies: the JIT
    /// records that and recompiles it when one of them is redefined).
    pub fn inlining(mut self, callees: &[&'a Function]) -> Self {
        self.inlinable.extend_from_slice(callees);
        self
    }

    /// Produces `output` instead of an object.
    pub fn output(mut self, output: Output) -> Self {
        self.output = output;
        self
    }

    /// Adds DWARF if `source` says where the functions come from.
    pub fn debug(mut self, source: Option<&'a DebugSource<'a>>) -> Self {
        self.debug = source;
        self
    }

    /// Adds the time of each phase, and the number of functions, to `timings`.
    pub fn timed(mut self, timings: &'a mut Timings) -> Self {
        self.timings = Some(timings);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::Request;
    use crate::codegen::{Compiler, OptLevel, Output};
    use crate::frontend::ast::{Function, Item};
    use crate::session::Session;

    fn functions(text: &str) -> Vec<Function> {
        let items = Session::resolve_program(text).expect("a valid program");
        items
            .into_iter()
            .filter_map(|item| match item {
                Item::Def(f) => Some((*f).clone()),
                _ => None,
            })
            .collect()
    }

    fn ir(compiler: &Compiler, main: &Function, callees: &[&Function]) -> String {
        let request = Request::function(main, None)
            .inlining(callees)
            .output(Output::Ir);
        String::from_utf8(compiler.emit(request).expect("compiles")).expect("UTF-8")
    }

    #[test]
    fn callee_bodies_given_for_inlining_are_inlined_and_stay_private() {
        let fs = functions(
            "def binary| 5 (a b) if a then 1 else b; def g(x) x * 2 | 0; def f(x) g(x) + 1;",
        );
        let (op, g, f) = (&fs[0], &fs[1], &fs[2]);
        let compiler = Compiler::host(OptLevel::O2).expect("compiler");
        let inlined = ir(&compiler, f, &[g, op]);
        assert!(!inlined.contains("call double @g"), "{inlined}");
        assert!(!inlined.contains("binary|"), "{inlined}");
        assert!(
            !inlined.contains("define double @g"),
            "no public copy: {inlined}"
        );
        // Without the bodies, the calls stay calls through the callee's symbol.
        let plain = ir(&compiler, f, &[]);
        assert!(plain.contains("call double @g"), "{plain}");
    }
}

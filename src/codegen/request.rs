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
            output: Output::Object,
            debug: None,
            timings: None,
        }
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

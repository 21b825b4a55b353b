//! A session: the state of a program being typed or run, item after item.
//!
//! The session owns what every engine shares (sources, the operator table and the
//! signatures of global functions) and hands each accepted item to its engine.

use foldhash::{HashMap, HashMapExt};
use std::ops::ControlFlow;
use std::sync::Arc;

use crate::engine::Engine;
use crate::error::{Error, ProgramError};
use crate::frontend::ast::{Function, Item, Name, Prototype};
use crate::frontend::lexer::{Token, lex};
use crate::frontend::parser::{Step, Tokens};
use crate::frontend::resolve::{Operators, resolve_item};
use crate::frontend::source::{SourceId, SourceMap, Span};
use crate::frontend::syntax;

mod history;

pub use history::{Definition, UndoError, Undone};

/// What became of one accepted item.
#[derive(Debug)]
pub enum Outcome {
    /// A `def` (the name is `binary|` for operators).
    Defined(Name),
    /// An `extern`.
    Declared(Name),
    /// A top-level expression and its value.
    Evaluated(f64),
    /// An item that was only parsed and resolved (no engine).
    Resolved(Item),
    /// An item the caller compiled or printed itself.
    Emitted,
}

/// What [`Session::run`] calls with each outcome or error; `Break` stops the run.
pub type OnOutcome<'a> = dyn FnMut(&SourceMap, Result<Outcome, Error>) -> ControlFlow<()> + 'a;

/// How far [`Session::run`] got.
#[derive(Debug, PartialEq, Eq)]
pub enum Progress {
    /// All input was consumed.
    Done,
    /// The callback asked to stop.
    Stopped,
    /// The text from this offset on may be the start of an item that continues in
    /// input not yet read; run again from there once more text is appended.
    Pending(usize),
}

#[derive(Clone, Debug)]
enum Global {
    Defined(Arc<Function>),
    Extern(Arc<Prototype>),
}

/// One accepted `def` or `extern`, with what it replaced (for [`Session::undo`]).
#[derive(Clone, Debug)]
struct Change {
    name: Name,
    /// The global before this item (`None`: the name was new).
    previous: Option<Global>,
    /// The operator table before an operator definition.
    operators: Option<Operators>,
}

/// The state of one program.
pub struct Session {
    sources: SourceMap,
    operators: Operators,
    globals: HashMap<Name, Global>,
    engine: Option<Box<dyn Engine>>,
    /// A source whose last item failed to parse before its end was read: its next
    /// text continues that item, up to a `;` or the next `def` or `extern`.
    skipping: Option<SourceId>,
    /// Every accepted `def` and `extern`, oldest first.
    log: Vec<Change>,
}

impl Session {
    /// A session that runs items on `engine`, or only resolves them with `None`.
    pub fn new(engine: Option<Box<dyn Engine>>) -> Self {
        Session {
            sources: SourceMap::new(),
            operators: Operators::new(),
            globals: HashMap::new(),
            engine,
            skipping: None,
            log: Vec::new(),
        }
    }

    /// The sources read so far.
    pub fn sources(&self) -> &SourceMap {
        &self.sources
    }

    /// The sources, to add or append text.
    pub fn sources_mut(&mut self) -> &mut SourceMap {
        &mut self.sources
    }

    /// The engine, if any.
    pub fn engine(&mut self) -> Option<&mut (dyn Engine + 'static)> {
        self.engine.as_deref_mut()
    }

    /// The latest definition of `name`, if it is a defined function.
    pub fn function(&self, name: &str) -> Option<&Arc<Function>> {
        match self.globals.get(name) {
            Some(Global::Defined(function)) => Some(function),
            _ => None,
        }
    }

    /// Whether `name` is declared `extern` (and not defined).
    pub fn is_extern(&self, name: &str) -> bool {
        matches!(self.globals.get(name), Some(Global::Extern(_)))
    }

    /// The operator table (built-in and user-defined operators).
    pub fn operators(&self) -> &Operators {
        &self.operators
    }

    /// Names of the functions defined or declared so far (for completion).
    pub fn function_names(&self) -> impl Iterator<Item = &str> {
        self.globals.keys().map(|name| &**name)
    }

    /// Resolves and accepts one item parsed elsewhere (from `source`'s text), as
    /// [`Session::run`] does with each item it parses: for tools that keep the parse
    /// tree too (`toy lsp`'s index).
    pub fn accept_item(&mut self, item: syntax::Item<'_>, span: Span) -> Result<Outcome, Error> {
        accept_parsed(
            item,
            span,
            &mut self.operators,
            &mut self.globals,
            self.engine.as_deref_mut(),
            &mut self.log,
        )
    }

    /// Parses and resolves a whole program (no engine): its items, or its first error.
    pub fn resolve_program(text: &str) -> Result<Vec<Item>, Error> {
        let mut session = Session::new(None);
        let source = session.sources_mut().add("program", text);
        let mut items = Vec::new();
        let mut error = None;
        session.run(source, 0, true, &mut |_, result| match result {
            Ok(Outcome::Resolved(item)) => {
                items.push(item);
                ControlFlow::Continue(())
            }
            Ok(_) => ControlFlow::Continue(()),
            Err(err) => {
                error = Some(err);
                ControlFlow::Break(())
            }
        });
        match error {
            Some(err) => Err(err),
            None => Ok(items),
        }
    }

    /// Parses, checks and runs the items of `source` from byte `start` on, calling
    /// `on` with each outcome or error. Unless `eof` is set, an item that may continue
    /// in text not yet read is left pending.
    pub fn run(
        &mut self,
        source: SourceId,
        start: usize,
        eof: bool,
        on: &mut OnOutcome<'_>,
    ) -> Progress {
        if let Some(engine) = self.engine.as_deref_mut()
            && engine.wants_lines()
        {
            engine.source_lines(source, Arc::new(self.sources.lines(source)));
        }
        let text = &self.sources.get(source).text;
        let mut start = start;
        if self.skipping == Some(source) {
            match end_of_failed_item(text, source, start) {
                Some(end) => {
                    self.skipping = None;
                    start = end;
                }
                None => {
                    if eof {
                        self.skipping = None;
                    }
                    return Progress::Done;
                }
            }
        }
        let tokens = Tokens::lex(text, source, start);
        let mut items = tokens.items();
        // After a parse error, whether the parser skipped to the end of the text
        // without finding where the failed item ends.
        let mut unfinished_error = false;
        loop {
            let before = items.offset();
            let Some(step) = items.next() else {
                if unfinished_error {
                    // Text read later may still belong to the failed item: skip it
                    // then, as the parser would had it seen the whole text, so that
                    // piped input and files recover alike.
                    self.skipping = Some(source);
                }
                return Progress::Done;
            };
            unfinished_error = false;
            let result = match step {
                Step::Item { open: true, .. } | Step::Error(_) if !eof && pending(&step) => {
                    return Progress::Pending(before);
                }
                Step::Item { item, span, .. } => accept_parsed(
                    item,
                    span,
                    &mut self.operators,
                    &mut self.globals,
                    self.engine.as_deref_mut(),
                    &mut self.log,
                ),
                Step::Error(err) => {
                    unfinished_error = !eof && !text[..items.offset()].ends_with(';');
                    Err(err.into())
                }
            };
            if on(&self.sources, result).is_break() {
                return Progress::Stopped;
            }
        }
    }
}

/// Resolves a parsed item and hands it to the engine. An operator is installed while
/// its definition is resolved; the table from before is kept for a definition that the
/// resolver or the engine rejects.
fn accept_parsed(
    item: syntax::Item<'_>,
    span: Span,
    operators: &mut Operators,
    globals: &mut HashMap<Name, Global>,
    engine: Option<&mut (dyn Engine + 'static)>,
    log: &mut Vec<Change>,
) -> Result<Outcome, Error> {
    // An operator is installed while its definition is resolved; keep the table from
    // before, for a definition that the resolver or the engine rejects.
    let before = defines_operator(&item).then(|| operators.clone());
    let result = resolve_item(item, operators, &Globals(globals))
        .map_err(Error::from)
        .and_then(|item| accept(item, span, globals, engine, (log, before.clone())));
    if let (Err(_), Some(before)) = (&result, before) {
        *operators = before;
    }
    result
}

/// Where the parser resumes after an item that failed before `start`, if the text
/// from `start` on shows it: after the next `;`, or at the next `def` or `extern`.
fn end_of_failed_item(text: &str, source: SourceId, start: usize) -> Option<usize> {
    lex(text, source, start)
        .into_iter()
        .find_map(|(token, span)| match token {
            Token::Semi => Some(span.end),
            Token::Def | Token::Extern => Some(span.start),
            _ => None,
        })
}

fn pending(step: &Step<'_>) -> bool {
    match step {
        Step::Item { open, .. } => *open,
        Step::Error(err) => err.is_incomplete(),
    }
}

struct Globals<'a>(&'a HashMap<Name, Global>);

impl crate::frontend::resolve::Signatures for Globals<'_> {
    fn arity(&self, name: &str) -> Option<usize> {
        self.0.get(name).map(|g| match g {
            Global::Defined(function) => function.proto.arity(),
            Global::Extern(proto) => proto.arity(),
        })
    }

    fn is_defined(&self, name: &str) -> bool {
        matches!(self.0.get(name), Some(Global::Defined(_)))
    }
}

fn defines_operator(item: &syntax::Item<'_>) -> bool {
    matches!(item, syntax::Item::Def(proto, _) if !matches!(proto.kind, syntax::ProtoKind::Function(_)))
}

/// Hands a resolved item to the engine (if any) and records the new global.
fn accept(
    item: Item,
    span: Span,
    globals: &mut HashMap<Name, Global>,
    engine: Option<&mut (dyn Engine + 'static)>,
    (log, operators_before): (&mut Vec<Change>, Option<Operators>),
) -> Result<Outcome, Error> {
    let run = engine.is_some();
    let outcome = match &item {
        Item::Def(function) => {
            if let Some(engine) = engine {
                engine.define(Arc::clone(function))?;
            }
            let name = function.proto.name.clone();
            let previous = globals.insert(name.clone(), Global::Defined(Arc::clone(function)));
            log.push(Change {
                name: name.clone(),
                previous,
                operators: operators_before,
            });
            Outcome::Defined(name)
        }
        Item::Extern(proto) => {
            let name = proto.name.clone();
            match globals.get(&name) {
                // A `def` takes precedence over an `extern` of the same name, as in
                // the tutorial's JIT, where JIT'd symbols are found first.
                Some(Global::Defined(defined)) if defined.proto.arity() == proto.arity() => {}
                Some(Global::Defined(defined)) => {
                    return Err(ProgramError::ConflictingExtern {
                        name: name.to_string(),
                        defined: defined.proto.arity(),
                        span,
                    }
                    .into());
                }
                _ => {
                    if let Some(engine) = engine {
                        engine.declare(Arc::clone(proto))?;
                    }
                    let previous = globals.insert(name.clone(), Global::Extern(Arc::clone(proto)));
                    log.push(Change {
                        name: name.clone(),
                        previous,
                        operators: None,
                    });
                }
            }
            Outcome::Declared(name)
        }
        Item::Expr(function) => match engine {
            Some(engine) => Outcome::Evaluated(engine.evaluate(Arc::clone(function))?),
            None => return Ok(Outcome::Resolved(item)),
        },
    };
    Ok(if run {
        outcome
    } else {
        Outcome::Resolved(item)
    })
}

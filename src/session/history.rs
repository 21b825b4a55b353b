//! What a session has defined, in order, and taking it back: `:list`, `:save`,
//! `:undo` and `:reset` build on these.

use std::sync::Arc;

use crate::engine::Engine;
use crate::error::Error;
use crate::frontend::ast::{Function, Name, Prototype};
use crate::frontend::resolve::Operators;

use super::{Change, Global, Session};

/// A current definition, as [`Session::definitions`] lists it.
#[derive(Clone, Debug)]
pub enum Definition {
    /// A `def` (a function or an operator).
    Function(Arc<Function>),
    /// An `extern`.
    Extern(Arc<Prototype>),
}

impl Definition {
    /// The global name (`binary|` for operators).
    pub fn name(&self) -> &Name {
        match self {
            Definition::Function(function) => &function.proto.name,
            Definition::Extern(proto) => &proto.name,
        }
    }
}

/// What [`Session::undo`] took back.
#[derive(Clone, Debug)]
pub struct Undone {
    /// The name whose last definition was removed.
    pub name: Name,
    /// The definition it has again, or `None` if the name is gone.
    pub restored: Option<Definition>,
}

/// Why [`Session::undo`] did nothing.
#[derive(Debug, thiserror::Error)]
pub enum UndoError {
    /// No definition is left to undo.
    #[error("nothing to undo: no definition in this session")]
    Nothing,
    /// The engine failed to take the body back (the definition stays).
    #[error("cannot undo `{name}`: {source}")]
    Engine {
        /// The definition's name.
        name: Name,
        /// The engine's error.
        source: Error,
    },
}

fn as_definition(global: &Global) -> Definition {
    match global {
        Global::Defined(function) => Definition::Function(Arc::clone(function)),
        Global::Extern(proto) => Definition::Extern(Arc::clone(proto)),
    }
}

impl Session {
    /// The current definitions and externs, each once, in the order of their latest
    /// definition: read back in this order, they define the same program.
    pub fn definitions(&self) -> Vec<Definition> {
        let mut seen = std::collections::HashSet::new();
        let mut list: Vec<Definition> = self
            .log
            .iter()
            .rev()
            .filter(|change| seen.insert(&change.name))
            .filter_map(|change| self.globals.get(&change.name).map(as_definition))
            .collect();
        list.reverse();
        list
    }

    /// Takes back the last accepted `def` or `extern`: the name's previous definition
    /// comes back (in the engine too, so callers see it), or the name is gone; an
    /// operator's previous precedence (or absence) comes back with it.
    pub fn undo(&mut self) -> Result<Undone, UndoError> {
        let change = self.log.pop().ok_or(UndoError::Nothing)?;
        let Change {
            name,
            previous,
            operators,
        } = change.clone();
        let span = match self.globals.get(&name) {
            Some(Global::Defined(function)) => Some(function.proto.span),
            Some(Global::Extern(proto)) => Some(proto.span),
            None => None,
        };
        if let Some(engine) = self.engine.as_deref_mut() {
            let result = match (&previous, span) {
                (Some(Global::Defined(function)), _) => engine.define(Arc::clone(function)),
                (Some(Global::Extern(proto)), _) => engine.declare(Arc::clone(proto)),
                (None, Some(span)) => engine.remove(&name, span),
                (None, None) => Ok(()),
            };
            if let Err(source) = result {
                self.log.push(change);
                return Err(UndoError::Engine { name, source });
            }
        }
        match &previous {
            Some(global) => self.globals.insert(name.clone(), global.clone()),
            None => self.globals.remove(&name),
        };
        if let Some(operators) = operators {
            self.operators = operators;
        }
        Ok(Undone {
            name,
            restored: previous.as_ref().map(as_definition),
        })
    }

    /// Forgets every definition and operator and runs on `engine` from now on (the
    /// sources stay, so that earlier spans stay valid).
    pub fn reset(&mut self, engine: Option<Box<dyn Engine>>) {
        self.engine = engine;
        self.globals.clear();
        self.operators = Operators::new();
        self.log.clear();
        self.skipping = None;
    }

    /// The tier of `name`'s machine code, if the engine compiled it.
    pub fn tier(&mut self, name: &str) -> Option<u8> {
        self.engine.as_deref_mut()?.tier(name)
    }
}

//! The global table: every name the program defines, declares or calls, by id, with
//! its body and its stub. A stub's slot points at the global's code when that code can
//! run (compiled, every callee present with the arity it is called with), else at the
//! trampoline, so the compile callback sees every call that cannot run yet.

use foldhash::{HashMap, HashSet, HashSetExt};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use crate::error::ProgramError;
use crate::frontend::ast::{Function, Name, Prototype};
use crate::frontend::source::Span;
use crate::jit::stubs::Stubs;
use toy_shared::{Addr, ExecError, ExternSymbol};

use toy_shared::executor::Loader;

/// A function's code in executor memory.
#[derive(Clone, Copy, Debug)]
pub struct Code {
    /// Where it starts.
    pub entry: Addr,
    /// The function's own bytes from `entry` (a batch's block holds several).
    pub len: u64,
    /// The block holding it.
    pub block: Addr,
    /// The block's size.
    pub size: u64,
    /// 0: baseline (counting calls when tiering), 1: fully optimized.
    pub tier: u8,
}

/// What a global name currently is.
pub enum Body {
    /// Called somewhere, never defined.
    Undefined,
    /// A `def`: its AST (for arity, callees and compiling) and its code, once compiled.
    Defined {
        /// The function.
        function: Arc<Function>,
        /// Its code, once compiled.
        code: Option<Code>,
    },
    /// An `extern`, resolved (`target`) or not.
    Extern {
        /// The declaration.
        proto: Arc<Prototype>,
        /// Its address in the executor, or why it has none.
        target: Result<Addr, ProgramError>,
    },
}

/// One global name.
pub struct Global {
    /// The name (`binary|` for operators).
    pub name: Name,
    /// What it is now.
    pub body: Body,
    /// Globals whose bodies call this one: they are checked again when it changes.
    pub callers: HashSet<u32>,
    /// Bumped whenever the code it has or will have goes stale (redefinition, a
    /// callee changing kind): background results for older generations are dropped.
    pub generation: u64,
    /// A first compile queued for the background, by its claim flag.
    pub queued: Option<Arc<AtomicBool>>,
    /// Whether a tier-1 recompile was requested for the current generation.
    pub tier_up: bool,
    /// The globals whose change makes this global's current code stale (it inlined
    /// their bodies, or bodies that call them).
    pub embeds: Vec<u32>,
    /// Globals whose code may embed this one (checked against their `embeds` when
    /// this one changes).
    pub dependents: HashSet<u32>,
}

/// Every global, by id, and the stubs of their ids.
#[derive(Default)]
pub struct Globals {
    list: Vec<Global>,
    index: HashMap<Name, u32>,
    /// The stubs, by id.
    pub stubs: Stubs,
}

impl Globals {
    /// The id of `name`, if the table has it.
    pub fn id(&self, name: &str) -> Option<u32> {
        self.index.get(name).copied()
    }

    /// The global `id` (which the table handed out).
    pub fn get(&self, id: u32) -> &Global {
        &self.list[id as usize]
    }

    /// The global `id`, to change it.
    pub fn get_mut(&mut self, id: u32) -> &mut Global {
        &mut self.list[id as usize]
    }

    /// The global `id`, if the table handed it out (ids from the executor may lie).
    pub fn lookup(&self, id: u32) -> Option<&Global> {
        self.list.get(id as usize)
    }

    /// Every global, in id order.
    pub fn iter(&self) -> impl Iterator<Item = &Global> {
        self.list.iter()
    }

    /// The global `name`, created (undefined, slot on its trampoline) if new.
    pub fn intern(&mut self, loader: &mut dyn Loader, name: &str) -> Result<u32, ExecError> {
        if let Some(id) = self.id(name) {
            return Ok(id);
        }
        let id = u32::try_from(self.list.len()).map_err(|_| ExecError::OutOfMemory(0))?;
        self.stubs.create(loader, id)?;
        let name: Name = name.into();
        self.list.push(Global {
            name: name.clone(),
            body: Body::Undefined,
            callers: HashSet::new(),
            generation: 0,
            queued: None,
            tier_up: false,
            embeds: Vec::new(),
            dependents: HashSet::new(),
        });
        self.index.insert(name, id);
        Ok(id)
    }

    /// The stub of `name`, created with its global if new.
    pub fn stub(&mut self, loader: &mut dyn Loader, name: &str) -> Result<Addr, ExecError> {
        let id = self.intern(loader, name)?;
        self.stubs.create(loader, id)
    }

    /// The code global `id` has now, if any.
    pub fn code(&self, id: u32) -> Option<Code> {
        match &self.get(id).body {
            Body::Defined { code, .. } => *code,
            _ => None,
        }
    }

    /// Why `function` cannot run now, if it calls something missing or mismatched.
    pub fn check_calls(&self, function: &Function) -> Option<ProgramError> {
        function.body.calls().find_map(|call| {
            let (name, arity, span) = (call.callee.as_str(), call.arity, call.span);
            let expected = match self.id(name).map(|id| &self.get(id).body) {
                None | Some(Body::Undefined) => {
                    let name = name.to_string();
                    return Some(ProgramError::UnknownFunction { name, span });
                }
                Some(Body::Extern {
                    target: Err(err), ..
                }) => return Some(with_span(err.clone(), span)),
                Some(Body::Defined { function, .. }) => function.proto.arity(),
                Some(Body::Extern { proto, .. }) => proto.arity(),
            };
            (expected != arity).then(|| ProgramError::WrongArity {
                name: name.to_string(),
                expected,
                found: arity,
                span,
            })
        })
    }

    /// The code global `id` may run now: compiled, or an extern's, with every callee
    /// in place.
    fn runnable(&self, id: u32) -> Option<Addr> {
        match &self.get(id).body {
            Body::Undefined => None,
            Body::Defined { function, code } => {
                let code = (*code)?;
                self.check_calls(function).is_none().then_some(code.entry)
            }
            Body::Extern { target, .. } => target.as_ref().ok().copied(),
        }
    }

    /// Points the slot of `id` at its code if it can run, else at its trampoline.
    pub fn refresh(&mut self, loader: &mut dyn Loader, id: u32) -> Result<(), ExecError> {
        match self.runnable(id) {
            Some(code) => self.stubs.point(loader, id, code),
            None => self.stubs.reset(loader, id),
        }
    }

    /// After global `id` changed: re-check it and every function that calls it.
    pub fn changed(&mut self, loader: &mut dyn Loader, id: u32) -> Result<(), ExecError> {
        self.refresh(loader, id)?;
        let callers: Vec<u32> = self.get(id).callers.iter().copied().collect();
        for caller in callers {
            self.refresh(loader, caller)?;
        }
        Ok(())
    }

    /// Notes that `id`'s body calls each of its callees (creating the ones not seen
    /// yet), so that a change to a callee re-checks `id`.
    pub fn record_callers(
        &mut self,
        loader: &mut dyn Loader,
        id: u32,
        function: &Function,
    ) -> Result<(), ExecError> {
        for (name, _) in function.callees() {
            let callee = self.intern(loader, &name)?;
            self.get_mut(callee).callers.insert(id);
        }
        Ok(())
    }

    /// Replaces the body of `id` (its code going stale), returning the old one.
    pub fn replace(&mut self, id: u32, body: Body) -> Body {
        let global = self.get_mut(id);
        global.generation += 1;
        global.queued = None;
        global.tier_up = false;
        global.embeds.clear();
        std::mem::replace(&mut global.body, body)
    }

    /// Registers every global again in a fresh executor: stubs on their trampolines,
    /// no code (functions compile again on their next call), externs looked up anew.
    pub fn reload(&mut self, loader: &mut dyn Loader) -> Result<(), ExecError> {
        self.stubs.clear();
        let mut externs = Vec::new();
        for (id, global) in self.list.iter_mut().enumerate() {
            global.generation += 1;
            global.queued = None;
            global.tier_up = false;
            global.embeds.clear();
            global.dependents.clear();
            match &mut global.body {
                Body::Defined { code, .. } => *code = None,
                Body::Extern { proto, .. } => externs.push((id, Arc::clone(proto))),
                Body::Undefined => {}
            }
        }
        let names: Vec<&str> = externs.iter().map(|(_, p)| &*p.name).collect();
        let found = loader.lookup_externs(&names)?;
        for ((id, proto), found) in externs.iter().zip(found) {
            let target = extern_target(proto, found);
            if let Body::Extern { target: t, .. } = &mut self.list[*id].body {
                *t = target;
            }
        }
        let count = self.list.len() as u32;
        if count > 0 {
            self.stubs.create(loader, count - 1)?;
        }
        for id in 0..count {
            self.refresh(loader, id)?;
        }
        Ok(())
    }
}

/// What an `extern` resolves to, given what the executor found for its name.
pub fn extern_target(proto: &Prototype, found: Option<ExternSymbol>) -> Result<Addr, ProgramError> {
    match found {
        None => Err(ProgramError::UnresolvedExtern {
            name: proto.name.to_string(),
            span: proto.span,
        }),
        Some((_, Some(arity))) if arity != proto.arity() => Err(ProgramError::WrongArity {
            name: proto.name.to_string(),
            expected: arity,
            found: proto.arity(),
            span: proto.span,
        }),
        Some((addr, _)) => Ok(addr),
    }
}

/// An extern's error, reported at the call that met it.
pub fn with_span(err: ProgramError, span: Span) -> ProgramError {
    match err {
        ProgramError::UnresolvedExtern { name, .. } => {
            ProgramError::UnresolvedExtern { name, span }
        }
        ProgramError::WrongArity {
            name,
            expected,
            found,
            ..
        } => ProgramError::WrongArity {
            name,
            expected,
            found,
            span,
        },
        other => other,
    }
}

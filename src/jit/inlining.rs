//! Inlining at tier 1, and undoing it. A tier-1 compile gets the current bodies of
//! the functions it calls (and of theirs, within a budget) as module-private copies
//! the optimizer may inline, so hot code calls no stubs where C would call nothing.
//! That code depends on those bodies: redefinition happens only between items, and
//! when a global changes, every code that embedded its body, or a body calling it, is
//! dropped before the next item runs (its stub back on the trampoline: the next call
//! compiles it again from the current definitions).

use std::collections::VecDeque;
use std::sync::Arc;

use foldhash::{HashSet, HashSetExt};

use crate::frontend::ast::Function;
use crate::jit::State;
use crate::jit::globals::Body;
use toy_shared::ExecError;
use toy_shared::executor::Loader;

/// At most this many bodies are copied into one tier-1 module.
const MAX_BODIES: usize = 16;
/// At most this many expression nodes in all the copied bodies.
const MAX_NODES: usize = 2_000;

/// What a tier-1 compile of one function may inline, and what its code then
/// depends on.
#[derive(Clone, Default)]
pub struct Inlining {
    /// The callees' bodies to copy into the module.
    pub bodies: Vec<Arc<Function>>,
    /// Every global whose change makes the code stale, with its generation when the
    /// bodies were taken: the copied bodies and every global they call.
    pub embeds: Vec<(u32, u64)>,
}

impl State {
    /// The bodies a tier-1 compile of the function `function` (global `id`, `None`
    /// if it is not a global yet) may inline: defined callees that could run now,
    /// breadth first from its own calls, within the budget. Empty when the tier-1
    /// pipeline does not inline (or under `-g`, where a debugger should see every
    /// frame). Top-level expressions do not ask: they run once, and their callees get
    /// code of their own, which the cache keeps.
    pub(super) fn inlining(&self, id: Option<u32>, function: &Function) -> Inlining {
        let mut inlining = Inlining::default();
        if !self.policy.inlines() {
            return inlining;
        }
        let mut seen = HashSet::new();
        seen.extend(id);
        let mut embeds = HashSet::new();
        let mut pending: VecDeque<u32> = VecDeque::new();
        let mut nodes = 0;
        let callees_of = |f: &Function| -> Vec<u32> {
            f.callees()
                .iter()
                .filter_map(|(name, _)| self.globals.id(name))
                .collect()
        };
        pending.extend(callees_of(function));
        while let Some(callee) = pending.pop_front() {
            if !seen.insert(callee) || inlining.bodies.len() == MAX_BODIES {
                continue;
            }
            let Body::Defined { function: body, .. } = &self.globals.get(callee).body else {
                continue;
            };
            // A body whose own calls cannot run yet stays behind its stub, which
            // reports that at the moment the interpreter would.
            if self.globals.check_calls(body).is_some() {
                continue;
            }
            let size = body.body.walk().count();
            if nodes + size > MAX_NODES {
                continue;
            }
            nodes += size;
            inlining.bodies.push(Arc::clone(body));
            embeds.insert(callee);
            let further = callees_of(body);
            embeds.extend(further.iter().copied());
            pending.extend(further);
        }
        // Its own body is not a dependency (a redefinition replaces this code anyway).
        if let Some(id) = id {
            embeds.remove(&id);
        }
        let mut embeds: Vec<u32> = embeds.into_iter().collect();
        embeds.sort_unstable();
        inlining.embeds = embeds
            .into_iter()
            .map(|e| (e, self.globals.get(e).generation))
            .collect();
        inlining
    }

    /// Whether every global `embeds` names is as it was when the bodies were taken.
    pub(super) fn still_current(&self, embeds: &[(u32, u64)]) -> bool {
        embeds
            .iter()
            .all(|&(id, generation)| self.globals.get(id).generation == generation)
    }

    /// Records that global `id`'s code embeds `inlining` (each embedded global learns
    /// that `id` depends on it).
    pub(super) fn record_embeds(&mut self, id: u32, inlining: &Inlining) {
        if !inlining.bodies.is_empty() {
            let names: Vec<&str> = inlining.bodies.iter().map(|b| &*b.proto.name).collect();
            let name = &self.globals.get(id).name;
            let line = format!("[jit] {name} at tier 1 may inline {}", names.join(", "));
            self.tracer.line(&line);
        }
        let embeds: Vec<u32> = inlining.embeds.iter().map(|&(e, _)| e).collect();
        for &e in &embeds {
            self.globals.get_mut(e).dependents.insert(id);
        }
        self.globals.get_mut(id).embeds = embeds;
    }

    /// After global `id` changed (between items): drops the code of every global that
    /// embedded its body or a body calling it; each compiles again on its next call.
    pub(super) fn invalidate_dependents(
        &mut self,
        loader: &mut dyn Loader,
        id: u32,
    ) -> Result<(), ExecError> {
        let dependents: Vec<u32> = self.globals.get_mut(id).dependents.drain().collect();
        for dependent in dependents {
            if !self.globals.get(dependent).embeds.contains(&id) {
                continue;
            }
            let global = self.globals.get_mut(dependent);
            global.embeds.clear();
            global.generation += 1;
            global.queued = None;
            global.tier_up = false;
            let old = match &mut global.body {
                Body::Defined { code, .. } => code.take(),
                _ => None,
            };
            if let Some(old) = old {
                self.blocks.drop_user(loader, old.block)?;
            }
            self.counts.invalidations += 1;
            let name = self.globals.get(dependent).name.clone();
            let changed = self.globals.get(id).name.clone();
            self.tracer.line(&format!(
                "[jit] invalidated {name}: its code inlined `{changed}`, which changed"
            ));
            self.globals.refresh(loader, dependent)?;
        }
        Ok(())
    }
}

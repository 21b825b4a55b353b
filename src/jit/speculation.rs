//! Speculation: when a function is first compiled, queue first compiles of everything
//! it calls, directly or not, for the background threads, in batches (one LLVM module
//! each), so that most first calls find their code ready.

use foldhash::{HashSet, HashSetExt};
use std::collections::VecDeque;
use std::sync::Arc;

use crate::frontend::ast::Function;
use crate::jit::State;
use crate::jit::background::{BATCH, Job, Member, tier_symbol};
use crate::jit::cache::Key;
use crate::jit::globals::Body;
use crate::jit::inlining::Inlining;
use crate::jit::trace::Provenance;
use toy_shared::executor::Loader;

impl State {
    /// Queues first compiles of everything `id` calls, directly or not, that has no
    /// code and no compile queued yet (nor an object in the cache), in batches.
    pub(super) fn speculate_from(&mut self, loader: &mut dyn Loader, id: u32) {
        if !self.policy.speculates() || self.workers().is_none() {
            return;
        }
        let mut pending = VecDeque::from([id]);
        let mut seen = HashSet::new();
        seen.insert(id);
        let mut batch = Vec::new();
        while let Some(id) = pending.pop_front() {
            let Body::Defined { function, .. } = &self.globals.get(id).body else {
                continue;
            };
            let ids: Vec<u32> = function
                .callees()
                .iter()
                .filter_map(|(name, _)| self.globals.id(name))
                .collect();
            for callee in ids {
                if !seen.insert(callee) {
                    continue;
                }
                let global = self.globals.get(callee);
                let Body::Defined {
                    function,
                    code: None,
                } = &global.body
                else {
                    continue;
                };
                if global.queued.is_some() {
                    continue;
                }
                let function = Arc::clone(function);
                pending.push_back(callee);
                if self.policy.starts_at_tier1(callee, &function) {
                    // Compiled at tier 1 when first called (see `resolve`).
                    continue;
                }
                let member = self.member(callee, function, 0);
                if member
                    .key
                    .is_some_and(|key| self.cache.as_mut().is_some_and(|c| c.contains(&key)))
                {
                    continue;
                }
                batch.push(member);
                if batch.len() == BATCH {
                    self.submit(loader, std::mem::take(&mut batch));
                }
            }
        }
        if !batch.is_empty() {
            self.submit(loader, batch);
        }
    }

    /// The key of a batch: a hash of its members' keys, in order (a batch of one is
    /// stored as that function, under its own key). An unchanged program forms the
    /// same batches at the same moments, so a later run finds each batch whole; a
    /// changed function changes its batch's key (its batch compiles again).
    fn batch_key(&mut self, members: &[Member]) -> Option<Key> {
        if let [one] = members {
            return one.key;
        }
        let keys: Option<Vec<Key>> = members.iter().map(|m| m.key).collect();
        let keys = keys?;
        let mut parts: Vec<&[u8]> = vec![b"batch"];
        parts.extend(keys.iter().map(|k| &k[..]));
        Some(self.cache.as_mut()?.key(&parts))
    }

    /// Queues a batch of first compiles, unless the cache has it.
    fn submit(&mut self, loader: &mut dyn Loader, members: Vec<Member>) {
        let key = self.batch_key(&members);
        if let Some(object) = key.and_then(|key| self.cache.as_mut()?.get(&key)) {
            let all: Vec<&Member> = members.iter().collect();
            if self
                .install_object(loader, &object, &all, Provenance::cached(0))
                .is_some()
            {
                return;
            }
        }
        let job = Job::new(members, 0, key);
        for member in &job.members {
            self.globals.get_mut(member.id).queued = Some(job.claim_flag());
        }
        if let Some(workers) = &self.workers {
            workers.submit(job);
        }
    }

    /// A job member compiling `function` (global `id`) at `tier` (inlining its
    /// callees' current bodies at tier 1).
    pub(super) fn member(&mut self, id: u32, function: Arc<Function>, tier: u8) -> Member {
        let symbol = tier_symbol(&function.proto.name, tier);
        let inlining = match tier {
            0 => Inlining::default(),
            _ => self.inlining(Some(id), &function),
        };
        let key = self.key(&function, &symbol, tier, &inlining);
        let generation = self.globals.get(id).generation;
        Member {
            id,
            generation,
            function,
            key,
            inlining,
        }
    }
}

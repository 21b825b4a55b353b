//! Tier-ups, on the JIT's side: asking the background threads ([`super::background`])
//! for tier-1 recompiles of hot functions, taking back whatever they finish (tier-ups
//! and speculative first compiles alike) and installing it with the same stub-slot
//! store as a redefinition.

use std::sync::Arc;

use crate::codegen::Timings;
use crate::frontend::ast::Function;
use crate::jit::State;
use crate::jit::background::{Finished, Job, Member, Workers, tier_symbol};
use crate::jit::globals::Body;
use crate::jit::trace::{Origin, Provenance};
use toy_shared::executor::Loader;

impl State {
    /// The background compile threads, started on first use (none on one core, unless
    /// speculation was asked for).
    pub(super) fn workers(&mut self) -> Option<&Workers> {
        if self.workers.is_none() {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            // Speculation (on by default only with a second core) asked for on one
            // core still gets its thread: it does what it says wherever it runs.
            let threads = match self.policy.speculate() {
                true => cores.saturating_sub(1).max(1),
                false => cores.saturating_sub(1),
            };
            let workers = Workers::new(threads, self.policy.tier1_opt(), self.policy.counting());
            if workers.is_empty() {
                return None;
            }
            self.workers = Some(workers);
        }
        self.workers.as_ref()
    }

    /// Links every compile the background has finished.
    pub(super) fn install_finished(&mut self, loader: &mut dyn Loader) {
        while let Some(done) = self.workers.as_ref().and_then(Workers::try_finished) {
            self.install(loader, done);
        }
    }

    /// Links a finished compile and points the stubs of its members at their code,
    /// except members whose global changed since it was queued. A failure is
    /// dropped: the next call compiles on demand (and reports it), or the function
    /// stays at tier 0.
    fn install(&mut self, loader: &mut dyn Loader, done: Finished) {
        let Finished {
            job,
            object,
            timings,
        } = done;
        let mut current = Vec::new();
        for member in &job.members {
            // Stale if the global, or a body its code would inline, changed since.
            if !self.still_current(&member.inlining.embeds) {
                continue;
            }
            let global = self.globals.get_mut(member.id);
            if global.generation != member.generation {
                continue;
            }
            if job.tier == 0 {
                global.queued = None;
            }
            if let Body::Defined { code, .. } = &global.body
                && code.is_none_or(|code| code.tier < job.tier)
            {
                current.push(member);
            }
        }
        let Ok(object) = object else { return };
        if let (Some(cache), Some(key)) = (&mut self.cache, &job.key) {
            cache.put(key, &object);
        }
        let origin = match job.tier {
            0 => Origin::Speculation,
            _ => Origin::TierUp,
        };
        let made = Provenance {
            tier: job.tier,
            origin,
            timings,
        };
        let installed = self.install_object(loader, &object, &current, made);
        if job.tier == 1 {
            self.counts.tier_ups += installed.unwrap_or(0);
        }
    }

    /// Links `object` for `members` at its tier and gives each the code the object has
    /// for it: how many got code, or `None` if the object could not be linked.
    pub(super) fn install_object(
        &mut self,
        loader: &mut dyn Loader,
        object: &[u8],
        members: &[&Member],
        made: Provenance,
    ) -> Option<u64> {
        if members.is_empty() {
            return Some(0);
        }
        let bodies: Vec<Arc<Function>> = members
            .iter()
            .flat_map(|m| m.inlining.bodies.iter().cloned())
            .collect();
        let linked: Vec<(Arc<Function>, String)> = members
            .iter()
            .map(|m| {
                let symbol = tier_symbol(&m.function.proto.name, made.tier);
                (Arc::clone(&m.function), symbol)
            })
            .collect();
        let codes = self
            .link_members(loader, object, &linked, &bodies, made)
            .ok()?;
        let mut installed = 0;
        for (member, code) in members.iter().zip(codes) {
            if let Some(code) = code {
                self.set_code(loader, member.id, code);
                self.record_embeds(member.id, &member.inlining);
                installed += 1;
            }
        }
        Some(installed)
    }

    /// Waits for the background compile of `id` that a worker has claimed, compiling
    /// other queued functions meanwhile.
    pub(super) fn await_code(&mut self, loader: &mut dyn Loader, id: u32) {
        loop {
            self.install_finished(loader);
            let done = self.globals.code(id).is_some();
            if done || self.globals.get(id).queued.is_none() {
                return;
            }
            let Some(workers) = &self.workers else { return };
            if let Some(job) = workers.steal() {
                self.compile_job(loader, job);
                continue;
            }
            if !workers.busy() {
                // Nobody has it (it cannot happen, but waiting would hang): let the
                // caller compile it on demand after what may have just arrived.
                self.install_finished(loader);
                self.globals.get_mut(id).queued = None;
                return;
            }
            match workers.wait_finished() {
                Some(done) => self.install(loader, done),
                None => return,
            }
        }
    }

    /// Compiles a queued job on this thread and installs it.
    pub(super) fn compile_job(&mut self, loader: &mut dyn Loader, job: Job) {
        let mut timings = Timings::default();
        let object = self.compilers.compile(&job, &mut timings);
        self.install(
            loader,
            Finished {
                job,
                object,
                timings,
            },
        );
    }

    /// Asks for a tier-1 recompile of the hot global `id`: in the background if there
    /// is a second core, else now.
    pub(super) fn tier_up(&mut self, loader: &mut dyn Loader, id: u32, function: Arc<Function>) {
        self.globals.get_mut(id).tier_up = true;
        let member = self.member(id, function, 1);
        if let Some(object) = member.key.and_then(|key| self.cache.as_mut()?.get(&key)) {
            self.install_object(loader, &object, &[&member], Provenance::cached(1));
            return;
        }
        let key = member.key;
        let job = Job::new(vec![member], 1, key);
        match self.workers() {
            Some(workers) => workers.submit(job),
            None => self.compile_job(loader, job),
        }
    }
}

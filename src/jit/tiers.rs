//! Tier-ups and speculation, on the JIT's side: queueing compiles for the background
//! threads ([`super::background`]), taking back what they finish, and installing it
//! with the same stub-slot store as a redefinition.

use super::*;

impl State {
    /// The background compile threads, started on first use (none on one core, unless
    /// speculation was asked for).
    pub(super) fn workers(&mut self) -> Option<&Workers> {
        if self.workers.is_none() {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            // Speculation (on by default only with a second core) asked for on one
            // core still gets its thread: it does what it says wherever it runs.
            let threads = match self.speculate {
                true => cores.saturating_sub(1).max(1),
                false => cores.saturating_sub(1),
            };
            let workers = Workers::new(threads, self.tier1_opt(), self.counting());
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
    pub(super) fn install(&mut self, loader: &mut dyn Loader, done: Finished) {
        let Finished {
            job,
            object,
            timings,
        } = done;
        let mut current = Vec::new();
        for member in &job.members {
            let global = &mut self.globals[member.id as usize];
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
        let installed = self.install_object(loader, &object, &current, job.tier, timings, origin);
        if job.tier == 1 {
            self.tier_ups += installed.unwrap_or(0);
        }
    }

    /// Links `object` for `members` at `tier` and gives each the code the object has
    /// for it: how many got code, or `None` if the object could not be linked.
    pub(super) fn install_object(
        &mut self,
        loader: &mut dyn Loader,
        object: &[u8],
        members: &[&background::Member],
        tier: u8,
        timings: Timings,
        origin: Origin,
    ) -> Option<u64> {
        if members.is_empty() {
            return Some(0);
        }
        let linked: Vec<(Arc<Function>, String)> = members
            .iter()
            .map(|m| {
                let symbol = tier_symbol(&m.function.proto.name, tier);
                (Arc::clone(&m.function), symbol)
            })
            .collect();
        let codes = self
            .link_members(loader, object, &linked, tier, timings, origin)
            .ok()?;
        let mut installed = 0;
        for (member, code) in members.iter().zip(codes) {
            if let Some(code) = code {
                self.set_code(loader, member.id, code);
                installed += 1;
            }
        }
        Some(installed)
    }

    /// The key of a batch: a hash of its members' keys, in order (a batch of one is
    /// stored as that function, under its own key). An unchanged program forms the
    /// same batches at the same moments, so a later run finds each batch whole; a
    /// changed function changes its batch's key (its batch compiles again).
    pub(super) fn batch_key(&mut self, members: &[background::Member]) -> Option<Key> {
        if let [one] = members {
            return one.key;
        }
        let keys: Option<Vec<Key>> = members.iter().map(|m| m.key).collect();
        let keys = keys?;
        let mut parts: Vec<&[u8]> = vec![b"batch"];
        parts.extend(keys.iter().map(|k| &k[..]));
        Some(self.cache.as_mut()?.key(&parts))
    }

    /// Queues first compiles of everything `id` calls, directly or not, that has no
    /// code and no compile queued yet (nor an object in the cache), in batches.
    pub(super) fn speculate_from(&mut self, loader: &mut dyn Loader, id: u32) {
        if !self.speculate || self.first_tier() != 0 || self.workers().is_none() {
            return;
        }
        let mut pending = std::collections::VecDeque::from([id]);
        let mut seen = HashSet::new();
        seen.insert(id);
        let mut batch = Vec::new();
        while let Some(id) = pending.pop_front() {
            let Body::Defined { function, .. } = &self.globals[id as usize].body else {
                continue;
            };
            let mut callees = Vec::new();
            function.body.for_each_call(&mut |name, _, _| {
                if let Some(&callee) = self.index.get(name) {
                    callees.push(callee);
                }
            });
            for callee in callees {
                if !seen.insert(callee) {
                    continue;
                }
                let global = &self.globals[callee as usize];
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
                if self.starts_at_tier1(callee, &function) {
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

    /// Queues a batch of first compiles, unless the cache has it.
    pub(super) fn submit(&mut self, loader: &mut dyn Loader, members: Vec<background::Member>) {
        let key = self.batch_key(&members);
        if let Some(object) = key.and_then(|key| self.cache.as_mut()?.get(&key)) {
            let all: Vec<&background::Member> = members.iter().collect();
            let timings = Timings::default();
            if self
                .install_object(loader, &object, &all, 0, timings, Origin::Cache)
                .is_some()
            {
                return;
            }
        }
        let job = Job::new(members, 0, key);
        for member in &job.members {
            self.globals[member.id as usize].queued = Some(job.claim_flag());
        }
        if let Some(workers) = &self.workers {
            workers.submit(job);
        }
    }

    /// A job member compiling `function` (global `id`) at `tier`.
    pub(super) fn member(
        &mut self,
        id: u32,
        function: Arc<Function>,
        tier: u8,
    ) -> background::Member {
        let symbol = tier_symbol(&function.proto.name, tier);
        let deps = self.deps(&function);
        let key = self.key(&function, &symbol, &deps, tier);
        let generation = self.globals[id as usize].generation;
        background::Member {
            id,
            generation,
            function,
            key,
        }
    }

    /// Waits for the background compile of `id` that a worker has claimed, compiling
    /// other queued functions meanwhile.
    pub(super) fn await_code(&mut self, loader: &mut dyn Loader, id: u32) {
        loop {
            self.install_finished(loader);
            let global = &self.globals[id as usize];
            let done = matches!(global.body, Body::Defined { code: Some(_), .. });
            if done || global.queued.is_none() {
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
                self.globals[id as usize].queued = None;
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
        let object = self.baseline.compile(&job, &mut timings);
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
        self.globals[id as usize].tier_up = true;
        let member = self.member(id, function, 1);
        if let Some(object) = member.key.and_then(|key| self.cache.as_mut()?.get(&key)) {
            let timings = Timings::default();
            self.install_object(loader, &object, &[&member], 1, timings, Origin::Cache);
            return;
        }
        let key = member.key;
        let job = Job::new(vec![member], 1, key);
        match self.workers() {
            Some(workers) => workers.submit(job),
            None => self.compile_job(loader, job),
        }
    }

    /// Releases code replaced during an evaluation that has now ended.
    pub(super) fn release_retired(&mut self, loader: &mut dyn Loader) -> Result<(), ExecError> {
        for block in std::mem::take(&mut self.retired) {
            self.drop_block(loader, block)?;
        }
        Ok(())
    }
}

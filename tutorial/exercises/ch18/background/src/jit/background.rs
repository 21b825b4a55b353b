//! Exercise 1 of chapter 18: tier 1 compiled on a second thread. The worker owns
//! its LLVM contexts and target machines; it receives a function's syntax tree and
//! sends back the bytes of an object file. Linking stays on the JIT's thread.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;

use inkwell::context::Context;
use inkwell::targets::TargetMachine;

use crate::ast::{Item, Prototype};
use crate::codegen::Generator;
use crate::{emit, passes};

/// A tier-1 compile to do.
pub struct Request {
    /// The function.
    pub name: String,
    /// Its generation when the request was made.
    pub generation: u64,
    /// Its definition.
    pub item: Arc<Item>,
    /// Each function its body calls, with the number of arguments of the call.
    pub callees: Vec<(String, usize)>,
}

/// A tier-1 compile done.
pub struct Done {
    /// The function.
    pub name: String,
    /// Its generation when the request was made.
    pub generation: u64,
    /// The object, or why there is none.
    pub object: Result<Vec<u8>, String>,
}

/// The worker thread and its two channels.
pub struct Worker {
    requests: Option<Sender<Request>>,
    done: Receiver<Done>,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    /// Starts the thread. The native target must be initialized.
    pub fn start() -> Self {
        let (requests, inbox) = channel::<Request>();
        let (outbox, done) = channel();
        let thread = std::thread::spawn(move || {
            let machines = passes::host_machine().and_then(|m| Ok((m, emit::jit_machine()?)));
            for request in inbox {
                let object = match &machines {
                    Ok((passes, target)) => compile(&request, passes, target),
                    Err(err) => Err(err.clone()),
                };
                let Request {
                    name, generation, ..
                } = request;
                let done = Done {
                    name,
                    generation,
                    object,
                };
                if outbox.send(done).is_err() {
                    return;
                }
            }
        });
        Worker {
            requests: Some(requests),
            done,
            thread: Some(thread),
        }
    }

    /// Queues a compile.
    pub fn submit(&self, request: Request) {
        if let Some(requests) = &self.requests {
            // The worker ends only when we drop the sender: it is there.
            let _ = requests.send(request);
        }
    }

    /// A compile that is done, if there is one.
    pub fn try_done(&self) -> Option<Done> {
        self.done.try_recv().ok()
    }

    /// Waits for the next compile to be done.
    #[cfg(test)]
    pub fn wait(&self) -> Option<Done> {
        self.done.recv().ok()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Without its sender, the worker's loop ends after the request in progress.
        self.requests.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Compiles one function at tier 1, in a context of its own.
fn compile(
    request: &Request,
    machine: &TargetMachine,
    target: &TargetMachine,
) -> Result<Vec<u8>, String> {
    let context = Context::create();
    let mut generator = Generator::new(&context);
    for (name, arity) in &request.callees {
        if *name == request.name {
            continue;
        }
        let params = (0..*arity).map(|i| format!("x{i}")).collect();
        let name = name.clone();
        let extern_ = Item::Extern(Prototype {
            name,
            params,
            span: 0..0,
        });
        generator.item(&extern_).map_err(|err| err.to_string())?;
    }
    let module = generator
        .item(&request.item)
        .map_err(|err| err.to_string())?;
    passes::optimize(&module, machine)?;
    emit::object(&module, target)
}

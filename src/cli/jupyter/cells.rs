//! The session's thread: shell requests in order, cells run in one [`Session`] on
//! the engine (the remote executor, so that a crash ends only its cell). Running a
//! cell is `run.rs`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Receiver;

use serde::Deserialize;
use serde_json::json;
use toy::codegen::{Compiler, OptLevel};
use toy::commands::{PrintMode, format_value};
use toy::session::Session;

use super::channels::Outbox;
use super::output::Streams;
use super::run::Failure;
use super::wire::{Parent, Request};
use super::{Job, language, log};

/// The fields of an `execute_request` toy uses.
#[derive(Deserialize)]
struct Execute {
    code: String,
    #[serde(default)]
    silent: bool,
    #[serde(default = "yes")]
    store_history: bool,
    #[serde(default = "yes")]
    stop_on_error: bool,
}

fn yes() -> bool {
    true
}

/// The kernel's program: its session, and what it needs to answer.
pub struct Cells {
    pub(super) session: Session,
    outbox: Outbox,
    streams: Streams,
    /// Cells run with `store_history` so far (`In[n]`).
    count: u64,
    /// Diagnostics in ANSI colours (`--color`).
    pub(super) color: bool,
    /// For `:ir` and `:asm`: the JIT's optimization level, and a compiler made once.
    pub(super) opt: OptLevel,
    pub(super) compiler: Option<Compiler>,
    stopping: Arc<AtomicBool>,
}

impl Cells {
    /// A kernel's program on `session`.
    pub fn new(
        session: Session,
        outbox: Outbox,
        streams: Streams,
        opt: OptLevel,
        color: bool,
        stopping: Arc<AtomicBool>,
    ) -> Self {
        Cells {
            session,
            outbox,
            streams,
            count: 0,
            color,
            opt,
            compiler: None,
            stopping,
        }
    }

    /// Handles requests until shutdown (or until the sockets' thread is gone).
    pub fn serve(mut self, jobs: &Receiver<Job>) {
        while let Ok(job) = jobs.recv() {
            match job {
                Job::Shutdown => break,
                Job::Shell(request) => self.shell(request, jobs),
            }
            if self.stopping.load(Ordering::Relaxed) {
                break;
            }
        }
    }

    /// One shell request, between `busy` and `idle`.
    fn shell(&mut self, request: Request, jobs: &Receiver<Job>) {
        let parent = request.parent();
        let status = |state: &str| json!({ "execution_state": state });
        self.outbox.publish("status", &parent, status("busy"));
        let content = &request.content;
        match request.msg_type.as_str() {
            "execute_request" => self.execute(&request, jobs),
            "kernel_info_request" => {
                self.outbox
                    .reply("kernel_info_reply", &parent, language::kernel_info());
            }
            "complete_request" => {
                let code = content["code"].as_str().unwrap_or_default();
                let cursor = content["cursor_pos"]
                    .as_u64()
                    .map_or(code.chars().count(), |at| at as usize);
                let names = self
                    .session
                    .function_names()
                    .filter(|name| name.chars().all(|c| c.is_ascii_alphanumeric()));
                let reply = language::complete(code, cursor, names);
                self.outbox.reply("complete_reply", &parent, reply);
            }
            "is_complete_request" => {
                let code = content["code"].as_str().unwrap_or_default();
                let reply = language::is_complete(code);
                self.outbox.reply("is_complete_reply", &parent, reply);
            }
            "inspect_request" => {
                let reply = json!({ "status": "ok", "found": false, "data": {}, "metadata": {} });
                self.outbox.reply("inspect_reply", &parent, reply);
            }
            "history_request" => {
                let reply = json!({ "status": "ok", "history": [] });
                self.outbox.reply("history_reply", &parent, reply);
            }
            "comm_info_request" => {
                let reply = json!({ "status": "ok", "comms": {} });
                self.outbox.reply("comm_info_reply", &parent, reply);
            }
            // Older clients send it on the shell channel.
            "shutdown_request" => {
                let restart = content["restart"].as_bool().unwrap_or(false);
                let reply = json!({ "status": "ok", "restart": restart });
                self.outbox.reply("shutdown_reply", &parent, reply);
                self.stopping.store(true, Ordering::Relaxed);
            }
            other => log(&format!("ignored a shell message of type {other}")),
        }
        self.outbox.publish("status", &parent, status("idle"));
    }

    /// `execute_request`: runs the cell, streaming its output; then its value or
    /// its error, and the reply.
    fn execute(&mut self, request: &Request, jobs: &Receiver<Job>) {
        let parent = request.parent();
        let execute: Execute = match serde_json::from_value(request.content.clone()) {
            Ok(execute) => execute,
            Err(err) => {
                let failure = Failure::plain(format!("malformed execute_request: {err}"));
                return self.fail(&parent, &failure);
            }
        };
        if !execute.silent && execute.store_history {
            self.count += 1;
        }
        let count = self.count;
        if !execute.silent {
            let input = json!({ "code": execute.code, "execution_count": count });
            self.outbox.publish("execute_input", &parent, input);
        }
        self.streams.begin(parent.clone());
        // An interrupt that came while no cell ran is not this cell's.
        toy_executor::take_interrupt();
        let result = self.run_cell(&execute.code, count);
        self.streams.flush();
        match result {
            Ok(value) => {
                if let (Some(value), false) = (value, execute.silent) {
                    let data = json!({ "text/plain": format_value(value, PrintMode::Shortest) });
                    let result = json!({ "execution_count": count, "data": data, "metadata": {} });
                    self.outbox.publish("execute_result", &parent, result);
                }
                let reply = json!({
                    "status": "ok",
                    "execution_count": count,
                    "payload": [],
                    "user_expressions": {},
                });
                self.outbox.reply("execute_reply", &parent, reply);
            }
            Err(failure) => {
                // Only what was sent before this reply: a client that runs the next
                // cell on seeing it must not find it aborted.
                let queued: Vec<Job> = match execute.stop_on_error {
                    true => jobs.try_iter().collect(),
                    false => Vec::new(),
                };
                self.fail(&parent, &failure);
                self.abort(queued, jobs);
            }
        }
    }

    fn fail(&self, parent: &Parent, failure: &Failure) {
        self.outbox.publish("error", parent, failure.content());
        let mut reply = failure.content();
        reply["status"] = json!("error");
        reply["execution_count"] = json!(self.count);
        self.outbox.reply("execute_reply", parent, reply);
    }

    /// After a failed cell, the cells that were queued behind it are not run (as in
    /// IPython): they would run without what the failed one should have defined.
    /// Other requests among them are answered as usual.
    fn abort(&mut self, queued: Vec<Job>, jobs: &Receiver<Job>) {
        for job in queued {
            match job {
                Job::Shell(request) if request.msg_type == "execute_request" => {
                    let parent = request.parent();
                    let status = |state: &str| json!({ "execution_state": state });
                    self.outbox.publish("status", &parent, status("busy"));
                    let reply = json!({ "status": "aborted", "execution_count": self.count });
                    self.outbox.reply("execute_reply", &parent, reply);
                    self.outbox.publish("status", &parent, status("idle"));
                }
                Job::Shell(request) => self.shell(request, jobs),
                Job::Shutdown => self.stopping.store(true, Ordering::Relaxed),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::jupyter::channels::{Channel, Out};
    use crate::cli::jupyter::wire::Outgoing;
    use bytes::Bytes;
    use serde_json::Value;

    fn request(msg_type: &str, id: &str, content: Value) -> Job {
        Job::Shell(Request {
            identities: vec![Bytes::from_static(b"client")],
            msg_type: msg_type.into(),
            header: json!({ "msg_id": id, "msg_type": msg_type }),
            content,
        })
    }

    #[test]
    fn cells_queued_behind_a_failed_one_are_aborted_and_later_ones_run() {
        let (outbox, mut sent) = Outbox::for_tests();
        let engine: Box<dyn toy::engine::Engine> = Box::new(toy::interp::Interpreter::new());
        let streams = Streams::install(outbox.clone());
        let stopping = Arc::new(AtomicBool::new(false));
        let cells = Cells::new(
            Session::new(Some(engine)),
            outbox,
            streams,
            OptLevel::from_flag(None, false),
            false,
            stopping,
        );
        let (tx, jobs) = std::sync::mpsc::channel();
        let execute = |code: &str| json!({ "code": code });
        tx.send(request("execute_request", "a", execute("def f(x) x; nope")))
            .expect("queued");
        tx.send(request("execute_request", "b", execute("f(1)")))
            .expect("queued");
        tx.send(request("kernel_info_request", "c", json!({})))
            .expect("queued");
        // The session stays on this thread (engines are not Send); a client reads.
        let client = std::thread::spawn(move || {
            let mut replies = Vec::new();
            while replies.len() < 3 {
                match sent.blocking_recv() {
                    Some(Out::Send(Channel::Shell, reply)) => replies.push(reply),
                    Some(_) => {}
                    None => panic!("the outbox closed"),
                }
            }
            // A cell sent after the failed one's reply runs, with what it defined.
            tx.send(request("execute_request", "d", execute("f(2)")))
                .expect("queued");
            let result = loop {
                match sent.blocking_recv() {
                    Some(Out::Send(Channel::Iopub, message))
                        if message.msg_type == "execute_result" =>
                    {
                        break message.content;
                    }
                    Some(_) => {}
                    None => panic!("the outbox closed"),
                }
            };
            (replies, result)
        });
        cells.serve(&jobs);
        let (replies, result) = client.join().expect("the client");
        let of = |reply: &Outgoing| {
            let id = reply.parent.header["msg_id"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            (id, reply.msg_type, reply.content["status"].clone())
        };
        let replies: Vec<_> = replies.iter().map(of).collect();
        assert_eq!(
            replies,
            [
                ("a".into(), "execute_reply", json!("error")),
                ("b".into(), "execute_reply", json!("aborted")),
                ("c".into(), "kernel_info_reply", json!("ok")),
            ]
        );
        assert_eq!(result["data"]["text/plain"], "2.0");
    }
}

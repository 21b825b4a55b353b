//! An executor in another process (`toy-executor`), over pipes or TCP.
//!
//! Memory changes (writes, finalizes, releases, slot updates) are batched and sent
//! with the next request that needs an answer, so linking one object costs two round
//! trips: `Reserve`, then the batch. Look-ups are batched and cached. While code runs,
//! the executor may ask for a function (`Resolve`): the JIT's callback then makes its
//! own requests, and the answer (`Resolved`) lets the code go on.
//!
//! `toy` never hangs on the executor nor trusts it: every wait for an answer that runs
//! no user code has a deadline, Ctrl-C is forwarded and, if the executor does not stop
//! within a grace period, it is ended (`timed`); every id, address and count it
//! sends is checked against what `toy` asked (`check`). Either way the executor is
//! retired, and [`Executor::terminated`] says why, so that the JIT replaces it.

mod check;
mod connection;
mod loader;
mod process;
mod timed;

use std::path::PathBuf;

use connection::Connection;
pub use timed::{INTERRUPT_GRACE, REPLY_TIMEOUT};
use toy_executor::runtime;
use toy_shared::executor::{Executor, Loader, Resolve};
use toy_shared::wire::{Message, RunResult};
use toy_shared::{Abort, Addr, ExecError, Termination};

// Still reachable where they were defined before a `Termination` had to carry them.
pub use toy_shared::{Lie, Stall};

/// How to reach an executor.
#[derive(Clone, Debug)]
pub enum Transport {
    /// Spawn this `toy-executor` binary and talk over its stdin and stdout.
    Spawn(PathBuf),
    /// Connect to a listening `toy-executor` and authenticate with the token.
    Tcp {
        /// `HOST:PORT`.
        addr: String,
        /// The executor's token.
        token: String,
    },
}

/// An executor process.
pub struct Remote {
    transport: Transport,
    conn: Connection,
}

impl Remote {
    /// Starts (or connects to) an executor and shakes hands.
    pub fn new(transport: Transport) -> Result<Self, ExecError> {
        let conn = Connection::open(&transport)?;
        Ok(Remote { transport, conn })
    }

    /// The `toy-executor` beside the running binary (or `$TOY_EXECUTOR`).
    pub fn default_binary() -> PathBuf {
        if let Some(path) = std::env::var_os("TOY_EXECUTOR") {
            return PathBuf::from(path);
        }
        std::env::current_exe()
            .map(|exe| exe.with_file_name("toy-executor"))
            .unwrap_or_else(|_| PathBuf::from("toy-executor"))
    }

    /// The executor's process id, when it is our child.
    pub fn child_pid(&self) -> Option<u32> {
        self.conn.child_pid()
    }
}

// ANCHOR: run_loop
/// Sends `Run` and serves the executor until it finishes: its output, and its
/// `Resolve` requests (through `resolve`, which may make requests of its own).
fn serve_run(
    conn: &mut Connection,
    addr: Addr,
    resolve: &mut Resolve<'_>,
) -> Result<Result<f64, Abort>, ExecError> {
    let batch = conn.send_batch()?;
    let run = conn.send(&Message::Run { addr })?;
    conn.flush()?;
    if let Some(batch) = batch
        && let Err(err) = conn.batch_reply(batch)
    {
        if let ExecError::Refused(_) = err {
            // The executor refuses a Run behind a failed batch: read that answer.
            conn.reply(run, "Run")?;
        }
        return Err(err);
    }
    // A function `toy` declined: the executor must abandon the run.
    let mut declined = None;
    loop {
        // User code runs: no deadline but Ctrl-C's grace.
        conn.watch().expect_run();
        match conn.recv()? {
            (0, Message::Output(bytes)) => runtime::write(&bytes),
            (asked, Message::Resolve { id }) => {
                let known = conn.ledger.resolve(id);
                conn.check(known)?;
                let target = resolve(conn, id).unwrap_or(0);
                conn.watch().restart_grace();
                if target == 0 {
                    declined = Some(id);
                }
                conn.sync()?;
                conn.send_as(asked, &Message::Resolved { addr: target })?;
                conn.flush()?;
            }
            (s, Message::Finished(result)) if s == run => {
                if let Some(id) = declined
                    && !matches!(result, RunResult::Unresolved { id: i } if i == id)
                    && result != RunResult::Interrupted
                {
                    let what = format!("{result:?}");
                    return Err(conn.retire(Lie::IgnoredDecline { id, what }));
                }
                return Ok(match result {
                    RunResult::Value(v) => Ok(v),
                    RunResult::Interrupted => Err(Abort::Interrupted),
                    RunResult::StackOverflow { pc } => Err(Abort::StackOverflow { pc }),
                    RunResult::Unresolved { id } => Err(Abort::Unresolved(id)),
                });
            }
            (s, Message::Failed(why)) if s == run => return Err(ExecError::Refused(why)),
            (s, other) => {
                return Err(conn.retire(Lie::Unrequested {
                    what: other.name(),
                    seq: s,
                }));
            }
        }
    }
}

impl Executor for Remote {
    fn loader(&mut self) -> &mut dyn Loader {
        &mut self.conn
    }

    fn run(
        &mut self,
        addr: Addr,
        resolve: &mut Resolve<'_>,
    ) -> Result<Result<f64, Abort>, ExecError> {
        let conn = &mut self.conn;
        conn.watch().reset_interrupt();
        let result = serve_run(conn, addr, resolve);
        conn.watch().reset_interrupt();
        result
    }
    // ANCHOR_END: run_loop

    fn terminated(&self) -> Option<Termination> {
        self.conn.dead.clone()
    }

    fn pid(&self) -> u32 {
        self.conn.pid
    }

    fn restart(&mut self) -> Result<bool, ExecError> {
        // Dropping the old connection ends its executor first.
        self.conn = Connection::open(&self.transport)?;
        Ok(true)
    }
}

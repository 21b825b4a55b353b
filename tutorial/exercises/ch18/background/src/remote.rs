// ANCHOR: head
//! The executor in a second process: [`Remote`] is the controller's side, which
//! starts `toy --executor` and talks to it over its standard input and output;
//! [`serve`] is the executor's side, a [`Local`] executor that obeys the pipe.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::io::{self, BufReader, StdinLock, StdoutLock};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};

use crate::executor::{ExecError, Executor, Local, Resolve};
use crate::protocol::{self, ToController, ToExecutor};
use crate::{natives, stubs};
// ANCHOR_END: head

// ANCHOR: remote
/// A running executor process and its two pipes.
struct Connection {
    child: Child,
    /// Its standard input: our requests.
    to: ChildStdin,
    /// Its standard output: its answers and questions.
    from: BufReader<ChildStdout>,
}

/// The controller's side of an executor in another process.
pub struct Remote {
    /// The program to start: this one, with `--executor`.
    program: PathBuf,
    /// The executor, when it runs.
    connection: RefCell<Option<Connection>>,
    /// Where its stubs start, as its `Hello` said.
    stubs: Cell<usize>,
    /// Where its natives are, as its `Hello` said.
    natives: RefCell<HashMap<String, usize>>,
}
// ANCHOR_END: remote

// ANCHOR: start
impl Remote {
    /// Starts an executor: this program again, with `--executor`.
    pub fn start() -> Result<Self, ExecError> {
        let program = std::env::current_exe().map_err(|err| ExecError::Refused(err.to_string()))?;
        let remote = Remote {
            program,
            connection: RefCell::new(None),
            stubs: Cell::new(0),
            natives: RefCell::new(HashMap::new()),
        };
        remote.spawn()?;
        Ok(remote)
    }

    /// Starts the process and reads its `Hello`.
    fn spawn(&self) -> Result<(), ExecError> {
        let mut child = Command::new(&self.program)
            .arg("--executor")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|err| ExecError::Crashed(format!("cannot start it: {err}")))?;
        let to = child.stdin.take().expect("a piped stdin");
        let from = BufReader::new(child.stdout.take().expect("a piped stdout"));
        *self.connection.borrow_mut() = Some(Connection { child, to, from });
        match self.receive()? {
            ToController::Hello { stubs, natives } => {
                self.stubs.set(stubs as usize);
                let natives = natives.into_iter().map(|(name, at)| (name, at as usize));
                *self.natives.borrow_mut() = natives.collect();
                Ok(())
            }
            other => Err(self.broken(&other)),
        }
    }
    // ANCHOR_END: start

    // ANCHOR: io
    /// Sends one message; a pipe that fails means the executor is gone.
    fn send(&self, message: &ToExecutor) -> Result<(), ExecError> {
        let result = match self.connection.borrow_mut().as_mut() {
            Some(connection) => protocol::send(&mut connection.to, message),
            None => return Err(ExecError::Crashed("it is not running".into())),
        };
        result.map_err(|err| self.lost(err))
    }

    /// Receives one message; a pipe that fails means the executor is gone, and a
    /// frame that does not decode, that it is broken.
    fn receive(&self) -> Result<ToController, ExecError> {
        let result = match self.connection.borrow_mut().as_mut() {
            Some(connection) => protocol::receive(&mut connection.from),
            None => return Err(ExecError::Crashed("it is not running".into())),
        };
        result.map_err(|err| self.lost(err))
    }
    // ANCHOR_END: io

    // ANCHOR: lost
    /// Ends the connection after a pipe error: the executor has exited, or is killed
    /// if it is still there (it sent nonsense). Says how it ended.
    fn lost(&self, err: io::Error) -> ExecError {
        let gone = matches!(
            err.kind(),
            io::ErrorKind::UnexpectedEof | io::ErrorKind::BrokenPipe
        );
        let how = self.end(!gone);
        match gone {
            true => ExecError::Crashed(how),
            false => ExecError::Crashed(format!("{err}; {how}")),
        }
    }

    /// Ends the connection after a message that makes no sense here.
    fn broken(&self, message: &ToController) -> ExecError {
        let how = self.end(true);
        ExecError::Crashed(format!("it sent {message:?}; {how}"))
    }

    /// Closes the pipes, kills the executor if asked, waits for its end and
    /// describes it.
    fn end(&self, kill: bool) -> String {
        let Some(connection) = self.connection.borrow_mut().take() else {
            return "it is not running".into();
        };
        let Connection {
            mut child,
            to,
            from,
        } = connection;
        // Killed first: it would see its standard input end, and have its say.
        if kill {
            let _ = child.kill();
        }
        // Without its standard input, an executor waiting for a request exits.
        drop((to, from));
        match child.wait() {
            Ok(status) => describe(status),
            Err(err) => format!("cannot wait for it: {err}"),
        }
    }
    // ANCHOR_END: lost

    // ANCHOR: request
    /// Sends a request and receives its answer; `Failed` is a refusal.
    fn request(&self, message: ToExecutor) -> Result<ToController, ExecError> {
        self.send(&message)?;
        match self.receive()? {
            ToController::Failed(reason) => Err(ExecError::Refused(reason)),
            answer => Ok(answer),
        }
    }

    /// A request whose answer is `Done`.
    fn done(&self, message: ToExecutor) -> Result<(), ExecError> {
        match self.request(message)? {
            ToController::Done => Ok(()),
            other => Err(self.broken(&other)),
        }
    }
}
// ANCHOR_END: request

// ANCHOR: describe
/// How a process ended, in words that do not depend on the system's core dumps.
fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => "it ended".into(),
    }
}
// ANCHOR_END: describe

// ANCHOR: executor
impl Executor for Remote {
    fn reserve(&self, len: usize) -> Result<usize, ExecError> {
        match self.request(ToExecutor::Reserve(len as u64))? {
            ToController::Address(address) => Ok(address as usize),
            other => Err(self.broken(&other)),
        }
    }

    fn write(&self, address: usize, bytes: &[u8]) -> Result<(), ExecError> {
        self.done(ToExecutor::Write(address as u64, bytes.to_vec()))
    }

    fn finalize(&self, address: usize) -> Result<(), ExecError> {
        self.done(ToExecutor::Finalize(address as u64))
    }

    fn release(&self, address: usize) -> Result<(), ExecError> {
        self.done(ToExecutor::Release(address as u64))
    }

    fn add_stub(&self) -> Result<usize, ExecError> {
        match self.request(ToExecutor::AddStub)? {
            ToController::Stub(id) => Ok(id as usize),
            other => Err(self.broken(&other)),
        }
    }

    fn stub(&self, id: usize) -> usize {
        self.stubs.get() + id * stubs::ENTRY
    }

    fn set_slot(&self, id: usize, address: Option<usize>) -> Result<(), ExecError> {
        self.done(ToExecutor::SetSlot(id as u32, address.map(|a| a as u64)))
    }

    fn native(&self, name: &str) -> Option<usize> {
        self.natives.borrow().get(name).copied()
    }
    // ANCHOR_END: executor

    // ANCHOR: run
    fn run(&self, address: usize, resolve: &mut Resolve<'_>) -> Result<f64, ExecError> {
        self.send(&ToExecutor::Run(address as u64))?;
        loop {
            match self.receive()? {
                ToController::Output(bytes) => natives::write(&bytes),
                // The executor waits; `resolve` compiles and links, through our
                // other methods, whose requests it serves meanwhile.
                ToController::Resolve(id) => {
                    let answer = match resolve(id as usize) {
                        Ok(address) => ToExecutor::Resolved(address as u64),
                        // The executor leaves the code, and ends the run with `Failed`.
                        Err(message) => ToExecutor::Unresolved(message),
                    };
                    self.send(&answer)?;
                }
                ToController::Value(value) => return Ok(value),
                // ANCHOR: run_stopped
                ToController::Failed(message) => return Err(ExecError::Failed(message)),
                ToController::Overflowed => return Err(ExecError::Overflowed),
                // ANCHOR_END: run_stopped
                other => return Err(self.broken(&other)),
            }
        }
    }

    fn restart(&self) -> Result<(), ExecError> {
        self.end(true);
        self.spawn()
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        // Its standard input closed, the executor exits by itself.
        self.end(false);
    }
}
// ANCHOR_END: run

// ANCHOR: serve
// ANCHOR: natives
/// The natives the executor offers, by name, and its call counters.
const NATIVES: [&str; 15] = [
    "putchard",
    "printd",
    "sin",
    "cos",
    "tan",
    "atan",
    "exp",
    "log",
    "sqrt",
    "fabs",
    "floor",
    "pow",
    "atan2",
    "crash",
    crate::tiers::COUNTERS,
];
// ANCHOR_END: natives

/// The executor's pipes: requests in, answers out.
struct Pipe {
    input: StdinLock<'static>,
    output: StdoutLock<'static>,
}

/// The executor's main loop (`toy --executor`): says hello, then serves requests
/// until its standard input ends.
pub fn serve() -> io::Result<()> {
    let local = Local::new()?;
    let (input, output) = (io::stdin().lock(), io::stdout().lock());
    let mut pipe = Pipe { input, output };
    let natives = NATIVES.iter().filter_map(|&name| {
        let address = local.native(name)?;
        Some((name.to_string(), address as u64))
    });
    let stubs = local.stub(0) as u64;
    let natives = natives.collect();
    protocol::send(&mut pipe.output, &ToController::Hello { stubs, natives })?;
    // The natives write into a buffer, sent as `Output`: standard output is the pipe.
    let (result, _) = natives::capture(|| {
        loop {
            match protocol::receive(&mut pipe.input) {
                Ok(request) => handle(&local, &mut pipe, request)?,
                Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
                Err(err) => return Err(err),
            }
        }
    });
    result
}
// ANCHOR_END: serve

// ANCHOR: handle
/// Serves one request and sends its answer, after what the natives wrote.
fn handle(local: &Local, pipe: &mut Pipe, request: ToExecutor) -> io::Result<()> {
    let address = |a: u64| a as usize;
    let answer = match request {
        ToExecutor::Reserve(len) => local
            .reserve(len as usize)
            .map(|a| ToController::Address(a as u64)),
        ToExecutor::Write(at, bytes) => local
            .write(address(at), &bytes)
            .map(|()| ToController::Done),
        ToExecutor::Finalize(at) => local.finalize(address(at)).map(|()| ToController::Done),
        ToExecutor::Release(at) => local.release(address(at)).map(|()| ToController::Done),
        ToExecutor::AddStub => local.add_stub().map(|id| ToController::Stub(id as u32)),
        ToExecutor::SetSlot(id, at) => local
            .set_slot(id as usize, at.map(address))
            .map(|()| ToController::Done),
        ToExecutor::Run(at) => {
            let mut resolve = |id| ask(local, pipe, id);
            local
                .run(address(at), &mut resolve)
                .map(ToController::Value)
        }
        ToExecutor::Resolved(_) | ToExecutor::Unresolved(_) => Err(ExecError::Refused(
            "an answer, and no `Resolve` waits".into(),
        )),
    };
    let answer = answer.unwrap_or_else(|err| match err {
        ExecError::Refused(reason) | ExecError::Failed(reason) => ToController::Failed(reason),
        ExecError::Overflowed => ToController::Overflowed,
        other => ToController::Failed(other.to_string()),
    });
    send_output(pipe)?;
    protocol::send(&mut pipe.output, &answer)
}

/// The resolver's question, on a function's first call: sends `Resolve` and serves
/// the controller's requests until its `Resolved`.
fn ask(local: &Local, pipe: &mut Pipe, id: usize) -> Result<usize, String> {
    let lost = |err: io::Error| format!("lost the controller: {err}");
    send_output(pipe).map_err(lost)?;
    protocol::send(&mut pipe.output, &ToController::Resolve(id as u32)).map_err(lost)?;
    loop {
        match protocol::receive(&mut pipe.input).map_err(lost)? {
            ToExecutor::Resolved(address) => return Ok(address as usize),
            // ANCHOR: ask_unresolved
            ToExecutor::Unresolved(message) => return Err(message),
            // ANCHOR_END: ask_unresolved
            request => handle(local, pipe, request).map_err(lost)?,
        }
    }
}

/// Sends what the natives wrote since the last time, in frames of at most 1 MiB.
fn send_output(pipe: &mut Pipe) -> io::Result<()> {
    for chunk in natives::take_output().chunks(1 << 20) {
        protocol::send(&mut pipe.output, &ToController::Output(chunk.to_vec()))?;
    }
    Ok(())
}
// ANCHOR_END: handle

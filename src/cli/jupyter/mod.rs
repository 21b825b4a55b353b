//! `toy jupyter`: Kaleidoscope in Jupyter notebooks. `install` writes a kernelspec;
//! `kernel -f CONNECTION.json` is the kernel Jupyter starts, speaking the messaging
//! protocol 5.3 over ZeroMQ (`channels.rs`, `wire.rs`) and running cells in one
//! session on the remote executor (`cells.rs`).

mod cells;
mod channels;
mod connection;
mod install;
mod language;
mod magic;
mod output;
mod run;
mod wire;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use clap::{Parser, Subcommand};
use toy::session::Session;

use super::input::InputError;
use super::setup::SetupError;
use super::{Args, Status, diag};
use connection::ConnectionInfo;

/// Kaleidoscope in Jupyter: register the kernel, or run it.
#[derive(Parser, Debug)]
#[command(name = "toy jupyter")]
struct JupyterArgs {
    #[command(subcommand)]
    command: JupyterCommand,
}

#[derive(Subcommand, Debug)]
enum JupyterCommand {
    /// Register the Kaleidoscope kernel (this `toy` binary) with Jupyter, in the
    /// user's Jupyter data directory ($JUPYTER_DATA_DIR, else ~/.local/share/jupyter)
    Install {
        /// Install into PREFIX/share/jupyter instead (e.g. a virtual environment)
        #[arg(long, value_name = "PREFIX")]
        prefix: Option<PathBuf>,
        /// Show diagnostics in colour (ANSI escapes) in notebooks
        #[arg(long)]
        color: bool,
    },
    /// Run the kernel (Jupyter starts it with the connection file)
    Kernel {
        /// The connection file Jupyter wrote
        #[arg(short = 'f', long = "connection-file", value_name = "CONNECTION.json")]
        connection_file: PathBuf,
        /// Show diagnostics in colour (ANSI escapes)
        #[arg(long)]
        color: bool,
    },
}

/// Why the kernel cannot start, or the kernelspec cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    /// The connection file cannot be read.
    #[error("connection file: {0}")]
    ConnectionFile(#[source] InputError),
    /// The connection file is not what Jupyter writes.
    #[error("connection file {path} is malformed: {source}")]
    Malformed {
        /// The file.
        path: String,
        /// What serde_json said.
        source: serde_json::Error,
    },
    /// The connection file asks for something toy does not do.
    #[error("the connection file asks for {0}")]
    Unsupported(String),
    /// A socket cannot be bound.
    #[error("cannot bind {endpoint}: {source}")]
    Bind {
        /// The endpoint.
        endpoint: String,
        /// What ZeroMQ said.
        source: zeromq::ZmqError,
    },
    /// The sockets' thread or its runtime cannot start.
    #[error("cannot start the kernel's sockets: {0}")]
    Runtime(std::io::Error),
    /// The session's engine cannot start.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// No data directory for the kernelspec.
    #[error("no home directory to install the kernelspec in (set JUPYTER_DATA_DIR)")]
    NoDataDir,
    /// The running binary's path is unknown.
    #[error("cannot tell where this toy binary is: {0}")]
    OwnPath(std::io::Error),
    /// Writing the kernelspec failed.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// What could not be written.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// What the sockets' thread hands the session's thread.
pub enum Job {
    /// A shell request, in the order received.
    Shell(wire::Request),
    /// Stop (after a `shutdown_request` on the control channel).
    Shutdown,
}

/// A line on the kernel's stderr (Jupyter shows it in its log). Never flushes program
/// output: it may be called on the sockets' thread.
fn log(message: &str) {
    eprintln!("toy jupyter: {message}");
}

/// `toy jupyter ...` (arguments after `jupyter`).
pub fn main(args: impl Iterator<Item = String>) -> Status {
    let args = match super::subcommand::<JupyterArgs>("toy jupyter", args) {
        Ok(args) => args,
        Err(status) => return status,
    };
    let result = match args.command {
        JupyterCommand::Install { prefix, color } => install::install(prefix.as_deref(), color)
            .map(|dir| {
                println!("Installed the Kaleidoscope kernel in {}", dir.display());
                println!(
                    "Start it with: jupyter notebook, or jupyter console --kernel kaleidoscope"
                );
            }),
        JupyterCommand::Kernel {
            connection_file,
            color,
        } => kernel(&connection_file, color),
    };
    match result {
        Ok(()) => Status::Ok,
        Err(err) => {
            diag::plain(&err.to_string());
            Status::ProgramError
        }
    }
}

/// Runs the kernel until Jupyter shuts it down.
fn kernel(path: &std::path::Path, color: bool) -> Result<(), KernelError> {
    let info = ConnectionInfo::read(path)?;
    // The REPL's defaults, on the remote executor: a crash ends only its cell.
    let args = Args::try_parse_from(["toy", "--engine=remote"])
        .map_err(|err| KernelError::Runtime(std::io::Error::other(err.to_string())))?;
    args.check(true)?;
    let (jobs_tx, jobs) = std::sync::mpsc::channel();
    let stopping = Arc::new(AtomicBool::new(false));
    let shared = channels::Shared {
        jobs: jobs_tx,
        stopping: Arc::clone(&stopping),
    };
    let (outbox, sockets) = channels::start(info, shared)?;
    // Before the executor starts: it buffers its output as ours is, by line.
    let streams = output::Streams::install(outbox.clone());
    if let Err(err) = toy_executor::handle_interrupts() {
        log(&format!("SIGINT will not interrupt cells: {err}"));
    }
    let engine = match args.engine(true) {
        Ok(engine) => engine,
        Err(err) => {
            outbox.stop();
            let _ = sockets.join();
            return Err(err.into());
        }
    };
    let session = Session::new(Some(engine));
    let cells = cells::Cells::new(
        session,
        outbox.clone(),
        streams,
        args.opt_level(),
        color,
        stopping,
    );
    cells.serve(&jobs);
    outbox.stop();
    let _ = sockets.join();
    toy::jit::stop_background();
    toy::jit::cache::flush();
    Ok(())
}

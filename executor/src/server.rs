//! The executor's side of a session: serves [`Local`] to one controller over a byte
//! stream (the command line and process set-up are in [`crate::command`]).

use std::io::{self, BufReader, BufWriter, Read, Write};
use std::sync::{Arc, Mutex};

use thiserror::Error;
use toy_shared::executor::Loader;
use toy_shared::wire::{
    Message, Op, ProtocolError, RunResult, VERSION, read_message, write_message,
};
use toy_shared::{Abort, ExecError};

use crate::local::{Local, LocalLoader};
use crate::{INTERRUPTED, runtime};

/// Why serving a controller ended early.
#[derive(Debug, Error)]
pub enum ServeError {
    /// A frame from the controller did not decode, or it broke the session's rules.
    #[error("{0}")]
    Protocol(#[from] ProtocolError),
    /// The controller cannot be written to.
    #[error("cannot write to the controller: {0}")]
    Write(ProtocolError),
    /// The executor could not be set up (its memory, its stack).
    #[error("{0}")]
    Exec(#[from] ExecError),
    /// The connection could not be set up.
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// The writing half of a connection, shared with the runtime's output sink.
type Shared<W> = Arc<Mutex<BufWriter<W>>>;

fn send<W: Write>(writer: &Shared<W>, seq: u32, message: &Message) -> Result<(), ServeError> {
    let mut w = writer.lock().unwrap_or_else(|e| e.into_inner());
    write_message(&mut *w, seq, message)
        .and_then(|()| w.flush().map_err(ProtocolError::from))
        .map_err(ServeError::Write)
}

/// Answers one request that is not `Run`.
fn handle(loader: &mut LocalLoader, message: Message) -> Message {
    let reply = match message {
        Message::Reserve { size, align } => loader.reserve(size, align).and_then(|addr| {
            Ok(Message::Address {
                addr,
                in_use: loader.memory_in_use()?,
            })
        }),
        Message::CreateStubs { first } => loader.create_stubs(first).and_then(|addr| {
            Ok(Message::Address {
                addr,
                in_use: loader.memory_in_use()?,
            })
        }),
        Message::Batch(ops) => apply(loader, ops).and_then(|()| {
            Ok(Message::Done {
                in_use: loader.memory_in_use()?,
            })
        }),
        Message::LookupExterns(names) => {
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            loader.lookup_externs(&names).map(|found| {
                Message::Externs(
                    found
                        .into_iter()
                        .map(|f| f.map(|(addr, arity)| (addr, arity.map(|a| a as u32))))
                        .collect(),
                )
            })
        }
        Message::LookupSymbols(names) => {
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            loader.lookup_symbols(&names).map(Message::Symbols)
        }
        other => Err(ProtocolError::Unexpected(other.name()).into()),
    };
    reply.unwrap_or_else(|err| Message::Failed(err.to_string()))
}

fn apply(loader: &mut LocalLoader, ops: Vec<Op>) -> Result<(), ExecError> {
    for op in ops {
        match op {
            Op::Write { addr, bytes } => loader.write(addr, &bytes)?,
            Op::Finalize { addr, size } => loader.finalize(addr, size)?,
            Op::Release { addr } => loader.release(addr)?,
            Op::SetSlot { slot, target } => loader.set_slot(slot, target)?,
            Op::Debug { addr, bytes } => loader.register_debug(addr, bytes)?,
        }
    }
    Ok(())
}

/// Serves one controller until it hangs up (over TCP, one that has authenticated).
pub fn serve<R: Read, W: Write + Send + 'static>(reader: R, writer: W) -> Result<(), ServeError> {
    let mut reader = BufReader::new(reader);
    let writer: Shared<W> = Arc::new(Mutex::new(BufWriter::new(writer)));
    let first = match read_message(&mut reader) {
        Ok(frame) => frame,
        Err(ProtocolError::Closed) => return Ok(()),
        Err(err) => {
            // Tell the controller why, as in a session.
            let _ = send(&writer, 0, &Message::Failed(err.to_string()));
            return Err(err.into());
        }
    };
    match first {
        (
            seq,
            Message::Hello {
                version,
                line_buffered,
            },
        ) => {
            if version != VERSION {
                let err = ProtocolError::Version {
                    ours: VERSION,
                    theirs: version,
                };
                send(&writer, seq, &Message::Failed(err.to_string()))?;
                return Err(err.into());
            }
            let mut local = Local::new()?;
            send(
                &writer,
                seq,
                &Message::Welcome {
                    version: VERSION,
                    triple: "x86_64-pc-linux-gnu".into(),
                    // SAFETY: sysconf has no preconditions.
                    page_size: unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64,
                    resolver: local.loader.resolver(),
                    base: local.loader.base(),
                    pid: std::process::id(),
                },
            )?;
            session(&mut reader, &writer, &mut local, line_buffered)
        }
        (seq, _) => {
            let err = ProtocolError::NotHello;
            let _ = send(&writer, seq, &Message::Failed(err.to_string()));
            Err(err.into())
        }
    }
}

fn session<R: Read, W: Write + Send + 'static>(
    reader: &mut BufReader<R>,
    writer: &Shared<W>,
    local: &mut Local,
    line_buffered: bool,
) -> Result<(), ServeError> {
    let sink = Arc::clone(writer);
    runtime::set_sink(
        Box::new(move |bytes| {
            // A failed write shows up as a closed connection at the next read.
            let _ = send(&sink, 0, &Message::Output(bytes.to_vec()));
        }),
        line_buffered,
    );
    let mut next_seq = 1u32 << 31;
    let mut poisoned = false;
    loop {
        let (seq, message) = match read_message(reader) {
            Ok(frame) => frame,
            Err(ProtocolError::Closed) => return Ok(()),
            Err(err) => {
                let _ = send(writer, 0, &Message::Failed(err.to_string()));
                return Err(err.into());
            }
        };
        let Message::Run { addr } = message else {
            let batch = matches!(message, Message::Batch(_));
            let reply = handle(&mut local.loader, message);
            // A Run sent right behind a failed batch must not run half-loaded code.
            poisoned |= batch && matches!(reply, Message::Failed(_));
            send(writer, seq, &reply)?;
            continue;
        };
        if std::mem::take(&mut poisoned) {
            let why = "not run: the memory changes sent before it failed";
            send(writer, seq, &Message::Failed(why.into()))?;
            continue;
        }
        INTERRUPTED.store(false, std::sync::atomic::Ordering::Relaxed);
        let mut broken = None;
        let result = local.run(addr, &mut |loader, id| {
            // Output so far goes first, then the request; serve the controller's
            // requests until it answers.
            runtime::flush();
            next_seq = next_seq.wrapping_add(1).max(1 << 31);
            let asked = next_seq;
            if let Err(err) = send(writer, asked, &Message::Resolve { id }) {
                broken = Some(err);
                return None;
            }
            loop {
                match read_message(reader) {
                    Ok((seq, Message::Resolved { addr })) if seq == asked => {
                        return (addr != 0).then_some(addr);
                    }
                    Ok((seq, Message::Run { .. })) => {
                        let why = Message::Failed("Run while running".into());
                        if let Err(err) = send(writer, seq, &why) {
                            broken = Some(err);
                            return None;
                        }
                    }
                    Ok((seq, message)) => {
                        if let Err(err) = send(writer, seq, &handle(loader, message)) {
                            broken = Some(err);
                            return None;
                        }
                    }
                    Err(err) => {
                        broken = Some(err.into());
                        return None;
                    }
                }
            }
        });
        runtime::flush();
        if let Some(err) = broken {
            return Err(err);
        }
        let reply = match result {
            Ok(Ok(value)) => Message::Finished(RunResult::Value(value)),
            Ok(Err(Abort::Interrupted)) => Message::Finished(RunResult::Interrupted),
            Ok(Err(Abort::StackOverflow { pc })) => {
                Message::Finished(RunResult::StackOverflow { pc })
            }
            Ok(Err(Abort::Unresolved(id))) => Message::Finished(RunResult::Unresolved { id }),
            Err(err) => Message::Failed(err.to_string()),
        };
        send(writer, seq, &reply)?;
    }
}

//! The kernel's five ZeroMQ sockets, served on a thread of their own (tokio): shell
//! requests go to the session's thread in order; control requests (interrupt,
//! shutdown) and the heartbeat are answered here at once, even while a cell runs; and
//! one outbox sends every reply and iopub message in the order they were made.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;

use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use zeromq::{
    PubSocket, RepSocket, RouterRecvHalf, RouterSendHalf, RouterSocket, Socket, SocketRecv,
    SocketSend, ZmqMessage,
};

use super::connection::ConnectionInfo;
use super::wire::{self, Outgoing, Parent, Request, Signer};
use super::{Job, KernelError, language, log};

/// Where a message goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Channel {
    Shell,
    Control,
    Iopub,
}

pub(super) enum Out {
    /// A message for a channel.
    Send(Channel, Outgoing),
    /// Send what is queued before, then stop serving.
    Stop,
}

/// The most program output one `stream` message gathers from the outbox.
const STREAM_BATCH: usize = 64 << 10;

/// Messages waiting to be sent (bounded: a program printing faster than the frontend
/// reads waits for it).
const OUTBOX_LEN: usize = 1024;

/// The sending side of the kernel: replies and iopub messages, in order.
#[derive(Clone)]
pub struct Outbox(mpsc::Sender<Out>);

impl Outbox {
    /// Publishes a message on iopub (from a thread outside the runtime).
    pub fn publish(&self, msg_type: &'static str, parent: &Parent, content: Value) {
        self.blocking(Channel::Iopub, msg_type, parent, content);
    }

    /// Sends a reply on the shell channel (from a thread outside the runtime).
    pub fn reply(&self, msg_type: &'static str, parent: &Parent, content: Value) {
        self.blocking(Channel::Shell, msg_type, parent, content);
    }

    /// Stops serving once everything sent before is out.
    pub fn stop(&self) {
        let _ = self.0.blocking_send(Out::Stop);
    }

    fn blocking(&self, channel: Channel, msg_type: &'static str, parent: &Parent, content: Value) {
        let message = Outgoing {
            msg_type,
            parent: parent.clone(),
            content,
        };
        // The sockets' thread is gone only when the kernel is stopping.
        let _ = self.0.blocking_send(Out::Send(channel, message));
    }

    async fn send(&self, channel: Channel, msg_type: &'static str, parent: Parent, content: Value) {
        let message = Outgoing {
            msg_type,
            parent,
            content,
        };
        let _ = self.0.send(Out::Send(channel, message)).await;
    }
}

#[cfg(test)]
impl Outbox {
    /// An outbox whose messages a test reads.
    pub(super) fn for_tests() -> (Outbox, mpsc::Receiver<Out>) {
        let (tx, rx) = mpsc::channel(OUTBOX_LEN);
        (Outbox(tx), rx)
    }
}

/// The bound sockets.
struct Sockets {
    shell: RouterSocket,
    control: RouterSocket,
    stdin: RouterSocket,
    iopub: PubSocket,
    heartbeat: RepSocket,
}

async fn bind(info: &ConnectionInfo) -> Result<Sockets, KernelError> {
    async fn one<S: Socket>(info: &ConnectionInfo, port: u16) -> Result<S, KernelError> {
        let mut socket = S::new();
        let endpoint = info.endpoint(port);
        socket
            .bind(&endpoint)
            .await
            .map_err(|source| KernelError::Bind { endpoint, source })?;
        Ok(socket)
    }
    Ok(Sockets {
        shell: one(info, info.shell_port).await?,
        control: one(info, info.control_port).await?,
        stdin: one(info, info.stdin_port).await?,
        iopub: one(info, info.iopub_port).await?,
        heartbeat: one(info, info.hb_port).await?,
    })
}

/// What the sockets' thread shares with the session's.
pub struct Shared {
    /// Shell requests and the shutdown, for the session's thread.
    pub jobs: Sender<Job>,
    /// Set when the kernel is shutting down.
    pub stopping: Arc<AtomicBool>,
}

/// Binds the sockets and serves them on a new thread until [`Outbox::stop`]; returns
/// once they are bound.
pub fn start(
    info: ConnectionInfo,
    shared: Shared,
) -> Result<(Outbox, std::thread::JoinHandle<()>), KernelError> {
    let (tx, rx) = mpsc::channel(OUTBOX_LEN);
    let outbox = Outbox(tx);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let served = outbox.clone();
    let thread = std::thread::Builder::new()
        .name("jupyter".into())
        .spawn(move || {
            // SIGINT must reach the thread that runs the program, not this one.
            toy_executor::block_interrupts();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            let runtime = match runtime {
                Ok(runtime) => runtime,
                Err(err) => {
                    let _ = ready_tx.send(Err(KernelError::Runtime(err)));
                    return;
                }
            };
            runtime.block_on(async move {
                let sockets = match bind(&info).await {
                    Ok(sockets) => sockets,
                    Err(err) => {
                        let _ = ready_tx.send(Err(err));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(()));
                serve(
                    sockets,
                    Arc::new(Signer::new(&info.key)),
                    shared,
                    served,
                    rx,
                )
                .await;
            });
        })
        .map_err(KernelError::Runtime)?;
    match ready_rx.recv() {
        Ok(Ok(())) => Ok((outbox, thread)),
        Ok(Err(err)) => Err(err),
        Err(_) => Err(KernelError::Runtime(std::io::Error::other(
            "the sockets' thread ended before binding",
        ))),
    }
}

async fn serve(
    sockets: Sockets,
    signer: Arc<Signer>,
    shared: Shared,
    outbox: Outbox,
    rx: mpsc::Receiver<Out>,
) {
    let (shell_out, shell_in) = sockets.shell.split();
    let (control_out, control_in) = sockets.control.split();
    tokio::spawn(heartbeat(sockets.heartbeat));
    tokio::spawn(drain(sockets.stdin));
    tokio::spawn(watch_parent(
        shared.jobs.clone(),
        Arc::clone(&shared.stopping),
    ));
    tokio::spawn(shell(shell_in, Arc::clone(&signer), shared.jobs.clone()));
    tokio::spawn(control(control_in, Arc::clone(&signer), outbox, shared));
    let session = uuid::Uuid::new_v4().to_string();
    let sender = Sending {
        shell: shell_out,
        control: control_out,
        iopub: sockets.iopub,
        signer,
        session,
    };
    sender.run(rx).await;
}

/// Stops the kernel when Jupyter, which started it, is gone (the kernel is given
/// another parent), instead of lingering; as ipykernel, only where Jupyter said who it
/// is (`JPY_PARENT_PID`).
async fn watch_parent(jobs: Sender<Job>, stopping: Arc<AtomicBool>) {
    if std::env::var_os("JPY_PARENT_PID").is_none() {
        return;
    }
    let parent = std::os::unix::process::parent_id();
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        tick.tick().await;
        let now = std::os::unix::process::parent_id();
        if now != parent {
            log(&format!(
                "the process that started the kernel is gone ({parent} -> {now}): shutting down"
            ));
            stop(&jobs, &stopping);
            return;
        }
    }
}

/// Stops the session's thread, interrupting the cell it runs.
fn stop(jobs: &Sender<Job>, stopping: &AtomicBool) {
    stopping.store(true, Ordering::Relaxed);
    toy_executor::INTERRUPTED.store(true, Ordering::Relaxed);
    let _ = jobs.send(Job::Shutdown);
}

/// Echoes every heartbeat.
async fn heartbeat(mut socket: RepSocket) {
    loop {
        let ping = match socket.recv().await {
            Ok(ping) => ping,
            Err(err) => return log(&format!("heartbeat stopped: {err}")),
        };
        if let Err(err) = socket.send(ping).await {
            log(&format!("heartbeat: {err}"));
        }
    }
}

/// The stdin channel: toy never asks for input, so whatever comes is dropped.
async fn drain(mut socket: RouterSocket) {
    while socket.recv().await.is_ok() {}
}

/// Receives and checks one request; a bad one is logged and skipped.
async fn receive(socket: &mut RouterRecvHalf, signer: &Signer, channel: &str) -> Option<Request> {
    loop {
        let frames = match socket.recv().await {
            Ok(message) => message.into_vec(),
            Err(err) => {
                log(&format!("{channel} channel stopped: {err}"));
                return None;
            }
        };
        match wire::parse(frames, signer) {
            Ok(request) => return Some(request),
            Err(err) => log(&format!("dropped a {channel} message: {err}")),
        }
    }
}

/// Shell requests go to the session's thread, in order.
async fn shell(mut socket: RouterRecvHalf, signer: Arc<Signer>, jobs: Sender<Job>) {
    while let Some(request) = receive(&mut socket, &signer, "shell").await {
        if jobs.send(Job::Shell(request)).is_err() {
            return;
        }
    }
}

/// Control requests are answered at once, whatever the session is doing.
async fn control(mut socket: RouterRecvHalf, signer: Arc<Signer>, outbox: Outbox, shared: Shared) {
    while let Some(request) = receive(&mut socket, &signer, "control").await {
        let parent = request.parent();
        match request.msg_type.as_str() {
            "interrupt_request" => {
                // The remote executor's watch forwards it to running code.
                toy_executor::INTERRUPTED.store(true, Ordering::Relaxed);
                let content = json!({ "status": "ok" });
                outbox
                    .send(Channel::Control, "interrupt_reply", parent, content)
                    .await;
            }
            "shutdown_request" => {
                let restart = request.content["restart"].as_bool().unwrap_or(false);
                let content = json!({ "status": "ok", "restart": restart });
                outbox
                    .send(Channel::Control, "shutdown_reply", parent, content)
                    .await;
                stop(&shared.jobs, &shared.stopping);
            }
            "kernel_info_request" => {
                let content = language::kernel_info();
                outbox
                    .send(Channel::Control, "kernel_info_reply", parent, content)
                    .await;
            }
            other => log(&format!("ignored a control message of type {other}")),
        }
    }
}

/// The sending halves, and what every outgoing header needs.
struct Sending {
    shell: RouterSendHalf,
    control: RouterSendHalf,
    iopub: PubSocket,
    signer: Arc<Signer>,
    /// This kernel's session id, in every header it sends.
    session: String,
}

impl Sending {
    /// Sends the outbox's messages in order until [`Out::Stop`]; output of one cell
    /// that queued up while the last message was sent goes out as one `stream`
    /// message (at most [`STREAM_BATCH`] bytes, so that every send yields to the
    /// control channel's task, and a frontend gets a program's endless output in
    /// pieces).
    async fn run(mut self, mut rx: mpsc::Receiver<Out>) {
        let mut next = None;
        loop {
            let (channel, mut message) = match next.take() {
                Some(message) => message,
                None => match rx.recv().await {
                    Some(Out::Send(channel, message)) => (channel, message),
                    Some(Out::Stop) | None => return,
                },
            };
            let mut stop = false;
            if message.msg_type == "stream" {
                let mut text = message.content["text"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                while text.len() < STREAM_BATCH {
                    match rx.try_recv() {
                        Ok(Out::Send(Channel::Iopub, more)) if same_stream(&message, &more) => {
                            text.push_str(more.content["text"].as_str().unwrap_or_default());
                        }
                        Ok(Out::Send(channel, other)) => {
                            next = Some((channel, other));
                            break;
                        }
                        Ok(Out::Stop) => {
                            stop = true;
                            break;
                        }
                        Err(_) => break,
                    }
                }
                message.content["text"] = Value::String(text);
            }
            self.send(channel, message).await;
            if stop {
                return;
            }
        }
    }

    async fn send(&mut self, channel: Channel, message: Outgoing) {
        let prefix = match channel {
            Channel::Iopub => vec![Bytes::from_static(message.msg_type.as_bytes())],
            Channel::Shell | Channel::Control => message.parent.identities.clone(),
        };
        let frames = message.frames(prefix, &self.session, &self.signer);
        let Ok(frames) = ZmqMessage::try_from(frames) else {
            return;
        };
        let sent = match channel {
            Channel::Shell => self.shell.send(frames).await,
            Channel::Control => self.control.send(frames).await,
            Channel::Iopub => self.iopub.send(frames).await,
        };
        if let Err(err) = sent {
            log(&format!("cannot send {}: {err}", message.msg_type));
        }
    }
}

fn same_stream(a: &Outgoing, b: &Outgoing) -> bool {
    b.msg_type == "stream"
        && a.parent.header.get("msg_id") == b.parent.header.get("msg_id")
        && a.content.get("name") == b.content.get("name")
}

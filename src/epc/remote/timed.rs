//! Reading and writing the executor's descriptors under deadlines, so that a stopped,
//! silent or wedged executor cannot hang `toy`, and Ctrl-C always gets through.
//!
//! The descriptors are non-blocking and every wait is a poll(2) of at most
//! [`POLL_MS`]: between polls the wait checks Ctrl-C (forwarding it to the executor
//! once) and its deadlines. poll rather than a reader thread and a channel: the
//! writes need deadlines too (a stopped executor stops draining its pipe), a
//! deadline in the middle of a frame comes for free, and no thread is left blocked
//! in a read that cannot be cancelled once `toy` gives up on the executor.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use toy_executor::INTERRUPTED;
use toy_shared::Stall;

/// How long the executor may take to answer a request that runs no user code
/// (the handshake included), or to take bytes we write.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the executor may take to stop after Ctrl-C was forwarded to it.
pub const INTERRUPT_GRACE: Duration = Duration::from_secs(2);
/// How often a waiting controller checks for Ctrl-C, in milliseconds.
const POLL_MS: u64 = 20;

/// How Ctrl-C reaches the executor.
#[derive(Clone, Copy, Debug)]
pub enum Interrupter {
    /// SIGINT to our child process.
    Signal(libc::pid_t),
    /// One byte of urgent data on the socket: SIGURG in the executor.
    Urgent(RawFd),
}

impl Interrupter {
    fn send(self) {
        match self {
            // SAFETY: signalling our own child process.
            Interrupter::Signal(pid) => unsafe {
                libc::kill(pid, libc::SIGINT);
            },
            // SAFETY: sends one byte from a valid buffer on our own socket.
            Interrupter::Urgent(fd) => unsafe {
                libc::send(fd, b"!".as_ptr().cast(), 1, libc::MSG_OOB);
            },
        }
    }
}

/// What a wait is allowed, and what happened to the last one.
#[derive(Debug)]
pub struct Watch {
    interrupter: Interrupter,
    /// Until when, and for the answer to what (`None`: for a write to drain), the
    /// current wait may last; `None`: user code runs.
    deadline: Option<(Instant, Option<&'static str>)>,
    /// Whether Ctrl-C was forwarded (once per run, or per request outside runs).
    interrupt_sent: bool,
    /// Since when the executor has had to stop or answer, once Ctrl-C was forwarded
    /// (`toy`'s own work in between does not count).
    grace_from: Option<Instant>,
    /// Why the last wait was given up.
    pub stall: Option<Stall>,
}

impl Watch {
    /// A watch that forwards Ctrl-C through `interrupter`.
    pub fn new(interrupter: Interrupter) -> Self {
        Watch {
            interrupter,
            deadline: None,
            interrupt_sent: false,
            grace_from: None,
            stall: None,
        }
    }

    /// The next waits are for the answer to `what`, due within [`REPLY_TIMEOUT`].
    pub fn expect_reply(&mut self, what: &'static str) {
        self.deadline = Some((Instant::now() + REPLY_TIMEOUT, Some(what)));
    }

    /// The next waits are for user code: no deadline but the interrupt's grace.
    pub fn expect_run(&mut self) {
        self.deadline = None;
    }

    /// `toy` hands the executor work (a request, the answer to a `Resolve`): after a
    /// forwarded Ctrl-C, the executor has a fresh grace period to finish it.
    pub fn restart_grace(&mut self) {
        if self.grace_from.is_some() {
            self.grace_from = Some(Instant::now());
        }
    }

    /// A run starts or ends: a Ctrl-C still pending is forwarded afresh, and one
    /// forwarded before no longer hurries the executor.
    pub fn reset_interrupt(&mut self) {
        self.interrupt_sent = false;
        self.grace_from = None;
    }

    /// Forwards a pending Ctrl-C once; fails (see [`Watch::stall`]) when the grace
    /// period after it is over. Called before every frame and during every wait: a
    /// program printing without pause keeps the stream busy, and must stop too.
    pub fn check(&mut self) -> io::Result<()> {
        if !self.interrupt_sent && INTERRUPTED.load(Ordering::Relaxed) {
            self.interrupter.send();
            self.interrupt_sent = true;
            self.grace_from = Some(Instant::now());
        }
        let stall = match (self.grace_from, self.deadline) {
            (Some(from), _) if from.elapsed() >= INTERRUPT_GRACE => Stall::IgnoredInterrupt {
                grace: INTERRUPT_GRACE,
            },
            (_, Some((deadline, what))) if Instant::now() >= deadline => match what {
                Some(what) => Stall::NoAnswer {
                    what,
                    after: REPLY_TIMEOUT,
                },
                None => Stall::NotReading {
                    after: REPLY_TIMEOUT,
                },
            },
            _ => return Ok(()),
        };
        let message = stall.to_string();
        self.stall = Some(stall);
        Err(io::Error::new(io::ErrorKind::TimedOut, message))
    }

    /// Waits until `fd` is ready for `events`, or fails with [`io::ErrorKind::TimedOut`]
    /// and the reason in [`Watch::stall`].
    fn wait(&mut self, fd: RawFd, events: libc::c_short) -> io::Result<()> {
        loop {
            self.check()?;
            let mut timeout = Duration::from_millis(POLL_MS);
            if let Some(from) = self.grace_from {
                timeout = timeout.min(INTERRUPT_GRACE.saturating_sub(from.elapsed()));
            }
            if let Some((deadline, _)) = self.deadline {
                timeout = timeout.min(deadline.saturating_duration_since(Instant::now()));
            }
            let mut pfd = libc::pollfd {
                fd,
                events,
                revents: 0,
            };
            // SAFETY: one valid pollfd; the timeout is at most POLL_MS.
            let ready = unsafe { libc::poll(&mut pfd, 1, timeout.as_millis() as i32) };
            if ready > 0 {
                return Ok(());
            }
            if ready < 0 {
                let err = io::Error::last_os_error();
                if err.kind() != io::ErrorKind::Interrupted {
                    return Err(err);
                }
            }
        }
    }
}

/// The descriptor `toy` reads the executor's frames from, with the watch of its waits.
pub struct TimedReader {
    file: File,
    /// The deadlines and interrupt state of every wait on this connection.
    pub watch: Watch,
}

impl TimedReader {
    /// Makes `file` non-blocking and reads it under `watch`.
    pub fn new(file: File, watch: Watch) -> io::Result<Self> {
        set_nonblocking(&file)?;
        Ok(TimedReader { file, watch })
    }

    /// Writes all of `bytes` to `to` (a non-blocking descriptor), waiting under the
    /// watch, within [`REPLY_TIMEOUT`] at most: the executor must drain its input.
    pub fn write_all(&mut self, to: &mut File, mut bytes: &[u8]) -> io::Result<()> {
        let saved = self.watch.deadline;
        self.watch.deadline = Some((Instant::now() + REPLY_TIMEOUT, None));
        let result = loop {
            if bytes.is_empty() {
                break Ok(());
            }
            match to.write(bytes) {
                Ok(0) => break Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => bytes = &bytes[n..],
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if let Err(e) = self.watch.wait(to.as_raw_fd(), libc::POLLOUT) {
                        break Err(e);
                    }
                }
                Err(e) => break Err(e),
            }
        };
        self.watch.deadline = saved;
        result
    }
}

impl Read for TimedReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.file.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.watch.wait(self.file.as_raw_fd(), libc::POLLIN)?;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                other => return other,
            }
        }
    }
}

/// Sets `O_NONBLOCK` on `file`'s open file description.
pub fn set_nonblocking(file: &File) -> io::Result<()> {
    let fd = file.as_raw_fd();
    // SAFETY: F_GETFL/F_SETFL on a descriptor `file` owns.
    let ok = unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        flags >= 0 && libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) >= 0
    };
    if ok {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::OwnedFd;

    /// A watch whose interrupter goes nowhere (an invalid descriptor).
    fn watch() -> Watch {
        Watch::new(Interrupter::Urgent(-1))
    }

    #[test]
    fn a_peer_that_never_answers_is_given_up_at_the_deadline() {
        let (reader, _writer) = std::io::pipe().expect("pipe");
        let mut reader =
            TimedReader::new(File::from(OwnedFd::from(reader)), watch()).expect("reader");
        reader.watch.expect_reply("Hello");
        let start = Instant::now();
        let err = reader.read(&mut [0; 12]).expect_err("no answer");
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(start.elapsed() >= REPLY_TIMEOUT);
        assert_eq!(
            reader.watch.stall,
            Some(Stall::NoAnswer {
                what: "Hello",
                after: REPLY_TIMEOUT
            })
        );
    }

    #[test]
    fn a_peer_that_stops_reading_is_given_up_at_the_deadline() {
        let (_reader, writer) = std::io::pipe().expect("pipe");
        let mut writer = File::from(OwnedFd::from(writer));
        set_nonblocking(&writer).expect("non-blocking");
        let (input, _keep) = std::io::pipe().expect("pipe");
        let mut timed =
            TimedReader::new(File::from(OwnedFd::from(input)), watch()).expect("reader");
        // More than a pipe holds, with nobody reading.
        let err = timed
            .write_all(&mut writer, &vec![0; 4 << 20])
            .expect_err("never drained");
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert_eq!(
            timed.watch.stall,
            Some(Stall::NotReading {
                after: REPLY_TIMEOUT
            })
        );
    }
}

//! The program's standard output: buffered like C's stdio (line-buffered on a terminal,
//! in blocks otherwise), or sent to a sink (the executor process sends it to `toy`);
//! [`flush`] must run before anything else writes to the terminal, so that program
//! output and diagnostics interleave in order.

use std::cell::RefCell;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Mutex, MutexGuard};

/// Where program output goes instead of stdout (the executor process sends it to
/// `toy`).
pub type Sink = Box<dyn FnMut(&[u8]) + Send>;

struct Out {
    buf: Vec<u8>,
    line_buffered: bool,
    sink: Option<Sink>,
}

static OUT: Mutex<Option<Out>> = Mutex::new(None);

const BLOCK: usize = 8192;

/// How [`OUT`] buffers, for `putchard`'s path, which must not lock to find out: 0 before
/// any output, then [`BLOCKS`] or [`LINES`].
static MODE: AtomicU8 = AtomicU8::new(0);
const BLOCKS: u8 = 1;
const LINES: u8 = 2;

thread_local! {
    /// `putchard`'s bytes, gathered on the thread that runs the code and handed to
    /// [`OUT`] a block at a time (at each newline when line-buffered), and before
    /// anything else this thread writes or flushes: one lock per block, not per byte.
    /// Whoever runs JIT'd code also flushes its output (the driver, the executor's
    /// server), so nothing waits here unseen; a thread that ends hands its bytes over.
    static PENDING: Pending = const { Pending(RefCell::new(Vec::new())) };
}

/// A thread's pending bytes; handed to [`OUT`] when the thread ends.
struct Pending(RefCell<Vec<u8>>);

impl Drop for Pending {
    fn drop(&mut self) {
        let bytes = self.0.take();
        if !bytes.is_empty() {
            write(&bytes);
        }
    }
}

/// The output, set up on first use; this thread's pending bytes go in first.
fn lock_out() -> MutexGuard<'static, Option<Out>> {
    let mut guard = OUT.lock().unwrap_or_else(|e| e.into_inner());
    let out = guard.get_or_insert_with(|| {
        let out = Out::stdout();
        MODE.store(
            if out.line_buffered { LINES } else { BLOCKS },
            Ordering::Relaxed,
        );
        out
    });
    // `try_with`: during the thread's exit, `Pending::drop` itself is writing.
    let _ = PENDING.try_with(|pending| {
        if let Ok(mut pending) = pending.0.try_borrow_mut() {
            out.buf.extend_from_slice(&pending);
            pending.clear();
        }
    });
    guard
}

/// Writes program output.
pub fn write(bytes: &[u8]) {
    let mut guard = lock_out();
    let Some(out) = guard.as_mut() else { return };
    out.buf.extend_from_slice(bytes);
    if out.buf.len() >= BLOCK || (out.line_buffered && bytes.contains(&b'\n')) {
        flush_out(out);
    }
}

/// Writes one byte of program output: `putchard`'s path, which a picture drawn in
/// characters takes millions of times, so it costs about what C's `putchar` does: a
/// store into this thread's buffer, and a lock only once a block (or line) is full.
pub(crate) fn write_byte(byte: u8) {
    let mode = MODE.load(Ordering::Relaxed);
    if mode == 0 {
        return write(&[byte]);
    }
    let full = PENDING.with(|pending| {
        let mut pending = pending.0.borrow_mut();
        pending.push(byte);
        pending.len() >= BLOCK || (byte == b'\n' && mode == LINES)
    });
    if full {
        let mut guard = lock_out();
        if let Some(out) = guard.as_mut()
            && (out.buf.len() >= BLOCK || (out.line_buffered && byte == b'\n'))
        {
            flush_out(out);
        }
    }
}

impl Out {
    /// Standard output, line-buffered on a terminal as C's stdio is.
    fn stdout() -> Out {
        Out {
            buf: Vec::with_capacity(BLOCK),
            line_buffered: std::io::stdout().is_terminal(),
            sink: None,
        }
    }
}

/// Sends program output to `sink` from now on, flushing at each newline if
/// `line_buffered`.
pub fn set_sink(sink: Sink, line_buffered: bool) {
    let mut guard = lock_out();
    if let Some(out) = guard.as_mut() {
        flush_out(out);
    }
    *guard = Some(Out {
        buf: Vec::with_capacity(BLOCK),
        line_buffered,
        sink: Some(sink),
    });
    MODE.store(
        if line_buffered { LINES } else { BLOCKS },
        Ordering::Relaxed,
    );
}

/// Whether program output is flushed at each newline: on a terminal, or into a sink
/// that asked for it (a remote executor is told to buffer alike, so that output
/// streams to a notebook as it is produced).
pub fn line_buffered() -> bool {
    lock_out().as_ref().is_some_and(|out| out.line_buffered)
}

/// Writes buffered program output to stdout (or the sink).
pub fn flush() {
    let mut guard = lock_out();
    if let Some(out) = guard.as_mut() {
        flush_out(out);
    }
}

fn flush_out(out: &mut Out) {
    match &mut out.sink {
        Some(sink) if !out.buf.is_empty() => {
            sink(&out.buf);
            out.buf.clear();
        }
        Some(_) => {}
        None => flush_buffer(&mut out.buf),
    }
}

/// The first failed write of program output, until [`take_write_error`] takes it: the
/// runtime cannot report it itself (a library neither prints nor exits), so the driver
/// asks after each item and at the end.
static WRITE_ERROR: Mutex<Option<std::io::Error>> = Mutex::new(None);
/// Set by the first failed write: later output is dropped, since the stream already
/// lost some (and so that one failure is reported once).
static OUTPUT_BROKEN: AtomicBool = AtomicBool::new(false);

/// The first error writing program output to stdout since the last call, if any.
pub fn take_write_error() -> Option<std::io::Error> {
    WRITE_ERROR.lock().unwrap_or_else(|e| e.into_inner()).take()
}

fn flush_buffer(buf: &mut Vec<u8>) {
    if buf.is_empty() {
        return;
    }
    if OUTPUT_BROKEN.load(Ordering::Relaxed) {
        buf.clear();
        return;
    }
    let mut stdout = std::io::stdout().lock();
    let result = stdout.write_all(buf).and_then(|()| stdout.flush());
    buf.clear();
    match result {
        Ok(()) => {}
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => {
            // The reader went away (`toy prog.ks | head`): stop quietly, as a C program
            // killed by SIGPIPE would.
            std::process::exit(141);
        }
        Err(err) => {
            OUTPUT_BROKEN.store(true, Ordering::Relaxed);
            WRITE_ERROR
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get_or_insert(err);
        }
    }
}

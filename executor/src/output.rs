//! The program's standard output: buffered like C's stdio (line-buffered on a terminal,
//! in blocks otherwise), or sent to a sink (the executor process sends it to `toy`);
//! [`flush`] must run before anything else writes to the terminal, so that program
//! output and diagnostics interleave in order.

use std::cell::Cell;
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
    /// server), so nothing waits here unseen; a thread that ends hands its bytes over
    /// ([`Handover`]). Plain cells, with nothing to drop: reaching them costs no check
    /// of the thread-local's state, so a byte costs about what C's `putchar` does.
    static PENDING: Cell<[u8; BLOCK]> = const { Cell::new([0; BLOCK]) };
    /// How many bytes of [`PENDING`] are in use.
    static PENDING_LEN: Cell<usize> = const { Cell::new(0) };
    /// Hands a thread's pending bytes to [`OUT`] when the thread ends.
    static HANDOVER: Handover = const { Handover };
}

/// Dropped when its thread ends, after the thread's last `putchard`.
struct Handover;

impl Drop for Handover {
    fn drop(&mut self) {
        if PENDING_LEN.try_with(Cell::get).unwrap_or(0) > 0 {
            // Taking the lock takes this thread's pending bytes in.
            drop(lock_out());
        }
    }
}

/// Moves this thread's pending bytes to the end of `buf`.
fn take_pending(buf: &mut Vec<u8>) {
    let _ = PENDING_LEN.try_with(|len| {
        let n = len.replace(0);
        if n > 0 {
            // A copy of the block (two `memcpy`s), not a loop over its cells.
            let _ = PENDING.try_with(|pending| buf.extend_from_slice(&pending.get()[..n]));
        }
    });
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
    take_pending(&mut out.buf);
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
    // Inside a block and not a newline: nothing to decide (a block's first byte was
    // written while the output was set up, so `MODE` is known).
    let len = PENDING_LEN.get();
    if len != 0 && len + 1 < BLOCK && byte != b'\n' {
        push_pending(len, byte);
        return;
    }
    write_byte_slowly(byte, len);
}

/// Stores `byte` after the `len` pending bytes of this thread (`len` < [`BLOCK`]).
#[inline(always)]
fn push_pending(len: usize, byte: u8) {
    PENDING.with(|pending| {
        let pending: &Cell<[u8]> = pending;
        pending.as_slice_of_cells()[len].set(byte);
    });
    PENDING_LEN.set(len + 1);
}

/// [`write_byte`] at the start or end of a block, or of a line.
#[cold]
#[inline(never)]
fn write_byte_slowly(byte: u8, len: usize) {
    let mode = MODE.load(Ordering::Relaxed);
    if mode == 0 {
        return write(&[byte]);
    }
    if len == 0 {
        // The first byte of a block: make sure this thread hands its bytes over.
        let _ = HANDOVER.try_with(|_| ());
    }
    push_pending(len, byte);
    if len + 1 >= BLOCK || (byte == b'\n' && mode == LINES) {
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

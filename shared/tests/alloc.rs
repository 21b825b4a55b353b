//! Decoding a hostile payload allocates a bounded amount, whatever lengths it claims:
//! a global allocator here records the peak of bytes live while each one decodes.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use toy_shared::wire::Message;
use toy_shared::wire::bounded::{MAX_LIST_BYTES, max_len};
use toy_shared::wire::codec::{decode, encode};

/// Counts live bytes and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let now = LIVE.fetch_add(by, Ordering::SeqCst) + by;
    PEAK.fetch_max(now, Ordering::SeqCst);
}

// SAFETY: every call forwards to the system allocator with the same arguments; the
// counters only observe.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        // SAFETY: the caller's layout, as GlobalAlloc::alloc requires.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        grew(new_size);
        // SAFETY: as GlobalAlloc::realloc requires, forwarded unchanged.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The tag byte of `message`'s variant.
fn tag(message: &Message) -> u8 {
    encode(message).expect("encodes")[0]
}

/// Bytes allocated at the peak while decoding `payload`, beyond what was live before.
fn peak_of(payload: &[u8]) -> usize {
    let before = LIVE.load(Ordering::SeqCst);
    PEAK.store(before, Ordering::SeqCst);
    let result = decode(payload);
    assert!(result.is_err(), "{} bytes decoded", payload.len());
    PEAK.load(Ordering::SeqCst) - before
}

#[test]
fn lying_lengths_cost_at_most_serdes_cap() {
    // A varint of 2^32 - 1, then nothing: every list, string and byte string claims it.
    let huge = [0xff, 0xff, 0xff, 0xff, 0x0f];
    let mut payloads = Vec::new();
    for message in [
        Message::Batch(vec![]),
        Message::LookupExterns(vec![]),
        Message::LookupSymbols(vec![]),
        Message::Externs(vec![]),
        Message::Symbols(vec![]),
        Message::Output(vec![]),
        Message::Failed(String::new()),
        Message::Auth { token: vec![] },
    ] {
        payloads.push([&[tag(&message)][..], &huge].concat());
    }
    // Nested: a batch claiming 2^32 - 1 ops, the first a write claiming as many bytes.
    let write = encode(&Message::Batch(vec![toy_shared::wire::Op::Write {
        addr: 0,
        bytes: vec![],
    }]))
    .expect("encodes");
    payloads.push([&write[..1], &huge, &write[2..4], &huge].concat());
    // Names, each claiming more bytes than are left.
    let names = [
        &[tag(&Message::LookupExterns(vec![]))][..],
        &huge,
        &[0xff; 64],
    ]
    .concat();
    payloads.push(names);
    for payload in &payloads {
        // postcard gives serde no size hint beyond the bytes left: nothing is
        // preallocated for a length the frame cannot hold.
        assert_eq!(peak_of(payload), 0, "{payload:?}");
    }
}

/// A `LookupExterns` payload claiming `claimed` names, followed by `present` empty ones.
fn names(claimed: u64, present: usize) -> Vec<u8> {
    let mut payload = vec![tag(&Message::LookupExterns(vec![]))];
    let mut n = claimed;
    while n >= 0x80 {
        payload.push(n as u8 | 0x80);
        n >>= 7;
    }
    payload.push(n as u8);
    payload.resize(payload.len() + present, 0);
    payload
}

#[test]
fn a_list_never_grows_past_its_budget() {
    let most = max_len::<String>();
    // Exactly the budget decodes.
    let full = names(most as u64, most);
    assert!(matches!(decode(&full), Ok(Message::LookupExterns(n)) if n.len() == most));
    // One more, with the bytes present: refused before anything is allocated.
    assert_eq!(peak_of(&names(most as u64 + 1, most + 1)), 0);
    // 2^32 - 1 claimed (no size hint), the bytes for more than the budget present: the
    // list grows until the budget, then the frame is refused.
    let peak = peak_of(&names(u32::MAX.into(), most + 10));
    assert!(peak > 0, "the counter counts");
    // Growing, a list holds its old and its new buffer for a moment.
    assert!(peak <= 2 * MAX_LIST_BYTES, "{peak} bytes");
    // Fewer than claimed: the list grows as names are read, until the bytes run out.
    let peak = peak_of(&names(70_000, 69_999));
    assert!(peak <= 2 * MAX_LIST_BYTES, "{peak} bytes");
}

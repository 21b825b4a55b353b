//! Program output (`printd`, `putchard`) as `stream` messages, line by line as the
//! program writes it.

use std::sync::{Arc, Mutex};

use serde_json::json;
use toy::runtime;

use super::channels::Outbox;
use super::wire::Parent;

/// Bytes to text across writes: a UTF-8 sequence split between two writes is kept
/// until its end arrives; bytes that are no UTF-8 become U+FFFD.
#[derive(Default)]
struct Utf8Stream {
    carry: Vec<u8>,
}

impl Utf8Stream {
    fn push(&mut self, bytes: &[u8]) -> String {
        self.carry.extend_from_slice(bytes);
        let mut text = String::new();
        let mut rest = &self.carry[..];
        loop {
            match std::str::from_utf8(rest) {
                Ok(valid) => {
                    text.push_str(valid);
                    rest = &[];
                    break;
                }
                Err(err) => {
                    let (valid, after) = rest.split_at(err.valid_up_to());
                    // Checked by from_utf8 up to here.
                    text.push_str(std::str::from_utf8(valid).unwrap_or_default());
                    match err.error_len() {
                        Some(bad) => {
                            text.push(char::REPLACEMENT_CHARACTER);
                            rest = &after[bad..];
                        }
                        // An unfinished sequence at the end: wait for the rest.
                        None => {
                            rest = after;
                            break;
                        }
                    }
                }
            }
        }
        self.carry = rest.to_vec();
        text
    }

    /// What is left at the end of the output: an unfinished sequence is no UTF-8.
    fn finish(&mut self) -> String {
        let text = if self.carry.is_empty() {
            String::new()
        } else {
            char::REPLACEMENT_CHARACTER.to_string()
        };
        self.carry.clear();
        text
    }
}

struct State {
    parent: Parent,
    text: Utf8Stream,
    outbox: Outbox,
}

impl State {
    fn publish(&self, text: String) {
        if !text.is_empty() {
            let content = json!({ "name": "stdout", "text": text });
            self.outbox.publish("stream", &self.parent, content);
        }
    }
}

/// The program's standard output, sent to the cell that is running.
pub struct Streams {
    state: Arc<Mutex<State>>,
}

impl Streams {
    /// Sends program output to `outbox` from now on, flushed at each newline.
    pub fn install(outbox: Outbox) -> Self {
        let state = Arc::new(Mutex::new(State {
            parent: Parent::default(),
            text: Utf8Stream::default(),
            outbox,
        }));
        let sink = Arc::clone(&state);
        runtime::set_sink(
            Box::new(move |bytes| {
                let mut state = sink.lock().unwrap_or_else(|e| e.into_inner());
                let text = state.text.push(bytes);
                state.publish(text);
            }),
            true,
        );
        Streams { state }
    }

    /// Output from now on belongs to `parent`.
    pub fn begin(&self, parent: Parent) {
        self.lock().parent = parent;
    }

    /// Sends what the program wrote and has not been sent yet.
    pub fn flush(&self) {
        runtime::flush();
        let mut state = self.lock();
        let text = state.text.finish();
        state.publish(text);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_sequences_wait_for_their_end_and_bad_bytes_are_replaced() {
        let mut stream = Utf8Stream::default();
        let e_acute = "é".as_bytes();
        assert_eq!(stream.push(&[b'a', e_acute[0]]), "a");
        assert_eq!(stream.push(&[e_acute[1], b'\n']), "é\n");
        assert_eq!(stream.push(&[0xff, b'b']), "\u{FFFD}b");
        assert_eq!(stream.push(&[0xe2, 0x82]), "");
        assert_eq!(stream.finish(), "\u{FFFD}");
        assert_eq!(stream.push(b"c"), "c");
    }
}

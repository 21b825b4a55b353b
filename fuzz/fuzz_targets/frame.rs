//! Fuzzes the executor protocol's frame decoder: any bytes must give a frame or a
//! `ProtocolError`, never a panic, a hang or an allocation beyond the frame's size;
//! and every decoded message must encode back to the same payload.
#![no_main]

use libfuzzer_sys::fuzz_target;
use toy_executor::protocol::{Message, read_frame, write_frame};

fuzz_target!(|data: &[u8]| {
    let mut input = data;
    // A stream of frames, as a connection would read them.
    while let Ok((seq, message)) = read_frame(&mut input) {
        let mut bytes = Vec::new();
        write_frame(&mut bytes, seq, &message).expect("a decoded message encodes");
        let (again_seq, again) = read_frame(&mut bytes.as_slice()).expect("and decodes again");
        // Compared as bytes: a NaN in a result is not equal to itself.
        assert_eq!((again_seq, again.encode()), (seq, message.encode()));
    }
    // The payload decoder alone, under every kind.
    if let Some((&kind, payload)) = data.split_first() {
        let _ = Message::decode(kind, payload);
    }
});

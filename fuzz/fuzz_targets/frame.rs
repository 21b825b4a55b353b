//! Fuzzes the wire protocol's decoder (`toy_shared::wire`): any bytes must give a
//! frame or a `ProtocolError`, never a panic, a hang or an allocation beyond the
//! frame's bounded cost; and every decoded message must encode back to a payload that
//! decodes to the same message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use toy_shared::wire::codec::{decode, encode};
use toy_shared::wire::{read_message, write_message};

fuzz_target!(|data: &[u8]| {
    let mut input = data;
    // A stream of frames, as a connection would read them.
    while let Ok((seq, message)) = read_message(&mut input) {
        let mut bytes = Vec::new();
        write_message(&mut bytes, seq, &message).expect("a decoded message encodes");
        let (again_seq, again) = read_message(&mut bytes.as_slice()).expect("and decodes again");
        // Compared as bytes: a NaN in a result is not equal to itself.
        assert_eq!(
            (again_seq, encode(&again).expect("encodes")),
            (seq, encode(&message).expect("encodes"))
        );
    }
    // The payload decoder alone.
    let _ = decode(data);
});

//! The codec and framing against good and hostile bytes.

use super::codec::{decode, encode};
use super::error::{Malformed, ProtocolError};
use super::framing::{HEADER, MAX_FRAME, read_frame, write_frame};
use super::messages::{MAX_TOKEN, Message, Op, RunResult, VERSION};
use super::{read_message, write_message};

fn round_trip(message: Message) {
    let mut bytes = Vec::new();
    write_message(&mut bytes, 7, &message).expect("encodes");
    let (seq, back) = read_message(&mut bytes.as_slice()).expect("decodes");
    assert_eq!((seq, back), (7, message));
}

#[test]
fn every_message_round_trips() {
    round_trip(Message::Auth {
        token: b"secret".to_vec(),
    });
    round_trip(Message::Hello {
        version: VERSION,
        line_buffered: true,
    });
    round_trip(Message::Reserve {
        size: 10,
        align: 16,
    });
    round_trip(Message::CreateStubs { first: 64 });
    round_trip(Message::Batch(vec![
        Op::Write {
            addr: 1,
            bytes: vec![1, 2, 3],
        },
        Op::Finalize { addr: 1, size: 3 },
        Op::Release { addr: 9 },
        Op::SetSlot { slot: 2, target: 3 },
        Op::Debug {
            addr: 4,
            bytes: vec![0x7f, b'E'],
        },
    ]));
    round_trip(Message::LookupExterns(vec!["sin".into(), "".into()]));
    round_trip(Message::LookupSymbols(vec!["memset".into()]));
    round_trip(Message::Run { addr: u64::MAX });
    round_trip(Message::Resolved { addr: 0 });
    round_trip(Message::Welcome {
        version: 1,
        triple: "x86_64-pc-linux-gnu".into(),
        page_size: 4096,
        resolver: 1,
        base: 2,
        pid: 3,
    });
    round_trip(Message::Address { addr: 1, in_use: 2 });
    round_trip(Message::Done { in_use: 2 });
    round_trip(Message::Externs(vec![
        None,
        Some((1, Some(2))),
        Some((3, None)),
        Some((4, Some(u32::MAX))),
    ]));
    round_trip(Message::Symbols(vec![None, Some(4)]));
    round_trip(Message::Output(b"hi\n".to_vec()));
    round_trip(Message::Resolve { id: 3 });
    for result in [
        RunResult::Value(-0.5),
        RunResult::Interrupted,
        RunResult::StackOverflow { pc: 3 },
        RunResult::Unresolved { id: 9 },
    ] {
        round_trip(Message::Finished(result));
    }
    round_trip(Message::Failed("no".into()));
}

#[test]
fn the_handshake_keeps_its_layout_across_versions() {
    // A peer of another version reads these first bytes the same way.
    let hello = Message::Hello {
        version: 300,
        line_buffered: false,
    };
    assert_eq!(encode(&hello).expect("encodes"), [1, 0xac, 0x02, 0]);
    let welcome = encode(&Message::Welcome {
        version: 7,
        triple: String::new(),
        page_size: 0,
        resolver: 0,
        base: 0,
        pid: 0,
    });
    assert_eq!(welcome.expect("encodes")[..2], [2, 7]);
    assert_eq!(
        encode(&Message::Failed("x".into())).expect("encodes"),
        [3, 1, b'x']
    );
}

/// A frame with `payload` (header written by hand).
fn frame(payload: &[u8]) -> Vec<u8> {
    let mut f = (payload.len() as u32).to_le_bytes().to_vec();
    f.extend_from_slice(&[0, 0, 0, 0, 1, 0, 0, 0]);
    f.extend_from_slice(payload);
    f
}

fn malformed(bytes: &[u8]) -> bool {
    matches!(
        read_message(&mut &bytes[..]),
        Err(ProtocolError::Malformed(_))
    )
}

#[test]
fn malformed_frames_are_errors() {
    let read = |bytes: &[u8]| read_message(&mut &bytes[..]);
    assert!(matches!(read(&[]), Err(ProtocolError::Closed)));
    assert_eq!(read(&[1, 0, 0]), Err(Malformed::CutHeader.into()));
    // Oversized: refused from the header, before allocating.
    let mut huge = [0u8; HEADER];
    huge[0..4].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(read(&huge), Err(ProtocolError::TooLarge(u32::MAX as usize)));
    let mut reserved = frame(&encode(&Message::Run { addr: 1 }).expect("encodes"));
    reserved[4] = 9;
    assert_eq!(read(&reserved), Err(Malformed::Reserved.into()));

    let run = encode(&Message::Run { addr: u64::MAX }).expect("encodes");
    let mut trailing = run.clone();
    trailing.push(0);
    let truncated = &run[..run.len() - 1];
    assert_eq!(read(&frame(&trailing)), Err(Malformed::Trailing.into()));
    let mut cut = frame(&run);
    cut.truncate(cut.len() - 1);
    assert_eq!(read(&cut), Err(Malformed::CutPayload.into()));
    let long_token = Message::Auth {
        token: vec![b'x'; MAX_TOKEN + 1],
    };
    let long = frame(&encode(&long_token).expect("encodes"));
    assert_eq!(read(&long), Err(Malformed::TokenTooLong.into()));
    let strings = encode(&Message::LookupExterns(vec![])).expect("encodes");
    for payload in [
        // Empty, unknown variant, truncated field, a list claiming 2^32 - 1 names,
        // a bool that is 2, a string that is not UTF-8.
        vec![],
        vec![200],
        truncated.to_vec(),
        [&strings[..1], &[0xff, 0xff, 0xff, 0xff, 0x0f]].concat(),
        vec![1, 1, 2],
        vec![3, 2, 0xc3, 0x28],
    ] {
        assert!(malformed(&frame(&payload)), "{payload:?}");
    }
}

#[test]
fn frames_refuse_payloads_beyond_the_limit_when_written() {
    let mut out = Vec::new();
    let big = vec![0u8; MAX_FRAME + 1];
    assert_eq!(
        write_frame(&mut out, 1, &big),
        Err(ProtocolError::TooLarge(MAX_FRAME + 1))
    );
    assert!(out.is_empty());
    write_frame(&mut out, 1, &big[..MAX_FRAME]).expect("the largest frame");
    assert_eq!(
        read_frame(&mut out.as_slice()).expect("reads").1.len(),
        MAX_FRAME
    );
}

#[test]
fn random_bytes_never_panic() {
    // A small deterministic fuzz (the real one is fuzz/fuzz_targets/frame.rs).
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..20_000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let len = (state % 64) as usize;
        let tag = (state >> 8) as u8 % 20;
        let payload: Vec<u8> = std::iter::once(tag)
            .chain((0..len).map(|i| (state >> (i % 56)) as u8))
            .collect();
        if let Ok(message) = decode(&payload) {
            // What decodes encodes back to the same bytes.
            assert_eq!(encode(&message).expect("encodes"), payload);
        }
    }
}

//! Jupyter messages on the wire: multipart ZeroMQ messages whose four JSON parts are
//! signed with HMAC-SHA256 (messaging protocol 5.3, "The Wire Protocol").

use bytes::Bytes;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::Sha256;

/// The protocol version toy speaks.
pub const PROTOCOL_VERSION: &str = "5.3";

/// Separates the routing identities from the message.
const DELIMITER: &[u8] = b"<IDS|MSG>";

/// Why an incoming message was dropped.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// No `<IDS|MSG>` frame.
    #[error("no <IDS|MSG> delimiter")]
    NoDelimiter,
    /// Fewer than the signature and four JSON parts after the delimiter.
    #[error("{0} frames after the delimiter, fewer than 5")]
    TooShort(usize),
    /// The signature does not match the key.
    #[error("bad signature")]
    BadSignature,
    /// A part is not the JSON it must be.
    #[error("malformed {part}: {source}")]
    Json {
        /// Which part.
        part: &'static str,
        /// What serde_json said.
        source: serde_json::Error,
    },
}

/// The signing key of a connection (none: messages are not signed).
pub struct Signer {
    key: Option<Vec<u8>>,
}

impl Signer {
    /// A signer for `key`; an empty key means no signatures, as in Jupyter.
    pub fn new(key: &str) -> Self {
        Signer {
            key: (!key.is_empty()).then(|| key.as_bytes().to_vec()),
        }
    }

    fn mac(&self, parts: &[&[u8]]) -> Option<Hmac<Sha256>> {
        let key = self.key.as_ref()?;
        // HMAC takes keys of any length.
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
        for part in parts {
            mac.update(part);
        }
        Some(mac)
    }

    /// The hex signature of the four JSON parts (empty without a key).
    pub fn sign(&self, parts: &[&[u8]]) -> String {
        self.mac(parts)
            .map(|mac| hex::encode(mac.finalize().into_bytes()))
            .unwrap_or_default()
    }

    /// Checks `signature` (hex) against the parts, in constant time.
    pub fn verify(&self, signature: &[u8], parts: &[&[u8]]) -> Result<(), WireError> {
        let Some(mac) = self.mac(parts) else {
            return Ok(());
        };
        let expected = hex::decode(signature).map_err(|_| WireError::BadSignature)?;
        mac.verify_slice(&expected)
            .map_err(|_| WireError::BadSignature)
    }
}

/// The fields of a header toy reads (the whole header is kept as JSON to be echoed
/// as the parent of replies).
#[derive(Debug, Deserialize)]
struct HeaderFields {
    msg_type: String,
}

/// A message received on the shell or control channel.
#[derive(Debug)]
pub struct Request {
    /// Routing identities, to address the reply.
    pub identities: Vec<Bytes>,
    /// The header's `msg_type`.
    pub msg_type: String,
    /// The header, verbatim.
    pub header: Value,
    /// The content (an object).
    pub content: Value,
}

/// Splits, verifies and decodes the frames of one message.
pub fn parse(frames: Vec<Bytes>, signer: &Signer) -> Result<Request, WireError> {
    let at = frames
        .iter()
        .position(|frame| frame.as_ref() == DELIMITER)
        .ok_or(WireError::NoDelimiter)?;
    let rest = &frames[at + 1..];
    if rest.len() < 5 {
        return Err(WireError::TooShort(rest.len()));
    }
    let parts: Vec<&[u8]> = rest[1..5].iter().map(|f| f.as_ref()).collect();
    signer.verify(&rest[0], &parts)?;
    let json = |part: &'static str, bytes: &[u8]| -> Result<Value, WireError> {
        serde_json::from_slice(bytes).map_err(|source| WireError::Json { part, source })
    };
    let header = json("header", parts[0])?;
    let fields: HeaderFields =
        serde_json::from_value(header.clone()).map_err(|source| WireError::Json {
            part: "header",
            source,
        })?;
    let content = json("content", parts[3])?;
    if !content.is_object() {
        return Err(WireError::Json {
            part: "content",
            source: serde::de::Error::custom("not an object"),
        });
    }
    Ok(Request {
        identities: frames[..at].to_vec(),
        msg_type: fields.msg_type,
        header,
        content,
    })
}

/// The request a message answers or belongs to.
#[derive(Clone, Debug, Default)]
pub struct Parent {
    /// Where a reply goes.
    pub identities: Vec<Bytes>,
    /// The request's header (`{}` for none).
    pub header: Value,
}

impl Request {
    /// This request as the parent of replies and output.
    pub fn parent(&self) -> Parent {
        Parent {
            identities: self.identities.clone(),
            header: self.header.clone(),
        }
    }
}

/// A message to send: its type, parent and content.
#[derive(Debug)]
pub struct Outgoing {
    /// The header's `msg_type`.
    pub msg_type: &'static str,
    /// What it answers (or the output of).
    pub parent: Parent,
    /// The content.
    pub content: Value,
}

impl Outgoing {
    /// The frames of this message: `prefix` (identities, or an iopub topic), the
    /// delimiter, the signature and the JSON parts, with a fresh header from `session`.
    pub fn frames(&self, prefix: Vec<Bytes>, session: &str, signer: &Signer) -> Vec<Bytes> {
        let header = json!({
            "msg_id": uuid::Uuid::new_v4().to_string(),
            "session": session,
            "username": "kernel",
            "date": humantime::format_rfc3339_micros(std::time::SystemTime::now()).to_string(),
            "msg_type": self.msg_type,
            "version": PROTOCOL_VERSION,
        });
        let parent = match &self.parent.header {
            Value::Null => json!({}),
            header => header.clone(),
        };
        let parts = [
            header.to_string().into_bytes(),
            parent.to_string().into_bytes(),
            b"{}".to_vec(),
            self.content.to_string().into_bytes(),
        ];
        let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        let signature = signer.sign(&refs);
        let mut frames = prefix;
        frames.push(Bytes::from_static(DELIMITER));
        frames.push(Bytes::from(signature.into_bytes()));
        frames.extend(parts.into_iter().map(Bytes::from));
        frames
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(signer: &Signer, header: &str, content: &str) -> Vec<Bytes> {
        let parts: [&[u8]; 4] = [header.as_bytes(), b"{}", b"{}", content.as_bytes()];
        let mut frames = vec![Bytes::from_static(b"peer"), Bytes::from_static(DELIMITER)];
        frames.push(Bytes::from(signer.sign(&parts)));
        frames.extend(parts.iter().map(|p| Bytes::copy_from_slice(p)));
        frames
    }

    const HEADER: &str = r#"{"msg_id":"1","msg_type":"execute_request","session":"s"}"#;

    #[test]
    fn signed_messages_round_trip_and_tampering_is_caught() {
        let signer = Signer::new("secret");
        let frames = message(&signer, HEADER, r#"{"code":"1+1"}"#);
        let request = parse(frames.clone(), &signer).expect("valid");
        assert_eq!(request.msg_type, "execute_request");
        assert_eq!(request.identities, vec![Bytes::from_static(b"peer")]);
        assert_eq!(request.content["code"], "1+1");

        let mut tampered = frames.clone();
        tampered[6] = Bytes::from_static(br#"{"code":"2+2"}"#);
        assert!(matches!(
            parse(tampered, &signer),
            Err(WireError::BadSignature)
        ));
        let other = Signer::new("other key");
        assert!(matches!(
            parse(frames.clone(), &other),
            Err(WireError::BadSignature)
        ));
        let mut not_hex = frames;
        not_hex[2] = Bytes::from_static(b"zz");
        assert!(matches!(
            parse(not_hex, &signer),
            Err(WireError::BadSignature)
        ));
    }

    #[test]
    fn malformed_messages_are_errors() {
        let signer = Signer::new("");
        assert!(matches!(
            parse(vec![Bytes::from_static(b"x")], &signer),
            Err(WireError::NoDelimiter)
        ));
        let short = vec![Bytes::from_static(DELIMITER), Bytes::new()];
        assert!(matches!(parse(short, &signer), Err(WireError::TooShort(1))));
        let bad_json = message(&signer, "{", "{}");
        assert!(matches!(
            parse(bad_json, &signer),
            Err(WireError::Json { part: "header", .. })
        ));
        let no_type = message(&signer, "{}", "{}");
        assert!(matches!(
            parse(no_type, &signer),
            Err(WireError::Json { part: "header", .. })
        ));
        let list = message(&signer, HEADER, "[]");
        assert!(matches!(
            parse(list, &signer),
            Err(WireError::Json {
                part: "content",
                ..
            })
        ));
    }

    #[test]
    fn outgoing_frames_are_signed_and_parse_back() {
        let signer = Signer::new("k");
        let request = parse(message(&signer, HEADER, "{}"), &signer).expect("valid");
        let reply = Outgoing {
            msg_type: "execute_reply",
            parent: request.parent(),
            content: json!({"status": "ok"}),
        };
        let frames = reply.frames(request.identities.clone(), "kernel-session", &signer);
        let back = parse(frames, &signer).expect("our own frames verify");
        assert_eq!(back.msg_type, "execute_reply");
        assert_eq!(back.header["version"], PROTOCOL_VERSION);
        assert_eq!(back.header["session"], "kernel-session");
        assert_eq!(back.content["status"], "ok");
    }
}

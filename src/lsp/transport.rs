//! LSP's framing over a byte stream: `Content-Length: N` headers, an empty line, N
//! bytes of JSON.
//!
//! lsp-server's own stdio transport allocates whatever a `Content-Length` says and
//! stops the server at the first malformed message; this one bounds every header line
//! and body, skips what it cannot read, and lets the server answer it with a parse
//! error and go on.

use std::io::{self, BufRead, Read, Write};

use lsp_server::Message;

/// The largest message body read (a 64 MiB document, escaped as JSON, with room).
pub const MAX_BODY: usize = 256 << 20;

/// The longest header line.
const MAX_HEADER_LINE: u64 = 4096;

/// What one frame held.
#[derive(Debug)]
pub enum Incoming {
    /// A JSON-RPC message.
    Message(Message),
    /// A frame that is no message, and why (it has been skipped).
    Malformed(String),
}

/// Reads the next frame; `None` at the end of the stream.
pub fn read(input: &mut impl BufRead) -> io::Result<Option<Incoming>> {
    let mut length: Option<Result<usize, String>> = None;
    let mut line = Vec::new();
    let length = loop {
        line.clear();
        let read = input
            .by_ref()
            .take(MAX_HEADER_LINE)
            .read_until(b'\n', &mut line)?;
        if read == 0 {
            return Ok(None);
        }
        if line.last() != Some(&b'\n') {
            return Ok(Some(Incoming::Malformed(format!(
                "a header line longer than {MAX_HEADER_LINE} bytes"
            ))));
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        if text.is_empty() {
            match length.take() {
                // An empty line between frames: nothing to read yet.
                None => continue,
                Some(length) => break length,
            }
        }
        match text.split_once(':') {
            Some((name, value)) if name.trim().eq_ignore_ascii_case("content-length") => {
                length = Some(
                    value
                        .trim()
                        .parse::<usize>()
                        .map_err(|_| format!("bad Content-Length `{}`", value.trim())),
                );
            }
            Some(_) => {}
            None => {
                length.get_or_insert(Err(format!("malformed header `{text}`")));
            }
        }
    };
    let length = match length {
        Ok(length) => length,
        Err(why) => return Ok(Some(Incoming::Malformed(why))),
    };
    if length > MAX_BODY {
        io::copy(&mut input.by_ref().take(length as u64), &mut io::sink())?;
        return Ok(Some(Incoming::Malformed(format!(
            "a message of {length} bytes; the most read is {MAX_BODY}"
        ))));
    }
    let mut body = Vec::new();
    input.by_ref().take(length as u64).read_to_end(&mut body)?;
    if body.len() < length {
        return Ok(None);
    }
    Ok(Some(match serde_json::from_slice::<Message>(&body) {
        Ok(message) => Incoming::Message(message),
        Err(err) => Incoming::Malformed(format!("not a JSON-RPC message: {err}")),
    }))
}

/// Writes one message.
pub fn write(output: &mut impl Write, message: Message) -> io::Result<()> {
    message.write(output)
}

/// Writes the answer to a frame that held no request: a parse error with no id.
pub fn write_parse_error(output: &mut impl Write, why: &str) -> io::Result<()> {
    let body = serde_json::json!({
        "jsonrpc": "2.0",
        "id": null,
        "error": { "code": lsp_server::ErrorCode::ParseError as i32, "message": why },
    })
    .to_string();
    write!(output, "Content-Length: {}\r\n\r\n{body}", body.len())?;
    output.flush()
}

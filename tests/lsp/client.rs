//! A minimal LSP client, as an editor is one: it starts `toy lsp`, frames JSON-RPC
//! messages on its stdin and reads its stdout on a thread, so that every wait has a
//! deadline.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// How long any answer may take.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// A running `toy lsp` and what it has sent that nobody has asked for yet.
pub struct Client {
    child: Child,
    stdin: Option<ChildStdin>,
    incoming: Receiver<Value>,
    pending: VecDeque<Value>,
    next_id: i64,
}

impl Client {
    /// Starts `toy lsp`.
    pub fn start() -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_toy"))
            .arg("lsp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start toy lsp");
        let stdout = child.stdout.take().expect("piped stdout");
        let stdin = child.stdin.take();
        let (send, incoming) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            while let Some(message) = read_frame(&mut reader) {
                if send.send(message).is_err() {
                    break;
                }
            }
        });
        Client {
            child,
            stdin,
            incoming,
            pending: VecDeque::new(),
            next_id: 1,
        }
    }

    /// Sends raw bytes, framing and all.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(bytes).expect("write to toy lsp");
        stdin.flush().expect("flush");
    }

    /// Sends one message.
    pub fn send(&mut self, message: Value) {
        let body = message.to_string();
        let frame = format!("Content-Length: {}\r\n\r\n{body}", body.len());
        self.send_raw(frame.as_bytes());
    }

    /// Sends a notification.
    pub fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    /// Sends a request and waits for its response (the whole message: `result` or
    /// `error`).
    pub fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        self.wait_for(|m| m.get("id") == Some(&json!(id)) && m.get("method").is_none())
    }

    /// A request's `result`, which must not be an error.
    pub fn result(&mut self, method: &str, params: Value) -> Value {
        let response = self.request(method, params);
        assert!(response.get("error").is_none(), "{method}: {response}");
        response["result"].clone()
    }

    /// A request's error, which it must be: (code, message).
    pub fn error(&mut self, method: &str, params: Value) -> (i64, String) {
        let response = self.request(method, params);
        let error = &response["error"];
        assert!(error.is_object(), "{method} should fail: {response}");
        let message = error["message"].as_str().unwrap_or_default().to_string();
        (error["code"].as_i64().expect("an error code"), message)
    }

    /// Waits for the next notification `method` and returns its params.
    pub fn notification(&mut self, method: &str) -> Value {
        self.wait_for(|m| m.get("method") == Some(&json!(method)) && m.get("id").is_none())["params"]
            .clone()
    }

    /// Waits for the next message that `wanted` accepts (earlier ones it passes over
    /// stay for later waits).
    pub fn wait_for(&mut self, wanted: impl Fn(&Value) -> bool) -> Value {
        if let Some(i) = self.pending.iter().position(&wanted) {
            return self.pending.remove(i).expect("in range");
        }
        let deadline = Instant::now() + DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.incoming.recv_timeout(left) {
                Ok(message) if wanted(&message) => return message,
                Ok(message) => self.pending.push_back(message),
                Err(RecvTimeoutError::Timeout) => panic!("no answer within {DEADLINE:?}"),
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("toy lsp closed its output; pending: {:?}", self.pending)
                }
            }
        }
    }

    /// `initialize` then `initialized`; the server's capabilities.
    pub fn initialize(&mut self) -> Value {
        let result = self.result(
            "initialize",
            json!({ "processId": null, "rootUri": null, "capabilities": {} }),
        );
        self.notify("initialized", json!({}));
        result["capabilities"].clone()
    }

    /// Opens `uri` with `text`; the diagnostics published for it.
    pub fn open(&mut self, uri: &str, text: &str) -> Vec<Value> {
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": "kaleidoscope", "version": 1, "text": text } }),
        );
        self.diagnostics(uri)
    }

    /// The next diagnostics published for `uri`.
    pub fn diagnostics(&mut self, uri: &str) -> Vec<Value> {
        let params = self.wait_for(|m| {
            m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri
        })["params"]
            .clone();
        params["diagnostics"]
            .as_array()
            .expect("a list of diagnostics")
            .clone()
    }

    /// Closes stdin and waits for the server to end, within the deadline.
    pub fn wait(&mut self) -> ExitStatus {
        self.stdin = None;
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for toy lsp") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "toy lsp did not end within {DEADLINE:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads one framed message; `None` at the end of the stream.
fn read_frame(reader: &mut impl BufRead) -> Option<Value> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(value) = line.strip_prefix("Content-Length: ") {
            length = value.parse::<usize>().ok();
        }
    }
    let mut body = vec![0; length?];
    reader.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

/// `{ textDocument: { uri }, position: { line, character } }`.
pub fn at(uri: &str, line: u32, character: u32) -> Value {
    json!({ "textDocument": { "uri": uri }, "position": { "line": line, "character": character } })
}

/// The (line, character) where `needle`'s `nth` occurrence starts in `text`, counted
/// as LSP counts (lines end at LF; columns in UTF-16 units).
pub fn position_of(text: &str, needle: &str, nth: usize) -> (u32, u32) {
    let offset = text
        .match_indices(needle)
        .nth(nth)
        .unwrap_or_else(|| panic!("`{needle}` #{nth} in the text"))
        .0;
    let before = &text[..offset];
    let line = before.matches('\n').count();
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    let character: usize = before[start..].chars().map(char::len_utf16).sum();
    (line as u32, character as u32)
}

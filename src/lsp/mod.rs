//! `toy lsp`: a language server for Kaleidoscope over a byte stream (the CLI gives it
//! stdin and stdout).
//!
//! One thread reads a message, answers it, and reads the next: an analysis costs
//! milliseconds, so nothing is gained by answering out of order. Messages are
//! lsp-server's types; their framing is `transport.rs`'s. Whatever the client sends —
//! any text, requests in any order, unknown methods, bad parameters, broken frames —
//! gets an error response or is ignored (notifications), never ends the server; a
//! panic in a handler, which would be a bug, is answered as an internal error too.

use std::io::{BufRead, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};

use lsp_server::{ErrorCode, Message, Notification, Request, Response};
use lsp_types::{
    CompletionOptions, HoverProviderCapability, InitializeResult, OneOf, PositionEncodingKind,
    RenameOptions, SemanticTokensFullOptions, SemanticTokensOptions, ServerCapabilities,
    ServerInfo, TextDocumentSyncCapability, TextDocumentSyncKind, WorkDoneProgressOptions,
};
use serde_json::Value;
use thiserror::Error;

mod documents;
mod handlers;
mod position;
mod transport;

pub use documents::{Document, Documents};
pub use position::LineIndex;

/// Why the server stopped other than by `exit`.
#[derive(Debug, Error)]
pub enum LspError {
    /// Reading from or writing to the client failed.
    #[error("cannot talk to the client: {0}")]
    Io(#[from] std::io::Error),
}

/// How the session ended: LSP asks for exit status 0 after `shutdown` then `exit`, 1
/// otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// `exit` after `shutdown`.
    Clean,
    /// `exit` without `shutdown`, or the input ended.
    Abrupt,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Uninitialized,
    Running,
    ShutDown,
}

/// Serves one client on `input` and `output` until it exits or the input ends.
pub fn serve(mut input: impl BufRead, mut output: impl Write) -> Result<Ending, LspError> {
    let mut state = State::Uninitialized;
    let mut documents = Documents::default();
    loop {
        let message = match transport::read(&mut input)? {
            None => return Ok(Ending::Abrupt),
            Some(transport::Incoming::Malformed(why)) => {
                transport::write_parse_error(&mut output, &why)?;
                continue;
            }
            Some(transport::Incoming::Message(message)) => message,
        };
        match message {
            Message::Request(request) => {
                let response = respond(&mut state, &documents, request);
                transport::write(&mut output, response.into())?;
            }
            Message::Notification(notification) if notification.method == "exit" => {
                return Ok(if state == State::ShutDown {
                    Ending::Clean
                } else {
                    Ending::Abrupt
                });
            }
            Message::Notification(notification) if state == State::Running => {
                for reply in notify(&mut documents, notification) {
                    transport::write(&mut output, reply)?;
                }
            }
            // Before `initialize` and after `shutdown`, notifications are dropped, as
            // LSP says; this server sends no requests, so expects no responses.
            Message::Notification(_) | Message::Response(_) => {}
        }
    }
}

fn respond(state: &mut State, documents: &Documents, request: Request) -> Response {
    let Request { id, method, params } = request;
    let result = match (*state, method.as_str()) {
        (State::Uninitialized, "initialize") => {
            *state = State::Running;
            serde_json::to_value(initialize_result())
                .map_err(|err| (ErrorCode::InternalError, err.to_string()))
        }
        (State::Uninitialized, _) => Err((
            ErrorCode::ServerNotInitialized,
            format!("`{method}` before `initialize`"),
        )),
        (_, "initialize") => Err((ErrorCode::InvalidRequest, "already initialized".into())),
        (_, "shutdown") => {
            *state = State::ShutDown;
            Ok(Value::Null)
        }
        (State::ShutDown, _) => Err((
            ErrorCode::InvalidRequest,
            format!("`{method}` after `shutdown`"),
        )),
        (State::Running, _) => catch_unwind(AssertUnwindSafe(|| {
            handlers::request(documents, &method, params)
        }))
        .unwrap_or_else(|_| {
            Err((
                ErrorCode::InternalError,
                format!("`{method}` failed (a bug in toy)"),
            ))
        }),
    };
    match result {
        Ok(value) => Response::new_ok(id, value),
        Err((code, message)) => Response::new_err(id, code as i32, message),
    }
}

/// Handles a notification; returns the messages to send (diagnostics, or a log
/// message about a notification that could not be used).
fn notify(documents: &mut Documents, notification: Notification) -> Vec<Message> {
    let Notification { method, params } = notification;
    let outcome = catch_unwind(AssertUnwindSafe(|| -> Result<Vec<Message>, String> {
        let parse_error =
            |err: serde_json::Error| format!("`{method}` with invalid parameters: {err}");
        let published = match method.as_str() {
            "textDocument/didOpen" => {
                let params: lsp_types::DidOpenTextDocumentParams =
                    serde_json::from_value(params).map_err(parse_error)?;
                let uri = params.text_document.uri.clone();
                handlers::diagnostics(uri, documents.open(params))
            }
            "textDocument/didChange" => {
                let params: lsp_types::DidChangeTextDocumentParams =
                    serde_json::from_value(params).map_err(parse_error)?;
                let uri = params.text_document.uri.clone();
                handlers::diagnostics(uri, documents.change(params)?)
            }
            "textDocument/didClose" => {
                let params: lsp_types::DidCloseTextDocumentParams =
                    serde_json::from_value(params).map_err(parse_error)?;
                let uri = params.text_document.uri.clone();
                documents.close(params);
                lsp_types::PublishDiagnosticsParams::new(uri, Vec::new(), None)
            }
            // `initialized`, `$/cancelRequest`, `didSave`, ...: nothing to do.
            _ => return Ok(Vec::new()),
        };
        let method = "textDocument/publishDiagnostics".to_string();
        Ok(vec![Notification::new(method, published).into()])
    }));
    let why = match outcome {
        Ok(Ok(messages)) => return messages,
        Ok(Err(why)) => why,
        Err(_) => format!("`{method}` failed (a bug in toy)"),
    };
    let log = lsp_types::LogMessageParams {
        typ: lsp_types::MessageType::ERROR,
        message: why,
    };
    vec![Notification::new("window/logMessage".into(), log).into()]
}

fn initialize_result() -> InitializeResult {
    let capabilities = ServerCapabilities {
        position_encoding: Some(PositionEncodingKind::UTF16),
        text_document_sync: Some(TextDocumentSyncCapability::Kind(
            TextDocumentSyncKind::INCREMENTAL,
        )),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        definition_provider: Some(OneOf::Left(true)),
        references_provider: Some(OneOf::Left(true)),
        completion_provider: Some(CompletionOptions::default()),
        document_symbol_provider: Some(OneOf::Left(true)),
        semantic_tokens_provider: Some(
            SemanticTokensOptions {
                legend: handlers::legend(),
                full: Some(SemanticTokensFullOptions::Bool(true)),
                range: None,
                work_done_progress_options: WorkDoneProgressOptions::default(),
            }
            .into(),
        ),
        rename_provider: Some(OneOf::Right(RenameOptions {
            prepare_provider: Some(true),
            work_done_progress_options: WorkDoneProgressOptions::default(),
        })),
        ..ServerCapabilities::default()
    };
    InitializeResult {
        capabilities,
        server_info: Some(ServerInfo {
            name: "toy".into(),
            version: Some(env!("CARGO_PKG_VERSION").into()),
        }),
    }
}

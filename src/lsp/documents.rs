//! The documents the editor has open: their text, kept in step with its edits, and
//! their analysis.

use std::collections::HashMap;

use lsp_types::{
    DidChangeTextDocumentParams, DidCloseTextDocumentParams, DidOpenTextDocumentParams, Uri,
};

use super::position::LineIndex;
use crate::analysis::Analysis;

/// One open document.
#[derive(Debug)]
pub struct Document {
    /// The editor's version of it.
    pub version: i32,
    /// What the front end makes of its text (which it holds).
    pub analysis: Analysis,
    /// Its lines, for positions.
    pub lines: LineIndex,
}

impl Document {
    fn new(text: &str, version: i32) -> Self {
        Document {
            version,
            analysis: Analysis::new(text),
            lines: LineIndex::new(text),
        }
    }

    /// The text.
    pub fn text(&self) -> &str {
        self.analysis.text()
    }
}

/// The open documents, by URI (as text: `Uri` is no sound hash key).
#[derive(Debug, Default)]
pub struct Documents(HashMap<String, Document>);

impl Documents {
    /// The document at `uri`, if it is open.
    pub fn get(&self, uri: &Uri) -> Option<&Document> {
        self.0.get(uri.as_str())
    }

    /// `textDocument/didOpen`: the document and its first text.
    pub fn open(&mut self, params: DidOpenTextDocumentParams) -> &Document {
        let item = params.text_document;
        let document = Document::new(&item.text, item.version);
        let uri = item.uri.as_str().to_owned();
        self.0.insert(uri.clone(), document);
        &self.0[&uri]
    }

    /// `textDocument/didChange`: applies the edits in order (a change without a range
    /// replaces the text); refused for a document that is not open.
    pub fn change(&mut self, params: DidChangeTextDocumentParams) -> Result<&Document, String> {
        let uri = params.text_document.uri.as_str().to_owned();
        let Some(document) = self.0.get(&uri) else {
            return Err(format!("didChange for a document that is not open: {uri}"));
        };
        let mut text = document.text().to_owned();
        let mut lines = document.lines.clone();
        for change in params.content_changes {
            match change.range {
                None => text = change.text,
                Some(range) => {
                    let start = lines.offset(&text, range.start);
                    let end = lines.offset(&text, range.end).max(start);
                    text.replace_range(start..end, &change.text);
                }
            }
            lines = LineIndex::new(&text);
        }
        let document = Document::new(&text, params.text_document.version);
        self.0.insert(uri.clone(), document);
        Ok(&self.0[&uri])
    }

    /// `textDocument/didClose`: forgets the document.
    pub fn close(&mut self, params: DidCloseTextDocumentParams) {
        self.0.remove(params.text_document.uri.as_str());
    }
}

//! The requests `toy lsp` answers, each from a document's `Analysis`, and the
//! diagnostics it publishes.

use lsp_server::ErrorCode;
use lsp_types::{
    CompletionItem, CompletionItemKind, CompletionParams, Diagnostic, DiagnosticRelatedInformation,
    DiagnosticSeverity, DocumentSymbolParams, GotoDefinitionParams, Hover, HoverContents,
    HoverParams, Location, MarkupContent, MarkupKind, PrepareRenameResponse,
    PublishDiagnosticsParams, ReferenceParams, RenameParams, SemanticToken, SemanticTokenModifier,
    SemanticTokenType, SemanticTokens, SemanticTokensLegend, SemanticTokensParams,
    TextDocumentIdentifier, TextDocumentPositionParams, TextEdit, Uri,
};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::documents::{Document, Documents};
use crate::analysis::{CompletionKind, Highlight, Key, SymbolKind};

/// A request that failed: its JSON-RPC error code and message.
pub type Failure = (ErrorCode, String);

/// Answers request `method` with `params`.
pub fn request(documents: &Documents, method: &str, params: Value) -> Result<Value, Failure> {
    match method {
        "textDocument/hover" => hover(documents, parse(params)?),
        "textDocument/definition" => definition(documents, parse(params)?),
        "textDocument/references" => references(documents, parse(params)?),
        "textDocument/completion" => completion(documents, parse(params)?),
        "textDocument/documentSymbol" => symbols(documents, parse(params)?),
        "textDocument/semanticTokens/full" => tokens(documents, parse(params)?),
        "textDocument/prepareRename" => prepare_rename(documents, parse(params)?),
        "textDocument/rename" => rename(documents, parse(params)?),
        _ => Err((
            ErrorCode::MethodNotFound,
            format!("unknown method `{method}`"),
        )),
    }
}

/// The legend of [`tokens`]: the index of each [`Highlight`] is its token type.
pub fn legend() -> SemanticTokensLegend {
    SemanticTokensLegend {
        token_types: vec![
            SemanticTokenType::KEYWORD,
            SemanticTokenType::NUMBER,
            SemanticTokenType::OPERATOR,
            SemanticTokenType::FUNCTION,
            SemanticTokenType::PARAMETER,
            SemanticTokenType::VARIABLE,
            SemanticTokenType::COMMENT,
        ],
        token_modifiers: vec![SemanticTokenModifier::DECLARATION],
    }
}

/// The diagnostics of `document`, to publish for `uri`.
pub fn diagnostics(uri: Uri, document: &Document) -> PublishDiagnosticsParams {
    let text = document.text();
    let diagnostics = document
        .analysis
        .diagnostics
        .iter()
        .map(|d| {
            let range = document.lines.range(text, d.range.clone());
            Diagnostic {
                range,
                severity: Some(DiagnosticSeverity::ERROR),
                source: Some("toy".into()),
                message: d.message.clone(),
                related_information: Some(vec![DiagnosticRelatedInformation {
                    location: Location::new(uri.clone(), range),
                    message: d.label.clone(),
                }]),
                ..Diagnostic::default()
            }
        })
        .collect();
    PublishDiagnosticsParams::new(uri, diagnostics, Some(document.version))
}

fn parse<P: DeserializeOwned>(params: Value) -> Result<P, Failure> {
    serde_json::from_value(params).map_err(|err| {
        (
            ErrorCode::InvalidParams,
            format!("invalid parameters: {err}"),
        )
    })
}

fn document<'d>(
    documents: &'d Documents,
    id: &TextDocumentIdentifier,
) -> Result<&'d Document, Failure> {
    documents.get(&id.uri).ok_or_else(|| {
        (
            ErrorCode::InvalidParams,
            format!("document not open: {}", id.uri.as_str()),
        )
    })
}

/// The document and byte offset a position request is about.
fn at<'d>(
    documents: &'d Documents,
    params: &TextDocumentPositionParams,
) -> Result<(&'d Document, usize), Failure> {
    let document = document(documents, &params.text_document)?;
    let offset = document.lines.offset(document.text(), params.position);
    Ok((document, offset))
}

fn to_value(value: impl serde::Serialize) -> Result<Value, Failure> {
    serde_json::to_value(value).map_err(|err| (ErrorCode::InternalError, err.to_string()))
}

fn hover(documents: &Documents, params: HoverParams) -> Result<Value, Failure> {
    let (document, offset) = at(documents, &params.text_document_position_params)?;
    let Some((range, text)) = document.analysis.hover(offset) else {
        return Ok(Value::Null);
    };
    to_value(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value: text,
        }),
        range: Some(document.lines.range(document.text(), range)),
    })
}

fn definition(documents: &Documents, params: GotoDefinitionParams) -> Result<Value, Failure> {
    let position = &params.text_document_position_params;
    let (document, offset) = at(documents, position)?;
    let analysis = &document.analysis;
    let found = analysis
        .occurrence_at(offset)
        .and_then(|o| analysis.definition_at(&o.key, o.range.start));
    match found {
        Some(symbol) => {
            let range = document.lines.range(document.text(), symbol.range.clone());
            to_value(Location::new(position.text_document.uri.clone(), range))
        }
        None => Ok(Value::Null),
    }
}

fn references(documents: &Documents, params: ReferenceParams) -> Result<Value, Failure> {
    let position = &params.text_document_position;
    let (document, offset) = at(documents, position)?;
    let analysis = &document.analysis;
    let Some(occurrence) = analysis.occurrence_at(offset) else {
        return Ok(Value::Null);
    };
    let locations: Vec<Location> = analysis
        .references(&occurrence.key)
        .filter(|o| params.context.include_declaration || !o.declaration)
        .map(|o| {
            let range = document.lines.range(document.text(), o.range.clone());
            Location::new(position.text_document.uri.clone(), range)
        })
        .collect();
    to_value(locations)
}

fn completion(documents: &Documents, params: CompletionParams) -> Result<Value, Failure> {
    let (document, offset) = at(documents, &params.text_document_position)?;
    let items: Vec<CompletionItem> = document
        .analysis
        .completions(offset)
        .into_iter()
        .map(|c| CompletionItem {
            kind: Some(match c.kind {
                CompletionKind::Keyword => CompletionItemKind::KEYWORD,
                CompletionKind::Function => CompletionItemKind::FUNCTION,
                CompletionKind::Variable => CompletionItemKind::VARIABLE,
            }),
            detail: Some(c.detail),
            ..CompletionItem::new_simple(c.label, String::new())
        })
        .collect();
    to_value(items)
}

fn symbols(documents: &Documents, params: DocumentSymbolParams) -> Result<Value, Failure> {
    let document = document(documents, &params.text_document)?;
    let text = document.text();
    let range = |r: &std::ops::Range<usize>| document.lines.range(text, r.clone());
    let analysis = &document.analysis;
    let all = &analysis.symbols;
    let symbols: Vec<Value> = all
        .iter()
        .enumerate()
        .filter(|(_, s)| !matches!(s.key, Key::Local(_)))
        .map(|(i, s)| {
            // LSP's kinds: an operator is an operator, a function a function.
            let kind = match s.kind {
                SymbolKind::Binary(_) | SymbolKind::Unary => lsp_types::SymbolKind::OPERATOR,
                _ => lsp_types::SymbolKind::FUNCTION,
            };
            // An item's locals follow its definition.
            let children: Vec<Value> = all[i + 1..]
                .iter()
                .take_while(|p| p.item == s.item)
                .filter(|p| p.kind == SymbolKind::Parameter)
                .map(|p| {
                    json!({
                        "name": p.name, "kind": lsp_types::SymbolKind::VARIABLE,
                        "range": range(&p.range), "selectionRange": range(&p.range),
                    })
                })
                .collect();
            json!({
                "name": s.name, "detail": s.signature, "kind": kind,
                "range": range(&s.item), "selectionRange": range(&s.range),
                "children": children,
            })
        })
        .collect();
    Ok(Value::Array(symbols))
}

fn tokens(documents: &Documents, params: SemanticTokensParams) -> Result<Value, Failure> {
    let document = document(documents, &params.text_document)?;
    let text = document.text();
    let mut data = Vec::new();
    let (mut line, mut column) = (0, 0);
    for (range, highlight, declaration) in document.analysis.highlights() {
        let start = document.lines.position(text, range.start);
        let length: usize = text[range].chars().map(char::len_utf16).sum();
        let delta_start = if start.line == line {
            start.character - column
        } else {
            start.character
        };
        data.push(SemanticToken {
            delta_line: start.line - line,
            delta_start,
            length: length as u32,
            token_type: match highlight {
                Highlight::Keyword => 0,
                Highlight::Number => 1,
                Highlight::Operator => 2,
                Highlight::Function => 3,
                Highlight::Parameter => 4,
                Highlight::Variable => 5,
                Highlight::Comment => 6,
            },
            token_modifiers_bitset: u32::from(declaration),
        });
        (line, column) = (start.line, start.character);
    }
    to_value(SemanticTokens {
        result_id: None,
        data,
    })
}

fn prepare_rename(
    documents: &Documents,
    params: TextDocumentPositionParams,
) -> Result<Value, Failure> {
    let (document, offset) = at(documents, &params)?;
    match document.analysis.renamable(offset) {
        Ok((range, _)) => to_value(PrepareRenameResponse::RangeWithPlaceholder {
            range: document.lines.range(document.text(), range.clone()),
            placeholder: document.text()[range].to_string(),
        }),
        Err(err) => Err((ErrorCode::RequestFailed, err.to_string())),
    }
}

fn rename(documents: &Documents, params: RenameParams) -> Result<Value, Failure> {
    let position = &params.text_document_position;
    let (document, offset) = at(documents, position)?;
    let edits = document
        .analysis
        .rename(offset, &params.new_name)
        .map_err(|err| (ErrorCode::RequestFailed, err.to_string()))?;
    let edits: Vec<TextEdit> = edits
        .into_iter()
        .map(|(range, new_text)| TextEdit {
            range: document.lines.range(document.text(), range),
            new_text,
        })
        .collect();
    // Built as JSON: `Uri` is no sound hash key (clippy's `mutable_key_type`).
    let uri = position.text_document.uri.as_str();
    Ok(json!({ "changes": { uri: to_value(edits)? } }))
}

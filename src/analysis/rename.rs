//! Renaming a function, an operator or a local, refusing what would not make sense.
//!
//! A rename is checked twice: the new name must be a name (or operator character) of
//! the same sort that nothing else uses, and the renamed document, analyzed again,
//! must have every occurrence referring to the same definition as before and no new
//! diagnostic — so a local renamed to a name that another binding would capture is
//! refused.

use std::ops::Range;

use thiserror::Error;

use super::{Analysis, Key, SymbolKind};
use crate::frontend::lexer::{Token, lex};
use crate::frontend::resolve::Operators;
use crate::frontend::source::SourceId;

/// Why a rename is refused.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum RenameError {
    /// The position is on no name or operator.
    #[error("there is no function, operator or variable here to rename")]
    NothingHere,
    /// A built-in operator.
    #[error("`{0}` is a built-in operator and cannot be renamed")]
    Builtin(char),
    /// A function that is only declared `extern`: its name is the runtime's.
    #[error("`{0}` names a function of the runtime or the C math library; it cannot be renamed")]
    Extern(String),
    /// The new name is not an identifier.
    #[error("`{0}` is not a valid name: a letter, then letters and digits, and no keyword")]
    BadName(String),
    /// The new operator is not one operator character of the right sort.
    #[error("`{new}` cannot replace the operator `{old}`: {why}")]
    BadOperator {
        /// The operator renamed.
        old: char,
        /// What was asked for.
        new: String,
        /// Why not.
        why: &'static str,
    },
    /// The new name is already a function or operator of the document.
    #[error("`{0}` is already defined in this document")]
    Taken(String),
    /// The renamed document would mean something else.
    #[error(
        "renaming to `{0}` would change what the program means (a name would refer to another definition)"
    )]
    ChangesMeaning(String),
}

impl Analysis {
    /// What a rename at `offset` would rename: the occurrence's bytes and its key.
    pub fn renamable(&self, offset: usize) -> Result<(Range<usize>, Key), RenameError> {
        let occurrence = self.occurrence_at(offset).ok_or(RenameError::NothingHere)?;
        let key = occurrence.key.clone();
        match &key {
            Key::Builtin(op) => return Err(RenameError::Builtin(*op)),
            Key::Function(name) => {
                let mut definitions = self.definitions(&key).peekable();
                if definitions.peek().is_none() {
                    return Err(RenameError::NothingHere);
                }
                if definitions.all(|s| s.kind == SymbolKind::Extern) {
                    return Err(RenameError::Extern(name.clone()));
                }
            }
            Key::Unary(_) | Key::Binary(_) if self.definitions(&key).next().is_none() => {
                return Err(RenameError::NothingHere);
            }
            _ => {}
        }
        Ok((occurrence.range.clone(), key))
    }

    /// The edits that rename what is at `offset` to `new`, each a byte range and its
    /// new text.
    pub fn rename(
        &self,
        offset: usize,
        new: &str,
    ) -> Result<Vec<(Range<usize>, String)>, RenameError> {
        let (_, key) = self.renamable(offset)?;
        let new_key = self.check_name(&key, new)?;
        let mut edits: Vec<(Range<usize>, String)> = self
            .references(&key)
            .map(|o| (o.range.clone(), new.to_string()))
            .collect();
        edits.sort_by_key(|(range, _)| range.start);
        // The same program, read again, must resolve every name as before.
        let mut text = self.text.clone();
        for (range, replacement) in edits.iter().rev() {
            text.replace_range(range.clone(), replacement);
        }
        let renamed = Analysis::new(&text);
        let before = self.occurrences.iter().map(|o| match (&o.key, &new_key) {
            (k, Some(new_key)) if *k == key => new_key.clone(),
            (k, _) => k.clone(),
        });
        let same = renamed.occurrences.len() == self.occurrences.len()
            && before.zip(&renamed.occurrences).all(|(a, b)| a == b.key)
            && renamed.diagnostics.len() == self.diagnostics.len();
        if !same {
            return Err(RenameError::ChangesMeaning(new.to_string()));
        }
        Ok(edits)
    }

    /// Checks `new` as a name for `key`: the key it would have (`None` for a local,
    /// whose key is its position), or why not.
    fn check_name(&self, key: &Key, new: &str) -> Result<Option<Key>, RenameError> {
        let tokens = lex(new, SourceId(0), 0);
        let single = match tokens.as_slice() {
            [(token, span)] if span.range() == (0..new.len()) => Some(*token),
            _ => None,
        };
        let new_key = match (key, single) {
            (Key::Local(_), Some(Token::Ident(_))) => return Ok(None),
            (Key::Function(_), Some(Token::Ident(name))) => Key::Function(name.into()),
            (Key::Local(_) | Key::Function(_), _) => return Err(RenameError::BadName(new.into())),
            (Key::Binary(old) | Key::Unary(old), token) => {
                let bad = |why| RenameError::BadOperator {
                    old: *old,
                    new: new.into(),
                    why,
                };
                let Some(Token::Op(op)) = token else {
                    return Err(bad(
                        "an operator is one punctuation character such as `|` or `&`",
                    ));
                };
                match key {
                    Key::Binary(_) if Operators::is_builtin(op) => {
                        return Err(bad("built-in binary operators cannot be redefined"));
                    }
                    Key::Binary(_) => Key::Binary(op),
                    _ => Key::Unary(op),
                }
            }
            (Key::Builtin(op), _) => return Err(RenameError::Builtin(*op)),
        };
        if new_key != *key && self.references(&new_key).next().is_some() {
            return Err(RenameError::Taken(new.into()));
        }
        Ok(Some(new_key))
    }
}

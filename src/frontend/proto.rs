//! Prototypes: the checks of a `def`'s or `extern`'s signature that need no scope.

use super::ast::{self, Fixity, Name, OperatorName, Prototype};
use super::resolve::{DEFAULT_PRECEDENCE, Operators};
use super::source::Span;
use super::syntax;
use crate::error::ProgramError;
use crate::runtime;

/// Checks a prototype as written: parameters, operator kind and precedence (`is_def`:
/// of a `def`; an `extern` declares functions only).
pub fn prototype(proto: syntax::Proto<'_>, is_def: bool) -> Result<Prototype, ProgramError> {
    let syntax::Proto { kind, params, span } = proto;
    // Sorted, duplicates sit side by side (cheaper than a set for a few names).
    let mut names: Vec<(&str, Span)> = params.clone();
    names.sort_by_key(|&(name, span)| (name, span.start));
    let duplicate = names
        .windows(2)
        .filter(|pair| pair[0].0 == pair[1].0)
        .min_by_key(|pair| pair[1].1.start);
    if let Some(pair) = duplicate {
        return Err(ProgramError::DuplicateParameter {
            name: pair[1].0.into(),
            span: pair[1].1,
        });
    }
    let operands = |kind: &'static str, expected: usize| {
        if params.len() == expected {
            Ok(())
        } else {
            Err(ProgramError::OperatorOperands {
                kind,
                expected,
                found: params.len(),
                span,
            })
        }
    };
    let (name, kind): (Name, _) = match kind {
        syntax::ProtoKind::Function(name) => (name.into(), ast::ProtoKind::Function),
        _ if !is_def => {
            return Err(ProgramError::Syntax {
                message: "`extern` declares functions, not operators".into(),
                label: "define operators with `def`".into(),
                span,
            });
        }
        syntax::ProtoKind::Unary(op, precedence) => {
            if let Some((_, span)) = precedence {
                return Err(ProgramError::UnaryPrecedence { span });
            }
            operands("unary", 1)?;
            (
                OperatorName::new(Fixity::Unary, op).as_str().into(),
                ast::ProtoKind::Unary(op),
            )
        }
        syntax::ProtoKind::Binary(op, precedence) => {
            if Operators::is_builtin(op) {
                return Err(ProgramError::BuiltinOperator { op, span });
            }
            let prec = match precedence {
                None => DEFAULT_PRECEDENCE,
                Some((value, span)) => {
                    if value.fract() != 0.0 || !(1.0..=100.0).contains(&value) {
                        return Err(ProgramError::BadPrecedence { value, span });
                    }
                    value as u32
                }
            };
            operands("binary", 2)?;
            (
                OperatorName::new(Fixity::Binary, op).as_str().into(),
                ast::ProtoKind::Binary(op, prec),
            )
        }
    };
    Ok(Prototype {
        name,
        kind,
        params: params.into_iter().map(|(name, _)| name.into()).collect(),
        span,
    })
}

/// An `extern` must name a function of the runtime's table ([`runtime::EXTERNS`]),
/// with the table's number of parameters: the one rule for every engine and for
/// `toy build`, reported at the `extern` rather than at a call.
pub fn check_extern(proto: &Prototype) -> Result<(), ProgramError> {
    match runtime::extern_arity(&proto.name) {
        None => Err(ProgramError::NotCallableExtern {
            name: proto.name.to_string(),
            span: proto.span,
        }),
        Some(expected) if expected != proto.arity() => Err(ProgramError::ExternArity {
            name: proto.name.to_string(),
            expected,
            found: proto.arity(),
            span: proto.span,
        }),
        Some(_) => Ok(()),
    }
}

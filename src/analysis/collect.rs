//! Filling an [`Analysis`]: globals and operator uses from the parse tree, locals from
//! the resolved tree.

use std::collections::HashMap;
use std::ops::Range;

use super::{Analysis, Key, Occurrence, Symbol, SymbolKind};
use crate::frontend::ast::{self, ExprKind};
use crate::frontend::lexer::{Token, lex};
use crate::frontend::resolve::{DEFAULT_PRECEDENCE, Operators};
use crate::frontend::source::SourceId;
use crate::frontend::syntax::{Expr, Item, Proto, ProtoKind};

/// Where an item's bindings are named, for [`locals`]: the resolved tree has their
/// slots but not their spans. `for` and `var` are found by their expression's span,
/// which the resolver keeps.
#[derive(Default)]
pub(super) struct Bindings {
    item: Range<usize>,
    owner: Option<String>,
    params: Vec<Range<usize>>,
    for_vars: HashMap<(usize, usize), Range<usize>>,
    var_names: HashMap<(usize, usize), Vec<Range<usize>>>,
}

/// Records the definition an item makes and the functions and operators it uses.
pub(super) fn syntax(
    analysis: &mut Analysis,
    item: &Item<'_>,
    item_range: Range<usize>,
    source: SourceId,
) -> Bindings {
    let mut bindings = Bindings {
        item: item_range.clone(),
        ..Bindings::default()
    };
    let (proto, body, keyword) = match item {
        Item::Def(proto, body) => (Some(proto), Some(body), "def"),
        Item::Extern(proto) => (Some(proto), None, "extern"),
        Item::Expr(body) => (None, Some(body), ""),
    };
    if let Some(proto) = proto {
        bindings.params = proto.params.iter().map(|(_, s)| s.range()).collect();
        let symbol = definition(analysis, proto, keyword, item_range, source);
        bindings.owner = Some(symbol.name.clone());
        analysis.occurrences.push(Occurrence {
            range: symbol.range.clone(),
            key: symbol.key.clone(),
            declaration: true,
            precedence: None,
        });
        analysis.symbols.push(symbol);
    }
    if let Some(body) = body {
        uses(analysis, body, &mut bindings);
    }
    bindings
}

/// The symbol a prototype defines.
fn definition(
    analysis: &Analysis,
    proto: &Proto<'_>,
    keyword: &str,
    item: Range<usize>,
    source: SourceId,
) -> Symbol {
    let params: Vec<&str> = proto.params.iter().map(|(name, _)| *name).collect();
    let params = params.join(" ");
    let start = proto.span.start;
    let (key, kind, name, range, signature) = match proto.kind {
        ProtoKind::Function(name) => (
            Key::Function(name.into()),
            if keyword == "extern" {
                SymbolKind::Extern
            } else {
                SymbolKind::Function
            },
            name.to_string(),
            start..start + name.len(),
            format!("{keyword} {name}({params})"),
        ),
        ProtoKind::Unary(op, _) => (
            Key::Unary(op),
            SymbolKind::Unary,
            format!("unary{op}"),
            operator_char(analysis.text(), proto, source),
            format!("{keyword} unary{op}({params})"),
        ),
        ProtoKind::Binary(op, precedence) => {
            let precedence = precedence
                .map(|(value, _)| value)
                .filter(|value| value.fract() == 0.0 && (1.0..=100.0).contains(value))
                .map_or(DEFAULT_PRECEDENCE, |value| value as u32);
            // `def binary+` is an error; its `+` is still the built-in one.
            let key = if Operators::is_builtin(op) {
                Key::Builtin(op)
            } else {
                Key::Binary(op)
            };
            (
                key,
                SymbolKind::Binary(precedence),
                format!("binary{op}"),
                operator_char(analysis.text(), proto, source),
                format!("{keyword} binary{op} {precedence} ({params})"),
            )
        }
    };
    Symbol {
        key,
        kind,
        name,
        range,
        item,
        signature,
        owner: None,
        scope: 0..analysis.text().len(),
        accepted: false,
    }
}

/// The bytes of the operator character of `def unaryX`/`def binaryX`: the first
/// operator token of the prototype (the lexer skips what may stand between).
fn operator_char(text: &str, proto: &Proto<'_>, source: SourceId) -> Range<usize> {
    let end = proto.span.end.min(text.len());
    lex(&text[..end], source, proto.span.start)
        .into_iter()
        .find_map(|(token, span)| matches!(token, Token::Op(_)).then(|| span.range()))
        .unwrap_or(proto.span.range())
}

/// Records the calls and operators of `body`, and where its bindings are named.
fn uses(analysis: &mut Analysis, body: &Expr<'_>, bindings: &mut Bindings) {
    let mut used = |range: Range<usize>, key: Key| {
        analysis.occurrences.push(Occurrence {
            range,
            key,
            declaration: false,
            precedence: None,
        })
    };
    // An explicit stack: parse trees may be 10,000 levels deep.
    let mut pending = vec![body];
    while let Some(expr) = pending.pop() {
        match expr {
            Expr::Number(..) | Expr::Ident(..) => {}
            Expr::Call((name, span), args, _) => {
                used(span.range(), Key::Function((*name).into()));
                pending.extend(args);
            }
            Expr::If(branches, _) => pending.extend(branches.iter()),
            Expr::For {
                var,
                start,
                end,
                step,
                body,
                span,
            } => {
                bindings
                    .for_vars
                    .insert((span.start, span.end), var.1.range());
                pending.extend([&**start, &**end, &**body]);
                pending.extend(step.as_deref());
            }
            Expr::Var {
                bindings: vars,
                body,
                span,
            } => {
                let names = vars.iter().map(|((_, s), _)| s.range()).collect();
                bindings.var_names.insert((span.start, span.end), names);
                pending.extend(vars.iter().filter_map(|(_, init)| init.as_ref()));
                pending.push(body);
            }
            Expr::Unary(op, span, operand, _) => {
                used(span.range(), Key::Unary(*op));
                pending.push(operand);
            }
            Expr::Chain(first, rest, _) => {
                pending.push(first);
                for (op, span, operand) in rest {
                    let key = if Operators::is_builtin(*op) {
                        Key::Builtin(*op)
                    } else {
                        Key::Binary(*op)
                    };
                    used(span.range(), key);
                    pending.push(operand);
                }
            }
        }
    }
}

/// Where a local is visible, and whether it is a parameter.
type Scope = (Range<usize>, SymbolKind);

/// Records the parameters and local variables of a resolved item, and every use of
/// them: a use reads the binding whose slot the resolver gave it.
pub(super) fn locals(analysis: &mut Analysis, item: &ast::Item, bindings: &Bindings) {
    let function = match item {
        ast::Item::Def(function) | ast::Item::Expr(function) => function,
        ast::Item::Extern(_) => return,
    };
    // Every binding first, then the uses, which name bindings by slot.
    let mut found: Vec<(usize, &str, Range<usize>, Scope)> = Vec::new();
    let params = function.proto.params.iter().zip(&bindings.params);
    for (slot, (name, range)) in params.enumerate() {
        let scope = bindings.item.clone();
        found.push((slot, name, range.clone(), (scope, SymbolKind::Parameter)));
    }
    for expr in function.body.walk() {
        let span = (expr.span.start, expr.span.end);
        match &expr.kind {
            ExprKind::For { var, slot, .. } => {
                if let Some(range) = bindings.for_vars.get(&span) {
                    let scope = range.start..expr.span.end;
                    found.push((*slot, var, range.clone(), (scope, SymbolKind::Variable)));
                }
            }
            ExprKind::Var { bindings: vars, .. } => {
                let names = bindings.var_names.get(&span).map_or(&[][..], Vec::as_slice);
                for (binding, range) in vars.iter().zip(names) {
                    let scope = range.start..expr.span.end;
                    let (slot, name) = (binding.slot, &*binding.name);
                    found.push((slot, name, range.clone(), (scope, SymbolKind::Variable)));
                }
            }
            _ => {}
        }
    }
    let mut slots: HashMap<usize, usize> = HashMap::new();
    for (slot, name, range, (scope, kind)) in found {
        let index = analysis.symbols.len();
        slots.insert(slot, index);
        analysis.occurrences.push(Occurrence {
            range: range.clone(),
            key: Key::Local(index),
            declaration: true,
            precedence: None,
        });
        analysis.symbols.push(Symbol {
            key: Key::Local(index),
            kind,
            name: name.to_string(),
            range,
            item: bindings.item.clone(),
            signature: String::new(),
            owner: bindings.owner.clone(),
            scope,
            accepted: true,
        });
    }
    for expr in function.body.walk() {
        let (slot, range) = match &expr.kind {
            ExprKind::Variable { slot, .. } => (slot, expr.span.range()),
            ExprKind::Assign { name, slot, .. } => {
                (slot, expr.span.start..expr.span.start + name.len())
            }
            _ => continue,
        };
        if let Some(&index) = slots.get(slot) {
            analysis.occurrences.push(Occurrence {
                range,
                key: Key::Local(index),
                declaration: false,
                precedence: None,
            });
        }
    }
}

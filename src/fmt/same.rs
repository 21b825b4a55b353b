//! Whether two parse trees are the same program: what the formatter checks of its
//! own output before handing it out.

use crate::frontend::syntax::{Expr, Item, Proto, ProtoKind, Spanned};

/// Whether `a` and `b` are the same item, wherever they stand in their texts.
pub fn item(a: &Item, b: &Item) -> bool {
    match (a, b) {
        (Item::Def(pa, ea), Item::Def(pb, eb)) => proto(pa, pb) && expr(ea, eb),
        (Item::Extern(pa), Item::Extern(pb)) => proto(pa, pb),
        (Item::Expr(ea), Item::Expr(eb)) => expr(ea, eb),
        _ => false,
    }
}

fn proto(a: &Proto, b: &Proto) -> bool {
    let kind = match (&a.kind, &b.kind) {
        (ProtoKind::Function(x), ProtoKind::Function(y)) => x == y,
        (ProtoKind::Unary(x, px), ProtoKind::Unary(y, py))
        | (ProtoKind::Binary(x, px), ProtoKind::Binary(y, py)) => {
            x == y && px.map(|p| p.0.to_bits()) == py.map(|p| p.0.to_bits())
        }
        _ => false,
    };
    kind && names(&a.params, &b.params)
}

fn names(a: &[Spanned], b: &[Spanned]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.0 == y.0)
}

fn all(a: &[Expr], b: &[Expr]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| expr(x, y))
}

fn expr(a: &Expr, b: &Expr) -> bool {
    match (a, b) {
        (Expr::Number(x, _), Expr::Number(y, _)) => x.to_bits() == y.to_bits(),
        (Expr::Ident(x, _), Expr::Ident(y, _)) => x == y,
        (Expr::Call((x, _), xs, _), Expr::Call((y, _), ys, _)) => x == y && all(xs, ys),
        (Expr::If(xs, _), Expr::If(ys, _)) => all(&xs[..], &ys[..]),
        (
            Expr::For {
                var: va,
                start: sa,
                end: ea,
                step: ta,
                body: ba,
                ..
            },
            Expr::For {
                var: vb,
                start: sb,
                end: eb,
                step: tb,
                body: bb,
                ..
            },
        ) => {
            let step = match (ta, tb) {
                (Some(x), Some(y)) => expr(x, y),
                (None, None) => true,
                _ => false,
            };
            va.0 == vb.0 && expr(sa, sb) && expr(ea, eb) && step && expr(ba, bb)
        }
        (
            Expr::Var {
                bindings: xs,
                body: ba,
                ..
            },
            Expr::Var {
                bindings: ys,
                body: bb,
                ..
            },
        ) => {
            xs.len() == ys.len()
                && xs.iter().zip(ys).all(|((nx, ix), (ny, iy))| {
                    nx.0 == ny.0
                        && match (ix, iy) {
                            (Some(x), Some(y)) => expr(x, y),
                            (None, None) => true,
                            _ => false,
                        }
                })
                && expr(ba, bb)
        }
        (Expr::Unary(x, _, ea, _), Expr::Unary(y, _, eb, _)) => x == y && expr(ea, eb),
        (Expr::Chain(fa, ra, _), Expr::Chain(fb, rb, _)) => {
            expr(fa, fb)
                && ra.len() == rb.len()
                && ra
                    .iter()
                    .zip(rb)
                    .all(|((x, _, ea), (y, _, eb))| x == y && expr(ea, eb))
        }
        _ => false,
    }
}

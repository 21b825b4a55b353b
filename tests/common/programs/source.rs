//! Printing program recipes as source text: the definitions, then the top-level
//! items (the hot mode in [`super::hot`] goes on from the definitions).

use super::{BINARY, E, MATH, PARAMS, Printer, Prog, Scope, UNARY, strip_calls};

/// The program's source text: definitions, top-level expressions, then (unless
/// `tutorial`) the redefinitions and the top-level expressions again.
pub(super) fn print(prog: &Prog, tutorial: bool) -> String {
    let mut d = definitions(prog, tutorial);
    d.tops(prog);
    if !prog.redefs.is_empty() && !tutorial {
        for (which, body) in &prog.redefs {
            let i = usize::from(*which) % prog.funcs.len();
            d.define(i, body, false);
        }
        d.tops(prog);
    }
    d.out
}

/// A program printed up to the end of its first definitions, and what is in scope
/// there (the hot mode in [`super::hot`] goes on from it).
pub(super) struct Defined {
    pub(super) p: Printer,
    pub(super) out: String,
    /// Functions `fI` with their current arities.
    pub(super) names: Vec<(String, u8)>,
    /// Binary operators in scope (the four built-in ones first).
    pub(super) binary: Vec<char>,
    /// Unary operators in scope.
    pub(super) unary: Vec<char>,
}

impl Defined {
    /// What an expression at top level sees.
    pub(super) fn top_scope(&self) -> Scope {
        Scope {
            vars: Vec::new(),
            callees: self.names.clone(),
            binary: self.binary.clone(),
            unary: self.unary.clone(),
            loops: 0,
        }
    }

    /// Prints `def fI(...) body` with `fI`'s current arity.
    pub(super) fn define(&mut self, i: usize, body: &E, tutorial: bool) {
        let arity = self.names[i].1;
        let scope = Scope {
            vars: PARAMS[..usize::from(arity)]
                .iter()
                .map(|p| (p.to_string(), true))
                .collect(),
            // Only functions defined after this one (before it, for the tutorial, which
            // has no forward references): calls form a DAG.
            callees: match tutorial {
                false => self.names[i + 1..].to_vec(),
                true => self.names[..i].to_vec(),
            },
            ..self.top_scope()
        };
        let params = PARAMS[..usize::from(arity)].join(" ");
        self.out.push_str(&format!("def f{i}({params}) "));
        self.p.expr(body, &scope, &mut self.out);
        self.out.push_str(";\n");
    }

    /// Prints the top-level expressions (and the recursive function's call).
    fn tops(&mut self, prog: &Prog) {
        let scope = self.top_scope();
        for top in &prog.tops {
            self.p.expr(top, &scope, &mut self.out);
            self.out.push_str(";\n");
        }
        if prog.rec.is_some() {
            self.out.push_str(&format!("rec({}, 1);\n", prog.rec_depth));
        }
    }
}

/// The externs, operators, functions and recursive function of `prog`.
pub(super) fn definitions(prog: &Prog, tutorial: bool) -> Defined {
    let math: Vec<(&str, u8)> = MATH
        .iter()
        .filter(|(_, _, same)| *same || !tutorial)
        .map(|(name, arity, _)| (*name, *arity))
        .collect();
    let mut out = String::from("extern printd(x);\nextern putchard(c);\n");
    for (name, arity) in &math {
        let params = ["x", "x y"][usize::from(*arity) - 1];
        out.push_str(&format!("extern {name}({params});\n"));
    }
    let mut p = Printer { next_var: 0, math };
    let builtin = vec!['+', '-', '*', '<'];
    let empty = Scope {
        vars: Vec::new(),
        callees: Vec::new(),
        binary: builtin.clone(),
        unary: Vec::new(),
        loops: 0,
    };
    // Operators: bodies over their operands, built-in operators only.
    let mut binary = builtin.clone();
    for (which, prec, body) in &prog.binary {
        let op = BINARY[usize::from(*which) % BINARY.len()];
        if tutorial && binary.contains(&op) {
            // The C++ tutorial cannot redefine a function (an operator included).
            continue;
        }
        let scope = Scope {
            vars: vec![("a".into(), true), ("b".into(), true)],
            ..empty.clone()
        };
        out.push_str(&format!("def binary{op} {prec} (a b) "));
        p.expr(&strip_calls(body), &scope, &mut out);
        out.push_str(";\n");
        if !binary.contains(&op) {
            binary.push(op);
        }
    }
    let mut unary = Vec::new();
    for (which, body) in &prog.unary {
        let op = UNARY[usize::from(*which) % UNARY.len()];
        if tutorial && unary.contains(&op) {
            continue;
        }
        let scope = Scope {
            vars: vec![("v".into(), true)],
            ..empty.clone()
        };
        out.push_str(&format!("def unary{op}(v) "));
        p.expr(&strip_calls(body), &scope, &mut out);
        out.push_str(";\n");
        if !unary.contains(&op) {
            unary.push(op);
        }
    }
    let names: Vec<(String, u8)> = prog
        .funcs
        .iter()
        .enumerate()
        .map(|(i, f)| (format!("f{i}"), f.arity))
        .collect();
    let mut d = Defined {
        p,
        out,
        names,
        binary,
        unary,
    };
    for (i, f) in prog.funcs.iter().enumerate() {
        d.define(i, &f.body, tutorial);
    }
    if let Some(step) = &prog.rec {
        // Recursion with a depth that every call site passes as a constant.
        d.out
            .push_str("def rec(depth x) if depth < 1 then x else rec(depth - 1, ");
        let scope = Scope {
            vars: vec![("x".into(), true)],
            ..d.top_scope()
        };
        d.p.expr(step, &scope, &mut d.out);
        d.out.push_str(");\n");
    }
    d
}

//! `:list`, `:save FILE` and `:time`'s split of compile and run time.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::engine::{PhaseTimes, Stats};
use crate::frontend::ast::{Item, ProtoKind, Prototype};
use crate::frontend::unparse;
use crate::session::{Definition, Session};

/// One line of `:list`.
#[derive(Clone, Debug)]
pub struct Listed {
    /// The signature as written after `def`/`extern`: `fib(x)`, `binary| 5 (a b)`.
    pub signature: String,
    /// Whether it is an `extern`.
    pub is_extern: bool,
    /// Parameters.
    pub arity: usize,
    /// A binary operator's precedence.
    pub precedence: Option<u32>,
    /// The tier of its machine code, if compiled.
    pub tier: Option<u8>,
    /// Whether the engine compiles at all (the interpreter does not).
    pub compiling: bool,
}

impl fmt::Display for Listed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keyword = if self.is_extern { "extern" } else { "def" };
        let head = format!("{keyword} {}", self.signature);
        let s = if self.arity == 1 { "" } else { "s" };
        write!(f, "{head:<28} {} parameter{s}", self.arity)?;
        if let Some(precedence) = self.precedence {
            write!(f, ", precedence {precedence}")?;
        }
        match (self.is_extern, self.compiling, self.tier) {
            (true, _, _) => write!(f, ", C function"),
            (false, false, _) => write!(f, ", interpreted"),
            (false, true, Some(tier)) => write!(f, ", compiled at tier {tier}"),
            (false, true, None) => write!(f, ", not compiled yet"),
        }
    }
}

fn listed(proto: &Prototype, is_extern: bool, tier: Option<u8>, compiling: bool) -> Listed {
    Listed {
        signature: unparse::signature(proto),
        is_extern,
        arity: proto.arity(),
        precedence: match proto.kind {
            ProtoKind::Binary(_, precedence) => Some(precedence),
            _ => None,
        },
        tier,
        compiling,
    }
}

/// `:list`: the definitions and externs in definition order.
pub fn list(session: &mut Session) -> Vec<Listed> {
    let compiling = session
        .engine()
        .is_some_and(|engine| engine.stats().is_some());
    session
        .definitions()
        .iter()
        .map(|definition| match definition {
            Definition::Function(function) => {
                let tier = session.tier(&function.proto.name);
                listed(&function.proto, false, tier, compiling)
            }
            Definition::Extern(proto) => listed(proto, true, None, compiling),
        })
        .collect()
}

/// The session's definitions as a program: every current `def` and `extern` in the
/// order of its latest definition, printed so that it parses to the same AST.
pub fn save_text(session: &Session) -> String {
    let mut text = String::from("# Saved from a toy REPL session (:save).\n");
    for definition in session.definitions() {
        let item = match definition {
            Definition::Function(function) => Item::Def(function),
            Definition::Extern(proto) => Item::Extern(proto),
        };
        text.push_str(&unparse::item(&item));
        text.push('\n');
    }
    text
}

/// Why `:save` wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// The file exists and `:save!` was not used.
    #[error("{path} exists; use :save! {path} to overwrite it", path = .0.display())]
    Exists(PathBuf),
    /// Writing failed.
    #[error("cannot write {}: {source}", .path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
}

/// `:save FILE` (`force`: `:save!`): writes [`save_text`] to `path`, returning the
/// number of definitions. Without `force` an existing file is never touched; with
/// it, the file is replaced whole (written aside, then renamed over it), so a failed
/// write leaves the old contents.
pub fn save(session: &Session, path: &Path, force: bool) -> Result<usize, SaveError> {
    let text = save_text(session);
    let count = session.definitions().len();
    let failed = |source| SaveError::Write {
        path: path.to_path_buf(),
        source,
    };
    if !force {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|err| match err.kind() {
                std::io::ErrorKind::AlreadyExists => SaveError::Exists(path.to_path_buf()),
                _ => failed(err),
            })?;
        file.write_all(text.as_bytes()).map_err(failed)?;
        return Ok(count);
    }
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(failed)?;
    file.write_all(text.as_bytes()).map_err(failed)?;
    file.persist(path).map_err(|err| failed(err.error))?;
    Ok(count)
}

fn total(t: &PhaseTimes) -> Duration {
    t.irgen + t.optimize + t.codegen + t.link
}

/// The time an engine spent compiling between two `stats` (zero for an engine that
/// compiles nothing): with the wall time of an evaluation, `:time`'s split.
pub fn compile_time(before: Option<Stats>, after: Option<Stats>) -> Duration {
    let spent = |s: Option<Stats>| {
        s.map_or(Duration::ZERO, |s| {
            total(&s.timings) + total(&s.expressions)
        })
    };
    spent(after).saturating_sub(spent(before))
}

/// `:time`'s report of an evaluation that took `wall` in all, `compile` of it in the
/// engine's compile phases (clamped to `wall`), the same in the REPL and a notebook.
pub fn time_text(compile: Duration, wall: Duration) -> String {
    let compile = compile.min(wall);
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    format!(
        "time: compile {:.3} ms, run {:.3} ms (total {:.3} ms)",
        ms(compile),
        ms(wall - compile),
        ms(wall)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_text_splits_the_wall_time_and_never_runs_backwards() {
        let ms = Duration::from_millis;
        assert_eq!(
            time_text(ms(2), ms(5)),
            "time: compile 2.000 ms, run 3.000 ms (total 5.000 ms)"
        );
        // Compile time counted by the engine beyond the wall time is clamped.
        assert_eq!(
            time_text(ms(7), ms(5)),
            "time: compile 5.000 ms, run 0.000 ms (total 5.000 ms)"
        );
    }
}

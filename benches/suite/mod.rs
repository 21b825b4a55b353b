//! The suite of issue 18: each Kaleidoscope program here (`NAME.ks`) against its C
//! twin (`NAME.c`, the same algorithm compiled by `clang -O2`), whole process, at the
//! size its `def size()` gives (the twin's default size is the same).
//! `tests/suite.rs` checks that the twins print the same.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::{clang, ms, ratio, time, time_exe};

/// Below this, start-up and compile time would hide the steady state.
const C_AT_LEAST: Duration = Duration::from_millis(300);

/// One program's medians.
struct Row {
    name: String,
    default: Duration,
    tier1: Duration,
    c: Option<Duration>,
}

/// Times every program and prints the suite's table with the geometric means.
pub fn run(dir: &Path) {
    let none = &mut || {};
    let clang = clang();
    let mut rows = Vec::new();
    for ks in programs() {
        let name = ks.file_stem().expect("a file name").to_string_lossy();
        let default = time(&["--no-cache"], &ks, none);
        let tier1 = time(&["--no-cache", "--tier=1"], &ks, none);
        let c = clang.as_ref().map(|clang| {
            let exe = dir.join(format!("suite-{name}"));
            let status = Command::new(clang)
                .args(["-O2", "-o"])
                .arg(&exe)
                .arg(ks.with_extension("c"))
                .arg("-lm")
                .status()
                .expect("clang runs");
            assert!(status.success(), "clang failed on {name}.c");
            time_exe(&exe)
        });
        rows.push(Row {
            name: name.into_owned(),
            default,
            tier1,
            c,
        });
    }
    print_table(&rows, clang.is_some());
}

/// `benches/suite/*.ks`, sorted.
fn programs() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/suite");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("benches/suite")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "ks"))
        .collect();
    files.sort();
    files
}

fn print_table(rows: &[Row], have_clang: bool) {
    println!();
    println!(
        "| {:<10} | {:>13} | {:>13} | {:>13} | {:>13} | {:>13} | note",
        "suite", "toy default", "toy --tier=1", "C clang -O2", "default / C", "tier=1 / C"
    );
    println!(
        "|{:-<12}|{:-<15}|{:-<15}|{:-<15}|{:-<15}|{:-<15}|------",
        "", "", "", "", "", ""
    );
    for row in rows {
        let (c, by_default, by_tier1, note) = match row.c {
            Some(c) => (
                ms(c),
                format!("{:.2}x", ratio(row.default, c)),
                format!("{:.2}x", ratio(row.tier1, c)),
                if c < C_AT_LEAST {
                    "C under 0.3 s: size it up"
                } else {
                    ""
                },
            ),
            None => ("skipped".into(), "-".into(), "-".into(), ""),
        };
        println!(
            "| {:<10} | {:>13} | {:>13} | {c:>13} | {by_default:>13} | {by_tier1:>13} | {note}",
            row.name,
            ms(row.default),
            ms(row.tier1),
        );
    }
    if have_clang {
        let by_default = geomean(rows.iter().map(|r| ratio(r.default, r.c.expect("timed"))));
        let by_tier1 = geomean(rows.iter().map(|r| ratio(r.tier1, r.c.expect("timed"))));
        println!(
            "| {:<10} | {:>13} | {:>13} | {:>13} | {:>13} | {:>13} | target <= 1.15x (issue 18)",
            "geomean",
            "",
            "",
            "",
            format!("{by_default:.2}x"),
            format!("{by_tier1:.2}x"),
        );
    } else {
        println!("(no clang or clang-14 on PATH: the C rows are skipped; nothing is installed)");
    }
}

/// The geometric mean of positive ratios.
fn geomean(ratios: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = ratios.fold((0.0, 0), |(sum, n), r| (sum + r.ln(), n + 1));
    (sum / f64::from(n)).exp()
}

//! `toy build`: native executables and object files, and `--perf-map`.

mod common;

use std::process::Command;

fn toy_build(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_toy"))
        .env("TOY_CACHE", "off")
        .arg("build")
        .args(args)
        .output()
        .expect("toy build runs")
}

#[test]
fn every_example_builds_and_prints_what_toy_prints() {
    let dir = tempfile::tempdir().expect("temp dir");
    for path in common::ks_files("examples") {
        let exe = dir.path().join(path.file_stem().expect("stem"));
        let built = toy_build(&[
            path.to_str().expect("path"),
            "-o",
            exe.to_str().expect("exe"),
        ]);
        assert!(
            built.status.success(),
            "{}: {}",
            path.display(),
            String::from_utf8_lossy(&built.stderr)
        );
        let native = Command::new(&exe).output().expect("the executable runs");
        let jit = common::toy().arg(&path).output().expect("toy runs");
        assert_eq!(
            native.status.code(),
            jit.status.code(),
            "{}",
            path.display()
        );
        assert_eq!(
            String::from_utf8_lossy(&native.stdout),
            String::from_utf8_lossy(&jit.stdout),
            "{}",
            path.display()
        );
    }
}

#[test]
fn an_object_file_links_with_c() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ks = dir.path().join("lib.ks");
    std::fs::write(
        &ks,
        "def binary^ 50 (x n) if n < 1 then 1 else x * (x ^ (n - 1));\n\
         def cube(x) x ^ 3;\n\
         def hyp(a b) a * a + b * b;\n",
    )
    .expect("write");
    let object = dir.path().join("lib.o");
    let built = toy_build(&[
        "--emit=obj",
        ks.to_str().expect("ks"),
        "-o",
        object.to_str().expect("o"),
    ]);
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let c = dir.path().join("main.c");
    std::fs::write(
        &c,
        "#include <stdio.h>\n\
         double cube(double);\n\
         double hyp(double, double);\n\
         int main(void) { printf(\"%g %g\\n\", cube(3), hyp(3, 4)); return 0; }\n",
    )
    .expect("write");
    let exe = dir.path().join("main");
    let cc = Command::new("cc")
        .arg(&c)
        .arg(&object)
        .arg("-o")
        .arg(&exe)
        .output()
        .expect("cc runs");
    assert!(
        cc.status.success(),
        "{}",
        String::from_utf8_lossy(&cc.stderr)
    );
    let run = Command::new(&exe).output().expect("runs");
    assert_eq!(String::from_utf8_lossy(&run.stdout), "27 25\n");
}

#[test]
fn late_binding_and_missing_functions_behave_as_in_the_jit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ks = dir.path().join("late.ks");
    // g is defined after the first call of f: that call fails, as in `toy late.ks`
    // (which stops at the first error).
    std::fs::write(
        &ks,
        "extern printd(x);\ndef f(x) g(x);\nprintd(1);\nf(1);\ndef g(x) x;\n",
    )
    .expect("write");
    let exe = dir.path().join("late");
    let built = toy_build(&[ks.to_str().expect("ks"), "-o", exe.to_str().expect("exe")]);
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let native = Command::new(&exe).output().expect("runs");
    let jit = common::toy().arg(&ks).output().expect("toy runs");
    assert_eq!(native.status.code(), Some(1));
    assert_eq!(native.status.code(), jit.status.code());
    assert_eq!(native.stdout, jit.stdout);
    assert!(String::from_utf8_lossy(&native.stderr).contains("unknown function `g`"));
}

#[test]
fn build_errors_are_reported() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ks = dir.path().join("bad.ks");
    std::fs::write(&ks, "def f(x) x +;\n").expect("write");
    let out = toy_build(&[ks.to_str().expect("ks"), "-o", "/dev/null"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.ks:1:"));
    let ks = dir.path().join("undefined.ks");
    std::fs::write(&ks, "def f(x) nowhere(x);\nf(1);\n").expect("write");
    let out = toy_build(&[
        ks.to_str().expect("ks"),
        "-o",
        dir.path().join("u").to_str().expect("u"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nowhere"));
    let out = toy_build(&["--target", "aarch64-unknown-linux-gnu", "x.ks", "-o", "x"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn target_output_and_compiler_errors_name_their_cause() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ks = dir.path().join("ok.ks");
    std::fs::write(&ks, "def f(x) x;\nf(1);\n").expect("write");
    let ks = ks.to_str().expect("ks");
    let exe = dir.path().join("exe");
    let exe = exe.to_str().expect("exe");
    let stderr = |out: &std::process::Output| String::from_utf8_lossy(&out.stderr).into_owned();

    let out = toy_build(&["--target", "aarch64-unknown-linux-gnu", ks, "-o", exe]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .contains("unsupported target aarch64-unknown-linux-gnu: toy builds for x86-64 only"),
        "{}",
        stderr(&out)
    );

    let unwritable = dir.path().join("no/such/dir/lib.o");
    let out = toy_build(&["--emit=obj", ks, "-o", unwritable.to_str().expect("o")]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("cannot write {}: ", unwritable.display())),
        "{}",
        stderr(&out)
    );

    let out = Command::new(env!("CARGO_BIN_EXE_toy"))
        .env("TOY_CACHE", "off")
        .env("CC", dir.path().join("no-cc"))
        .args(["build", ks, "-o", exe])
        .output()
        .expect("toy build runs");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no C compiler found: install cc (gcc or clang) or set CC ("),
        "{}",
        stderr(&out)
    );
    assert!(!std::path::Path::new(exe).exists());
}

#[test]
fn perf_map_names_every_jitted_function() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ks = dir.path().join("pm.ks");
    std::fs::write(
        &ks,
        "def twice(x) x * 2;\ndef binary% 60 (a b) a - b;\ntwice(1) % 1;\n",
    )
    .expect("write");
    let child = Command::new(env!("CARGO_BIN_EXE_toy"))
        .env("TOY_CACHE", "off")
        .args(["--engine=lazy", "--perf-map"])
        .arg(&ks)
        .spawn()
        .expect("toy starts");
    let pid = child.id();
    let status = child.wait_with_output().expect("toy ends").status;
    assert!(status.success());
    let path = format!("/tmp/perf-{pid}.map");
    let map = std::fs::read_to_string(&path).expect("the perf map exists");
    let _ = std::fs::remove_file(&path);
    let mut names = Vec::new();
    for line in map.lines() {
        let fields: Vec<&str> = line.splitn(3, ' ').collect();
        assert_eq!(fields.len(), 3, "{line}");
        let start = u64::from_str_radix(fields[0], 16).expect("hex address");
        let size = u64::from_str_radix(fields[1], 16).expect("hex size");
        assert!(start > 0 && size > 0 && size < 4096, "{line}");
        names.push(fields[2].to_string());
    }
    names.sort();
    assert_eq!(names, ["binary%", "twice"]);
}

#[test]
fn gdb_sees_kaleidoscope_functions_lines_and_parameters() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ks = dir.path().join("prog.ks");
    std::fs::write(
        &ks,
        "extern printd(x);\n\
         def fib(x)\n  \
           if x < 3 then\n    \
             1\n  \
           else\n    \
             fib(x - 1) + fib(x - 2);\n\
         def run(n) var total = fib(n) in printd(total);\n\
         run(10);\n",
    )
    .expect("write");
    let exe = dir.path().join("prog");
    let built = toy_build(&[
        "-g",
        ks.to_str().expect("ks"),
        "-o",
        exe.to_str().expect("exe"),
    ]);
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let gdb = Command::new("gdb")
        .args([
            "--batch",
            "-nx",
            "-ex",
            "break prog.ks:3",
            "-ex",
            "run",
            "-ex",
            "bt",
            "-ex",
            "kill",
        ])
        .arg(&exe)
        .output()
        .expect("gdb runs");
    let out = String::from_utf8_lossy(&gdb.stdout);
    assert!(out.contains("Breakpoint 1 at"), "{out}");
    assert!(out.contains("file prog.ks, line 3."), "{out}");
    assert!(out.contains("fib (x=10) at prog.ks:3"), "{out}");
    // The backtrace: fib, called (through its stub) from run, called from the
    // top-level expression on line 8.
    assert!(out.contains(" run (n=10) at prog.ks:7"), "{out}");
    assert!(out.contains("__anon_expr () at prog.ks:8"), "{out}");
}

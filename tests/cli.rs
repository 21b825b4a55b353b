//! The `toy` command: every row of the command table, exit codes and diagnostics.

mod common;

use common::{ks_file, root, run, toy};

#[test]
fn piped_input_echoes_top_level_expressions_only() {
    let (status, stdout, stderr) = run(&[], "def f(x) x * 2;\nextern sin(x);\nf(21);\n1 + 1\n");
    assert_eq!(stdout, "Evaluated to 42.000000\nEvaluated to 2.000000\n");
    assert_eq!(stderr, "");
    assert_eq!(status, 0);
}

#[test]
fn piped_input_reports_errors_on_stderr_and_continues_with_status_1() {
    let (status, stdout, stderr) = run(&[], "1;\nnosuch(1);\n2 + ;\n3;\n");
    assert_eq!(stdout, "Evaluated to 1.000000\nEvaluated to 3.000000\n");
    assert!(stderr.contains("unknown function `nosuch`"), "{stderr}");
    assert!(stderr.contains("<stdin>:2:1"), "{stderr}");
    assert!(stderr.contains("<stdin>:3:5"), "{stderr}");
    assert!(
        stderr.contains("nosuch(1);"),
        "the source line is shown: {stderr}"
    );
    assert_eq!(status, 1);
}

#[test]
fn piped_input_items_may_span_lines() {
    let (status, stdout, _) = run(&[], "def f(x)\n  x +\n  1\nf(1)\n+ 1\n");
    assert_eq!(stdout, "Evaluated to 3.000000\n");
    assert_eq!(status, 0);
}

#[test]
fn files_run_in_order_without_echo_sharing_definitions() {
    let a = ks_file("extern printd(x);\ndef f(x) x + 1;\n1 + 1;\n");
    let b = ks_file("printd(f(1));\n");
    let output = toy().arg(a.path()).arg(b.path()).output().expect("runs");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "2.000000\n");
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn files_stop_at_the_first_error_with_status_1() {
    let a = ks_file("extern printd(x);\nprintd(1);\nprintd(nope);\nprintd(2);\n");
    let b = ks_file("printd(3);\n");
    let output = toy().arg(a.path()).arg(b.path()).output().expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(String::from_utf8_lossy(&output.stdout), "1.000000\n");
    assert!(
        stderr.contains(&format!("{}:3:8", a.path().display())),
        "{stderr}"
    );
    assert!(stderr.contains("unknown variable `nope`"), "{stderr}");
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn keep_going_reports_every_error_and_runs_the_rest() {
    let a = ks_file("extern printd(x);\nprintd(1);\nprintd(nope);\nprintd(2);\n1.2.3;\n");
    let b = ks_file("printd(3);\n");
    let output = toy()
        .arg("--keep-going")
        .arg(a.path())
        .arg(b.path())
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "1.000000\n2.000000\n3.000000\n"
    );
    assert!(stderr.contains("unknown variable `nope`"), "{stderr}");
    assert!(stderr.contains("malformed number `1.2.3`"), "{stderr}");
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn echo_flags_override_the_defaults() {
    let f = ks_file("1 + 2;\n");
    let output = toy().arg("--echo").arg(f.path()).output().expect("runs");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "Evaluated to 3.000000\n"
    );
    let (_, stdout, _) = run(&["--no-echo"], "1 + 2;\n");
    assert_eq!(stdout, "");
    // The last of the two flags wins.
    let (_, stdout, _) = run(&["--no-echo", "--echo"], "1 + 2;\n");
    assert_eq!(stdout, "Evaluated to 3.000000\n");
}

#[test]
fn engine_flag() {
    let (status, stdout, _) = run(&["--engine=interp"], "6 * 7;\n");
    assert_eq!((status, stdout.as_str()), (0, "Evaluated to 42.000000\n"));
    let (status, _, stderr) = run(&["--engine=warp"], "1;\n");
    assert_eq!(status, 2);
    assert!(stderr.contains("warp"), "{stderr}");
}

#[test]
fn emit_tokens() {
    let (status, stdout, _) = run(&["--emit=tokens"], "def f(x)\n  x+1.5; # c\n");
    assert_eq!(
        stdout,
        "1:1\tkeyword\tdef\n1:5\tident\tf\n1:6\tpunct\t(\n1:7\tident\tx\n1:8\tpunct\t)\n\
         2:3\tident\tx\n2:4\top\t+\n2:5\tnumber\t1.5\n2:8\tpunct\t;\n"
    );
    assert_eq!(status, 0);
    let (status, stdout, stderr) = run(&["--emit=tokens"], "a 1.2.3 b\n");
    assert_eq!(stdout, "1:1\tident\ta\n1:9\tident\tb\n");
    assert!(stderr.contains("malformed number"), "{stderr}");
    assert_eq!(status, 1);
}

#[test]
fn emit_ast_resolves_operators_without_running() {
    let f = ks_file("extern printd(x);\ndef binary| 5 (a b) a;\nprintd(1 | 2 + 3);\n");
    let output = toy()
        .arg("--emit=ast")
        .arg(f.path())
        .output()
        .expect("runs");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "(extern (printd x))\n(def (binary| 5 a b) a)\n(call printd (| 1 (+ 2 3)))\n"
    );
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn usage_errors_exit_with_2() {
    let (status, _, stderr) = run(&["--frobnicate"], "");
    assert_eq!(status, 2);
    assert!(stderr.contains("--frobnicate"), "{stderr}");
    let (status, _, stderr) = run(&["/no/such/file.ks"], "");
    assert_eq!(status, 2);
    assert!(stderr.contains("/no/such/file.ks"), "{stderr}");
    let (status, _, _) = run(&["--emit=bytecode"], "");
    assert_eq!(status, 2);
}

#[test]
fn help_and_version() {
    let (status, stdout, _) = run(&["--help"], "");
    assert_eq!(status, 0);
    for flag in ["--echo", "--no-echo", "--keep-going", "--engine", "--emit"] {
        assert!(stdout.contains(flag), "--help lacks {flag}");
    }
    let (status, stdout, _) = run(&["--version"], "");
    assert_eq!(status, 0);
    assert!(stdout.starts_with("toy "), "{stdout}");
}

#[test]
fn empty_input_is_fine() {
    assert_eq!(run(&[], ""), (0, String::new(), String::new()));
    assert_eq!(
        run(&[], "# only a comment"),
        (0, String::new(), String::new())
    );
}

#[test]
fn program_output_is_flushed_before_each_diagnostic() {
    let f = ks_file("extern printd(x);\nprintd(1);\nnope;\nprintd(2);\n");
    let output = std::process::Command::new("sh")
        .env("TOY_CACHE", "off")
        .arg("-c")
        .arg(format!(
            "'{}' --keep-going '{}' 2>&1",
            env!("CARGO_BIN_EXE_toy"),
            f.path().display()
        ))
        .output()
        .expect("sh runs");
    let merged = String::from_utf8_lossy(&output.stdout);
    let one = merged.find("1.000000").expect("first output");
    let error = merged.find("unknown variable").expect("the error");
    let two = merged.find("2.000000").expect("second output");
    assert!(one < error && error < two, "out of order:\n{merged}");
}

#[test]
fn diagnostics_have_no_colour_when_not_on_a_terminal() {
    let (_, _, stderr) = run(&[], "nope;\n");
    assert!(!stderr.contains('\x1b'), "{stderr:?}");
}

#[test]
fn invalid_utf8_and_nul_bytes_are_errors_with_positions() {
    let output = toy()
        .write_stdin(b"1;\n2 \xff\xfe;\n3 \0;\n4;\n".to_vec())
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("invalid UTF-8"), "{stderr}");
    assert!(stderr.contains("<stdin>:2:3"), "{stderr}");
    assert!(stderr.contains("unexpected character `\\0`"), "{stderr}");
    assert!(stderr.contains("<stdin>:3:3"), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "Evaluated to 1.000000\nEvaluated to 4.000000\n"
    );
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn the_readme_commands_exist() {
    let readme = std::fs::read_to_string(root("README.md")).expect("README.md");
    assert!(readme.contains("cargo run --release -- examples/mandel.ks"));
    assert!(readme.contains("cargo test"));
}

#[test]
fn emit_ir_asm_and_obj() {
    use object::{Object, ObjectSymbol};
    let program = "extern sin(x);\ndef f(x) sin(x) * 2;\ndef g(x) f(x) + 1;\ng(1);\n";
    let (status, ir, _) = run(&["--emit=ir"], program);
    assert_eq!(status, 0);
    assert!(ir.contains("define double @f(double %x)"), "{ir}");
    assert!(ir.contains("define double @__anon_expr()"), "{ir}");
    assert!(ir.contains("declare double @sin(double)"), "{ir}");
    let (status, asm, _) = run(&["--emit=asm", "-O", "0"], program);
    assert_eq!(status, 0);
    assert!(asm.contains("g:") && asm.contains("call"), "{asm}");

    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("out.o");
    let output = toy()
        .args(["--emit=obj", "-o"])
        .arg(&path)
        .write_stdin(program)
        .output()
        .expect("runs");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let bytes = std::fs::read(&path).expect("object written");
    let file = object::File::parse(&*bytes).expect("an object file");
    let defined: Vec<String> = file
        .symbols()
        .filter(|s| s.is_definition() && s.is_global())
        .filter_map(|s| s.name().ok().map(str::to_string))
        .collect();
    assert!(
        defined.contains(&"f".to_string()) && defined.contains(&"g".to_string()),
        "{defined:?}"
    );
    let (status, _, stderr) = run(&["--emit=obj"], program);
    assert_eq!(status, 2);
    assert!(stderr.contains("-o FILE"), "{stderr}");
}

#[test]
fn opt_levels_are_checked() {
    for level in ["0", "1", "2", "3"] {
        let (status, stdout, _) = run(&["-O", level], "def f(x) x * x;\nf(3);\n");
        assert_eq!(
            (status, stdout.as_str()),
            (0, "Evaluated to 9.000000\n"),
            "-O{level}"
        );
    }
    let (status, _, _) = run(&["-O", "4"], "");
    assert_eq!(status, 2);
}

//! Every program in examples/ prints its expected output (examples/NAME.out).

mod common;

use common::{ENGINES, Engine, ks_files};

#[test]
fn examples_print_their_expected_output() {
    let files = ks_files("examples");
    for name in ["mandel.ks", "fib.ks", "operators.ks"] {
        assert!(
            files.iter().any(|f| f.ends_with(name)),
            "examples/{name} is missing"
        );
    }
    for path in files {
        let expected = std::fs::read_to_string(path.with_extension("out"))
            .unwrap_or_else(|_| panic!("{} has no .out file", path.display()));
        for engine in ENGINES {
            let output = Engine::new(engine)
                .toy()
                .arg(&path)
                .output()
                .expect("toy runs");
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(
                output.status.success(),
                "{engine} {} ({}): {stderr}",
                path.display(),
                output.status
            );
            assert_eq!(
                String::from_utf8_lossy(&output.stdout),
                expected,
                "{engine} {}",
                path.display()
            );
        }
    }
}

//! `toy jupyter`: the kernelspec, and the kernel driven by the real `jupyter_client`
//! and `nbclient` (Python), which the test installs from PyPI into a virtual
//! environment in the target directory the first time (`target/jupyter-venv`, ~20 s;
//! later runs reuse it). The scenarios themselves are in `tests/jupyter/driver.py`.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// What the driver needs, with the versions it was written against.
const REQUIREMENTS: [&str; 3] = [
    "jupyter_client>=8,<9",
    "nbclient>=0.10,<0.12",
    "nbformat>=5.10,<6",
];

/// The longest a scenario may take (each of its waits has its own 30 s deadline).
const SCENARIO_LIMIT: Duration = Duration::from_secs(180);

const TOY: &str = env!("CARGO_BIN_EXE_toy");

fn target_dir() -> PathBuf {
    // TOY is TARGET/debug/toy (or TARGET/release/toy).
    Path::new(TOY)
        .ancestors()
        .nth(2)
        .expect("the target directory")
        .to_path_buf()
}

fn run(command: &mut Command, what: &str) {
    let output = command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The virtual environment's python, made (under a lock shared with other test
/// processes) when it is missing or was made for other requirements.
fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let target = target_dir();
        let venv = target.join("jupyter-venv");
        let lock = File::create(target.join("jupyter-venv.lock")).expect("the venv's lock file");
        // SAFETY: flock on a descriptor we own; released when `lock` is closed.
        assert_eq!(unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) }, 0);
        let ready = venv.join("toy-requirements");
        let wanted = REQUIREMENTS.join("\n");
        if std::fs::read_to_string(&ready).ok().as_deref() != Some(wanted.as_str()) {
            if venv.exists() {
                std::fs::remove_dir_all(&venv).expect("remove a stale venv");
            }
            run(
                Command::new("python3").args(["-m", "venv"]).arg(&venv),
                "python3 -m venv",
            );
            run(
                Command::new(venv.join("bin/python"))
                    .args([
                        "-m",
                        "pip",
                        "install",
                        "--quiet",
                        "--disable-pip-version-check",
                    ])
                    .args(REQUIREMENTS),
                "pip install jupyter_client nbclient nbformat",
            );
            std::fs::write(&ready, wanted).expect("mark the venv ready");
        }
        drop(lock);
        venv.join("bin/python")
    })
}

/// Runs `driver.py SCENARIO` against this build's `toy`, with Jupyter's directories
/// in a fresh temporary directory.
fn scenario(name: &str) {
    let python = python();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let home = tempfile::tempdir().expect("a temporary directory");
    let dir = |sub: &str| {
        let path = home.path().join(sub);
        std::fs::create_dir_all(&path).expect("a Jupyter directory");
        path
    };
    let (data, runtime) = (dir("data"), dir("runtime"));
    let mut child = Command::new(python)
        .arg(root.join("tests/jupyter/driver.py"))
        .arg(name)
        .env("TOY", TOY)
        .env("EXAMPLES", root.join("examples"))
        .env("JUPYTER_DATA_DIR", &data)
        .env("JUPYTER_PATH", &data)
        .env("JUPYTER_RUNTIME_DIR", &runtime)
        .env("JUPYTER_CONFIG_DIR", dir("config"))
        .env("JUPYTER_PLATFORM_DIRS", "1")
        .env("HOME", home.path())
        .env("TOY_CACHE", "off")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python starts");
    let start = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if start.elapsed() > SCENARIO_LIMIT {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().expect("driver output");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let log = std::fs::read_to_string(runtime.join("kernel.log")).unwrap_or_default();
    assert!(
        output.status.success() && stdout.contains(&format!("{name}: ok")),
        "scenario {name} failed ({:?}):\n{stdout}\n{stderr}\nkernel's stderr:\n{log}",
        output.status
    );
}

#[test]
fn cells_run_in_one_session_with_results_streams_errors_completion_and_commands() {
    scenario("session");
}

#[test]
fn forged_and_malformed_messages_are_dropped_and_the_kernel_goes_on() {
    scenario("hostile");
}

#[test]
fn an_endless_cell_stops_on_interrupt_request_and_on_sigint() {
    scenario("interrupt");
}

#[test]
fn a_crashed_executor_ends_only_its_cell_and_definitions_stay() {
    scenario("crash");
}

#[test]
fn the_mandelbrot_notebook_executes_end_to_end_through_nbclient() {
    scenario("notebook");
}

#[test]
fn install_writes_a_kernelspec_that_starts_this_toy() {
    let prefix = tempfile::tempdir().expect("a temporary directory");
    let output = Command::new(TOY)
        .args(["jupyter", "install", "--prefix"])
        .arg(prefix.path())
        .output()
        .expect("toy runs");
    assert!(output.status.success(), "{output:?}");
    let spec = prefix
        .path()
        .join("share/jupyter/kernels/kaleidoscope/kernel.json");
    let spec: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&spec).expect("kernel.json")).expect("JSON");
    let toy = Path::new(TOY).canonicalize().expect("toy's path");
    let argv = [
        &toy.display().to_string(),
        "jupyter",
        "kernel",
        "-f",
        "{connection_file}",
    ];
    assert_eq!(spec["argv"], serde_json::json!(argv));
    assert_eq!(spec["language"], "kaleidoscope");
}

#[test]
fn a_kernel_with_a_bad_connection_file_says_why() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let missing = dir.path().join("missing.json");
    let garbled = dir.path().join("garbled.json");
    std::fs::write(&garbled, "{\"shell_port\": \"many\"}").expect("write");
    let ipc = dir.path().join("ipc.json");
    let file = r#"{"shell_port": 1, "iopub_port": 2, "stdin_port": 3, "control_port": 4,
        "hb_port": 5, "ip": "127.0.0.1", "key": "", "transport": "ipc"}"#;
    std::fs::write(&ipc, file).expect("write");
    for (path, says) in [
        (&missing, "missing.json"),
        (&garbled, "is malformed"),
        (&ipc, "transport `ipc`"),
    ] {
        let output = Command::new(TOY)
            .args(["jupyter", "kernel", "-f"])
            .arg(path)
            .output()
            .expect("toy runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(says), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

//! `toy jupyter install`: the kernelspec that tells Jupyter how to start toy.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::KernelError;

/// The kernel's name in Jupyter (`jupyter console --kernel kaleidoscope`).
pub const KERNEL_NAME: &str = "kaleidoscope";

/// Where the kernelspec goes: `PREFIX/share/jupyter/kernels/NAME` with a prefix, else
/// the user's Jupyter data directory (`$JUPYTER_DATA_DIR`, else
/// `$XDG_DATA_HOME/jupyter`, i.e. `~/.local/share/jupyter`), as `jupyter kernelspec
/// install --user` and `--prefix` do.
pub fn kernel_dir(prefix: Option<&Path>) -> Result<PathBuf, KernelError> {
    let data = match prefix {
        Some(prefix) => prefix.join("share").join("jupyter"),
        None => match std::env::var_os("JUPYTER_DATA_DIR").filter(|v| !v.is_empty()) {
            Some(dir) => PathBuf::from(dir),
            None => dirs::data_dir()
                .ok_or(KernelError::NoDataDir)?
                .join("jupyter"),
        },
    };
    Ok(data.join("kernels").join(KERNEL_NAME))
}

/// The kernelspec's `kernel.json` for the binary at `toy`.
pub fn kernel_json(toy: &Path, color: bool) -> serde_json::Value {
    let mut argv = vec![
        toy.display().to_string(),
        "jupyter".into(),
        "kernel".into(),
        "-f".into(),
        "{connection_file}".into(),
    ];
    if color {
        argv.push("--color".into());
    }
    json!({
        "argv": argv,
        "display_name": "Kaleidoscope",
        "language": "kaleidoscope",
        // Interrupts come as `interrupt_request`s on the control channel (SIGINT
        // works too): the same for a kernel on another machine or in a container.
        "interrupt_mode": "message",
        "metadata": { "debugger": false },
    })
}

/// Writes the kernelspec for the running binary; returns its directory.
pub fn install(prefix: Option<&Path>, color: bool) -> Result<PathBuf, KernelError> {
    let toy = std::env::current_exe()
        .and_then(|exe| exe.canonicalize())
        .map_err(KernelError::OwnPath)?;
    let dir = kernel_dir(prefix)?;
    let write = |path: &Path, text: String| {
        std::fs::write(path, text).map_err(|source| KernelError::Write {
            path: path.to_path_buf(),
            source,
        })
    };
    std::fs::create_dir_all(&dir).map_err(|source| KernelError::Write {
        path: dir.clone(),
        source,
    })?;
    let spec = serde_json::to_string_pretty(&kernel_json(&toy, color)).unwrap_or_default();
    write(&dir.join("kernel.json"), spec + "\n")?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_starts_this_binary_with_the_connection_file() {
        let spec = kernel_json(Path::new("/opt/bin/toy"), false);
        assert_eq!(
            spec["argv"],
            json!([
                "/opt/bin/toy",
                "jupyter",
                "kernel",
                "-f",
                "{connection_file}"
            ])
        );
        assert_eq!(spec["language"], "kaleidoscope");
        let colored = kernel_json(Path::new("/opt/bin/toy"), true);
        assert_eq!(colored["argv"][5], "--color");
    }

    #[test]
    fn a_prefix_puts_it_under_share_jupyter() {
        let dir = kernel_dir(Some(Path::new("/p"))).expect("a directory");
        assert_eq!(dir, Path::new("/p/share/jupyter/kernels/kaleidoscope"));
    }
}

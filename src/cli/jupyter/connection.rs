//! The connection file Jupyter gives a kernel (`-f CONNECTION.json`): where to bind
//! its five sockets and the key that signs messages.

use std::path::Path;

use serde::Deserialize;

use super::KernelError;
use crate::cli::input;

/// What a connection file says.
#[derive(Debug, Deserialize)]
pub struct ConnectionInfo {
    /// `tcp` (the only transport toy binds).
    pub transport: String,
    /// The address to bind.
    pub ip: String,
    /// The shell channel's port (ROUTER).
    pub shell_port: u16,
    /// The iopub channel's port (PUB).
    pub iopub_port: u16,
    /// The stdin channel's port (ROUTER).
    pub stdin_port: u16,
    /// The control channel's port (ROUTER).
    pub control_port: u16,
    /// The heartbeat's port (REP).
    pub hb_port: u16,
    /// The HMAC key (empty: messages are not signed).
    #[serde(default)]
    pub key: String,
    /// `hmac-sha256` (the only scheme toy speaks) when there is a key.
    #[serde(default)]
    pub signature_scheme: String,
}

impl ConnectionInfo {
    /// Reads and checks a connection file.
    pub fn read(path: &Path) -> Result<Self, KernelError> {
        let bytes = input::read_file(path).map_err(KernelError::ConnectionFile)?;
        let info: ConnectionInfo =
            serde_json::from_slice(&bytes).map_err(|source| KernelError::Malformed {
                path: path.display().to_string(),
                source,
            })?;
        info.check()?;
        Ok(info)
    }

    fn check(&self) -> Result<(), KernelError> {
        if self.transport != "tcp" {
            return Err(KernelError::Unsupported(format!(
                "transport `{}` (toy binds tcp only)",
                self.transport
            )));
        }
        if !self.key.is_empty() && self.signature_scheme != "hmac-sha256" {
            return Err(KernelError::Unsupported(format!(
                "signature scheme `{}` (toy signs with hmac-sha256)",
                self.signature_scheme
            )));
        }
        Ok(())
    }

    /// The ZeroMQ endpoint of `port`.
    pub fn endpoint(&self, port: u16) -> String {
        if self.ip.contains(':') {
            format!("{}://[{}]:{port}", self.transport, self.ip)
        } else {
            format!("{}://{}:{port}", self.transport, self.ip)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ConnectionInfo, String> {
        let info: ConnectionInfo = serde_json::from_str(text).map_err(|e| e.to_string())?;
        info.check().map_err(|e| e.to_string())?;
        Ok(info)
    }

    const FILE: &str = r#"{"shell_port": 1, "iopub_port": 2, "stdin_port": 3,
        "control_port": 4, "hb_port": 5, "ip": "127.0.0.1", "key": "k",
        "transport": "tcp", "signature_scheme": "hmac-sha256", "kernel_name": "x"}"#;

    #[test]
    fn a_jupyter_connection_file_is_read() {
        let info = parse(FILE).expect("valid");
        assert_eq!(info.endpoint(info.hb_port), "tcp://127.0.0.1:5");
        assert_eq!(info.key, "k");
    }

    #[test]
    fn other_transports_and_schemes_are_refused() {
        let ipc = FILE.replace(r#""tcp""#, r#""ipc""#);
        assert!(parse(&ipc).unwrap_err().contains("transport `ipc`"));
        let md5 = FILE.replace("hmac-sha256", "hmac-md5");
        assert!(parse(&md5).unwrap_err().contains("hmac-md5"));
        assert!(parse("{}").is_err());
        assert!(parse(&FILE.replace("\"shell_port\": 1", "\"shell_port\": -1")).is_err());
    }
}

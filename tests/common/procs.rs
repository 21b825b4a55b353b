//! Watching the processes `toy` starts, through /proc, with deadlines.

use std::time::{Duration, Instant};

/// The executor process that `toy` (pid `parent`) spawned, other than `not`.
pub fn executor_of(parent: u32, not: Option<u32>) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let tasks = std::fs::read_dir(format!("/proc/{parent}/task")).expect("toy's threads");
        for task in tasks.flatten() {
            let children =
                std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            for pid in children.split_whitespace() {
                let pid: u32 = pid.parse().expect("a pid");
                if Some(pid) != not {
                    return pid;
                }
            }
        }
        assert!(Instant::now() < deadline, "toy started no executor");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until `pid` has burnt some CPU time (it runs an endless loop).
pub fn wait_busy(pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let utime: u64 = stat
            .rsplit(')')
            .next()
            .and_then(|rest| rest.split_whitespace().nth(11))
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        if utime >= 10 {
            return;
        }
        assert!(Instant::now() < deadline, "the executor never got busy");
        std::thread::sleep(Duration::from_millis(20));
    }
}

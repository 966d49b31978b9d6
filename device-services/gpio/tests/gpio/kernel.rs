//! A tiny stand-in for the kernel's sysfs GPIO class: a temp directory with `export` and
//! `unexport` files, and a task that reacts to writes the way the kernel does (creating or
//! removing `gpioN/` with `direction`, `value`, `edge` and `active_low`).

use std::path::{Path, PathBuf};
use std::time::Duration;

pub(crate) struct FakeSysfs {
    dir: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl FakeSysfs {
    /// Starts the emulator; must run inside a tokio runtime.
    pub(crate) fn start() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("gpio-sysfs-")
            .tempdir()
            .unwrap();
        let root = dir.path().to_owned();
        std::fs::write(root.join("export"), "").unwrap();
        std::fs::write(root.join("unexport"), "").unwrap();
        let task = tokio::spawn(emulate(root));
        Self { dir, task }
    }

    pub(crate) fn root(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn line_dir(&self, line: u32) -> PathBuf {
        self.root().join(format!("gpio{line}"))
    }

    /// Exports a line as if another program (or the boot) had, with a direction and value.
    pub(crate) fn pre_export(&self, line: u32, direction: &str, value: &str) {
        create_line(self.root(), line);
        self.set(line, "direction", direction);
        self.set(line, "value", value);
    }

    pub(crate) fn get(&self, line: u32, file: &str) -> String {
        std::fs::read_to_string(self.line_dir(line).join(file))
            .unwrap()
            .trim()
            .to_owned()
    }

    /// Changes a line file as the hardware would (e.g. a button changing `value`). Like a
    /// kernel attribute, a reader sees the old or the new text, never a half-written file.
    pub(crate) fn set(&self, line: u32, file: &str, text: &str) {
        let dir = self.line_dir(line);
        let tmp = dir.join(format!(".{file}.new"));
        std::fs::write(&tmp, format!("{text}\n")).unwrap();
        std::fs::rename(&tmp, dir.join(file)).unwrap();
    }
}

impl Drop for FakeSysfs {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn create_line(root: &Path, line: u32) {
    let d = root.join(format!("gpio{line}"));
    std::fs::create_dir_all(&d).unwrap();
    for (f, v) in [
        ("direction", "in"),
        ("value", "0"),
        ("edge", "none"),
        ("active_low", "0"),
    ] {
        std::fs::write(d.join(f), format!("{v}\n")).unwrap();
    }
}

fn take_number(path: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(path).ok()?;
    let n = text.trim().parse().ok();
    if !text.is_empty() {
        std::fs::write(path, "").ok()?;
    }
    n
}

async fn emulate(root: PathBuf) {
    loop {
        if let Some(n) = take_number(&root.join("export")) {
            create_line(&root, n);
        }
        if let Some(n) = take_number(&root.join("unexport")) {
            let _ = std::fs::remove_dir_all(root.join(format!("gpio{n}")));
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Polls `cond` every 5 ms for at most 5 s.
pub(crate) async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

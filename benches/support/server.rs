//! The real binary for a bench: started on loopback and a fresh data
//! directory, killed when dropped.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context};
use tempfile::TempDir;

pub struct Server {
    child: Child,
    /// `http://127.0.0.1:port/api/v10`.
    pub api: String,
    _dir: TempDir,
}

impl Server {
    /// `hearth serve` on loopback, a fresh data directory, rate limits off,
    /// and `args`.
    pub fn start(bin: &Path, args: &[&str]) -> anyhow::Result<Server> {
        let dir = super::fixture::bench_dir()?;
        let mut child = Command::new(bin)
            .arg("serve")
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .args(["--rate-limits", "off"])
            .args(args)
            .env(
                "HEARTH_LOG",
                std::env::var("HEARTH_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let stdout = child.stdout.take();
        let mut server = Server {
            child,
            api: String::new(),
            _dir: dir,
        };
        let Some(stdout) = stdout else {
            bail!("the server's stdout was not captured");
        };
        let (tx, rx) = std::sync::mpsc::channel();
        // Reads until the server exits, so its stdout never fills up.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(url) = line.strip_prefix("hearth listening on ") {
                    let _ = tx.send(url.trim().to_owned());
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(30))
            .context("the server did not report listening within 30 s")?;
        anyhow::ensure!(
            url.starts_with("http://127.0.0.1:"),
            "the server listens on {url}, not on loopback"
        );
        server.api = format!("{url}/api/v10");
        Ok(server)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// For benches that sample the server's memory.
    #[allow(dead_code)]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

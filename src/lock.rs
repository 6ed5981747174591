//! The run lock (docs/design.md §4): a non-blocking `flock` on the lock file
//! guards one host, and `GET_LOCK` on a dedicated connection, held for the
//! whole run, guards several hosts sharing one database. The kernel and the
//! server release both when the process dies.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::time::{Duration, Instant};

use sqlx::Connection;
use sqlx::mysql::MySqlConnection;
use tracing::debug;

use crate::config::Config;
use crate::db;
use crate::db::Within;
use crate::error::{Error, Result};

/// Both locks, held until dropped or released.
pub struct RunLock {
    _file: File,
    /// The database lock's connection; `None` with `database_lock = false`.
    conn: Option<MySqlConnection>,
    name: String,
}

const POLL: Duration = Duration::from_millis(200);

/// The server lock name for a database (at most 64 characters).
pub fn lock_name(database: &str) -> String {
    format!("sigov-alerts:{database}").chars().take(64).collect()
}

impl RunLock {
    /// Takes the file lock, then the database lock; waits up to
    /// `wait_lock` for each, else fails with `LockHeld` saying who holds it.
    pub async fn acquire(cfg: &Config, command: &str) -> Result<RunLock> {
        let deadline = Instant::now() + cfg.wait_lock;
        let path = &cfg.lock_file;
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .write(true)
            .truncate(false)
            .open(path)
            .map_err(|e| Error::Config(format!("configuration: lock_file: cannot open {}: {e}", path.display())))?;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) if Instant::now() < deadline => tokio::time::sleep(POLL).await,
                Err(TryLockError::WouldBlock) => {
                    let mut holder = String::new();
                    let _ = file.read_to_string(&mut holder);
                    let holder = holder.trim();
                    let who = if holder.is_empty() { "another process".to_string() } else { holder.to_string() };
                    return Err(Error::LockHeld(format!(
                        "another run is active: lock file {} is held by {who}",
                        path.display()
                    )));
                }
                Err(TryLockError::Error(e)) => {
                    return Err(Error::Config(format!(
                        "configuration: lock_file: cannot lock {}: {e}",
                        path.display()
                    )));
                }
            }
        }
        let host = crate::runs::hostname();
        let me = format!(
            "{command} (pid {} on {host}, started {} UTC)",
            std::process::id(),
            chrono::Utc::now().format("%Y-%m-%d %H:%M:%S")
        );
        let _ = file.set_len(0).and_then(|_| file.seek(SeekFrom::Start(0))).and_then(|_| file.write_all(me.as_bytes()));

        let target = cfg.database()?;
        let name = lock_name(&target.database);
        if !cfg.database_lock {
            debug!(lock = %path.display(), "file lock taken; database lock off");
            return Ok(RunLock { _file: file, conn: None, name });
        }
        let mut conn = db::open(target).await?;
        let wait = deadline.saturating_duration_since(Instant::now()).as_secs();
        // language=MySQL
        let got: Option<i64> = sqlx::query_scalar("SELECT GET_LOCK(?, ?)")
            .bind(&name)
            .bind(wait as i64)
            .fetch_one(&mut conn)
            .within("taking the database lock")
            .await?;
        if got != Some(1) {
            let who = crate::runs::running_holder(&mut conn).await.unwrap_or_else(|| "another host".to_string());
            let _ = conn.close().await;
            return Err(Error::LockHeld(format!("another run is active: database lock {name} is held by {who}")));
        }
        debug!(lock = %name, "locks taken");
        Ok(RunLock { _file: file, conn: Some(conn), name })
    }

    /// Releases the database lock and closes its connection (the file lock
    /// goes with the file).
    pub async fn release(self) {
        if let Some(mut conn) = self.conn {
            // A courtesy: the server releases the lock when the connection
            // ends anyway, so a stalled server gets a second at most.
            let release = async {
                // language=MySQL
                let _ = sqlx::query("SELECT RELEASE_LOCK(?)").bind(&self.name).execute(&mut conn).await;
                let _ = conn.close().await;
            };
            let _ = tokio::time::timeout(db::CLOSE_TIMEOUT, release).await;
        }
    }
}

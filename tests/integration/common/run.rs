//! Running the built binary: [`Sigov`] gathers its options and arguments,
//! [`Ran`] is what a finished run printed and how it ended, with the checks
//! the tests make on it, and [`Spawned`] is a run still going.

use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_sigov-alerts");

/// How long a test waits for a run to end before it kills it and fails:
/// only so that a hung run cannot hang the suite.
pub const SAFETY: Duration = Duration::from_secs(120);

/// One invocation of the binary, environment cleared but for PATH: the
/// global options in the order given, then the arguments.
pub struct Sigov {
    wrapper: Vec<OsString>,
    options: Vec<OsString>,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    dir: Option<PathBuf>,
}

impl Sigov {
    /// The binary with `args` (a command and its flags).
    pub fn new(args: &[&str]) -> Sigov {
        Sigov {
            wrapper: vec![],
            options: vec![],
            args: args.iter().map(OsString::from).collect(),
            env: vec![("PATH".into(), std::env::var_os("PATH").unwrap_or_default())],
            dir: None,
        }
    }

    /// Run through `wrapper` (a program and its arguments, the binary last),
    /// stdin null.
    pub fn via(mut self, wrapper: &[&str]) -> Self {
        self.wrapper = wrapper.iter().map(OsString::from).collect();
        self
    }

    /// A global option and its value, before the arguments; given again,
    /// the new value replaces the old.
    pub fn opt(mut self, name: &str, value: impl AsRef<OsStr>) -> Self {
        let value = value.as_ref().to_os_string();
        match self.options.chunks_mut(2).find(|o| o[0] == name) {
            Some(o) => o[1] = value,
            None => self.options.extend([name.into(), value]),
        }
        self
    }

    /// `--smtp-url`.
    pub fn smtp(self, url: impl AsRef<OsStr>) -> Self {
        self.opt("--smtp-url", url)
    }

    /// `--config`.
    pub fn config(self, path: impl AsRef<OsStr>) -> Self {
        self.opt("--config", path)
    }

    /// More arguments after those given.
    pub fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(OsString::from));
        self
    }

    /// An environment variable.
    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Self {
        self.env.push((key.into(), value.as_ref().into()));
        self
    }

    /// The working directory.
    pub fn dir(mut self, dir: &Path) -> Self {
        self.dir = Some(dir.to_path_buf());
        self
    }

    fn argv(&self) -> Vec<OsString> {
        self.options.iter().chain(&self.args).cloned().collect()
    }

    /// The command line, for messages.
    fn what(&self) -> String {
        self.argv().iter().map(|a| a.to_string_lossy().into_owned()).collect::<Vec<_>>().join(" ")
    }

    /// The command line for a shell, each word quoted (none holds a quote).
    pub fn shell_line(&self) -> String {
        let words = std::iter::once(OsString::from(BIN)).chain(self.argv());
        words.map(|w| format!("'{}'", w.to_string_lossy())).collect::<Vec<_>>().join(" ")
    }

    /// The command, ready to run.
    pub fn command(&self) -> Command {
        let mut c = match self.wrapper.split_first() {
            None => Command::new(BIN),
            Some((program, rest)) => {
                let mut c = Command::new(program);
                c.args(rest).arg(BIN).stdin(Stdio::null());
                c
            }
        };
        c.env_clear().envs(self.env.iter().map(|(k, v)| (k, v))).args(self.argv());
        if let Some(d) = &self.dir {
            c.current_dir(d);
        }
        c
    }

    /// Runs it to its end.
    pub fn run(self) -> Ran {
        Ran::of(self.what(), self.command().output().expect("run the binary"))
    }

    /// Runs it to its end, which must be exit code `code`.
    #[track_caller]
    pub fn expect(self, code: i32) -> Ran {
        self.run().expect(code)
    }

    /// Starts it, stdout and stderr captured as they come.
    pub fn spawn(self) -> Spawned {
        let mut child = self.command().stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("start the binary");
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let readers = vec![
            collect(child.stdout.take().unwrap(), stdout.clone()),
            collect(child.stderr.take().unwrap(), stderr.clone()),
        ];
        Spawned { what: self.what(), child, stdout, stderr, readers }
    }
}

/// Copies `from` into `to` until it closes.
fn collect(mut from: impl Read + Send + 'static, to: Arc<Mutex<Vec<u8>>>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 {
                break;
            }
            to.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    })
}

/// A finished run: how it ended and what it printed.
#[derive(Debug)]
pub struct Ran {
    /// The command line.
    pub what: String,
    /// Exit code (None: killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Ran {
    /// What `what` ended with.
    pub fn of(what: impl Into<String>, out: Output) -> Ran {
        Ran {
            what: what.into(),
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs another program (a tool a test needs) to its end, which must be a success.
    pub fn tool(mut cmd: Command) -> Ran {
        let what = format!("{cmd:?}");
        let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
        Ran::of(what, out).expect(0)
    }

    /// stdout then stderr.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// Everything about the run, for a failure message.
    fn show(&self) -> String {
        format!("`{}` ended with {:?}\n--- stdout\n{}--- stderr\n{}", self.what, self.code, self.stdout, self.stderr)
    }

    /// The run ended with exit code `code`.
    #[track_caller]
    pub fn expect(self, code: i32) -> Self {
        assert_eq!(self.code, Some(code), "{}", self.show());
        self
    }

    /// The run did not succeed.
    #[track_caller]
    pub fn expect_failure(self) -> Self {
        assert!(self.code.is_some_and(|c| c != 0), "{}", self.show());
        self
    }

    /// Nothing on stdout or stderr.
    #[track_caller]
    pub fn assert_quiet(&self) -> &Self {
        assert!(self.stdout.is_empty() && self.stderr.is_empty(), "quiet expected: {}", self.show());
        self
    }

    /// stdout holds each of `texts`.
    #[track_caller]
    pub fn assert_stdout(&self, texts: &[&str]) -> &Self {
        for t in texts {
            assert!(self.stdout.contains(t), "stdout lacks {t:?}: {}", self.show());
        }
        self
    }

    /// stderr holds each of `texts`.
    #[track_caller]
    pub fn assert_stderr(&self, texts: &[&str]) -> &Self {
        for t in texts {
            assert!(self.stderr.contains(t), "stderr lacks {t:?}: {}", self.show());
        }
        self
    }

    /// stderr is one line, starting with `start`; returns it.
    #[track_caller]
    pub fn error_line(&self, start: &str) -> &str {
        assert_eq!(self.stderr.lines().count(), 1, "one line expected: {}", self.show());
        assert!(self.stderr.starts_with(start), "stderr does not start with {start:?}: {}", self.show());
        self.stderr.trim_end()
    }

    /// stdout as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.show()))
    }
}

/// A run still going, its output captured.
pub struct Spawned {
    what: String,
    child: Child,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    readers: Vec<JoinHandle<()>>,
}

impl Spawned {
    /// Its process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Sends it `signal` (`-TERM`…) with kill(1).
    pub fn signal(&self, signal: &str) {
        let ok = Command::new("kill").arg(signal).arg(self.id().to_string()).status().is_ok_and(|s| s.success());
        assert!(ok, "kill {signal} {}", self.id());
    }

    /// Whether it has ended.
    pub fn ended(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("try_wait")
    }

    /// What it wrote on stderr so far.
    pub fn stderr_so_far(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }

    /// Waits until its stderr holds `text` (at most [`SAFETY`]); panics when
    /// it ends before.
    #[track_caller]
    pub fn wait_for_stderr(&mut self, text: &str) {
        let end = Instant::now() + SAFETY;
        while !self.stderr_so_far().contains(text) {
            if let Some(status) = self.ended() {
                for r in self.readers.drain(..) {
                    let _ = r.join();
                }
                panic!("`{}` ended ({status}) before printing {text:?}: {}", self.what, self.stderr_so_far());
            }
            assert!(Instant::now() < end, "`{}` never printed {text:?}: {}", self.what, self.stderr_so_far());
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// SIGKILL, and reaps it.
    pub fn kill(mut self) -> Ran {
        self.child.kill().expect("kill");
        self.finish()
    }

    /// Waits for its end (killing it and failing after [`SAFETY`]).
    #[track_caller]
    pub fn finish(mut self) -> Ran {
        let end = Instant::now() + SAFETY;
        let status = loop {
            if let Some(s) = self.ended() {
                break s;
            }
            if Instant::now() > end {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("`{}` still running after {SAFETY:?}: {}", self.what, self.stderr_so_far());
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        for r in self.readers.drain(..) {
            r.join().unwrap();
        }
        let take = |b: &Arc<Mutex<Vec<u8>>>| std::mem::take(&mut *b.lock().unwrap());
        Ran::of(self.what.clone(), Output { status, stdout: take(&self.stdout), stderr: take(&self.stderr) })
    }
}

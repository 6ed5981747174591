//! A real SMTP server on 127.0.0.1 for tests and benchmarks: speaks enough
//! of RFC 5321 for lettre (EHLO, STARTTLS, MAIL, RCPT, DATA, RSET, NOOP,
//! QUIT), keeps what it receives, and can misbehave on demand (4xx, 5xx,
//! silence).

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

/// One message as received.
#[derive(Debug, Clone)]
pub struct Received {
    /// Envelope sender.
    pub from: String,
    /// Envelope recipients.
    pub to: Vec<String>,
    /// The raw message (dot-unstuffed, CRLF line ends).
    pub data: String,
}

/// How the server answers.
#[derive(Debug, Default)]
pub struct Behaviour {
    /// Replies to RCPT for given addresses, e.g. `550 5.1.1 no such user`.
    pub rcpt_replies: HashMap<String, String>,
    /// Answer the next N RCPTs (of any address) with `451 4.3.0 try again`.
    pub defer_next: u32,
    /// Accept TCP and never say anything.
    pub silent: bool,
    /// Keep messages in memory (off for benchmarks: count only).
    pub keep: bool,
    /// Offer STARTTLS with this server configuration.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// With `tls`: TLS from the first byte (smtps) instead of STARTTLS.
    pub implicit_tls: bool,
    /// Require AUTH PLAIN with this user and password (535 otherwise).
    pub auth: Option<(String, String)>,
    /// Reply this to every MAIL FROM (e.g. `421 4.3.2 shutting down`).
    pub mail_reply: Option<String>,
    /// Reply this to every RCPT; `{addr}` stands for the address.
    pub rcpt_all: Option<String>,
    /// Once this many messages are accepted, hold the end of the next
    /// message's data (no reply, not counted) until [`SmtpSink::release`].
    pub block_after: Option<usize>,
    /// Hold each session's first end of data until this many sessions are
    /// open (at most 30 s), so that that many clients are sending at once.
    pub hold_until_sessions: Option<usize>,
}

/// A self-signed certificate for `localhost`: the server configuration and
/// the certificate in PEM, for the client to trust.
pub fn self_signed() -> (Arc<rustls::ServerConfig>, String) {
    let key = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("certificate");
    let pem = key.cert.pem();
    let chain = vec![key.cert.der().clone()];
    let private = rustls::pki_types::PrivateKeyDer::Pkcs8(key.signing_key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .expect("server config");
    (Arc::new(config), pem)
}

#[derive(Default)]
struct State {
    behaviour: Behaviour,
    received: Vec<Received>,
    count: usize,
    sessions: usize,
    tls_sessions: usize,
    auth_attempts: usize,
    /// Sessions holding a message because of `block_after`.
    blocked: usize,
    /// Held messages still to be dropped, not accepted (their client was killed).
    to_drop: usize,
}

/// A running sink; it stops with the process.
#[derive(Clone)]
pub struct SmtpSink {
    /// Port on 127.0.0.1.
    pub port: u16,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

impl SmtpSink {
    /// Starts a sink on a free port that keeps messages.
    pub fn start() -> SmtpSink {
        Self::start_on(0, true)
    }

    /// Starts a sink on `port` (0: any free port).
    pub fn start_on(port: u16, keep: bool) -> SmtpSink {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind SMTP sink");
        let port = listener.local_addr().expect("addr").port();
        let state =
            Arc::new(Mutex::new(State { behaviour: Behaviour { keep, ..Default::default() }, ..Default::default() }));
        let stop = Arc::new(AtomicBool::new(false));
        let (s2, stop2) = (state.clone(), stop.clone());
        thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let s3 = s2.clone();
                thread::spawn(move || {
                    let _ = session(conn, s3);
                });
            }
        });
        SmtpSink { port, state, stop }
    }

    /// The URL the binary takes.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}?tls=none", self.port)
    }

    /// Changes how the server answers.
    pub fn configure(&self, f: impl FnOnce(&mut Behaviour)) {
        f(&mut self.state.lock().unwrap().behaviour);
    }

    /// Answers RCPT for each of `addresses` with `reply`, in which `{addr}`
    /// stands for the address (e.g. `550 5.1.1 <{addr}>: no such user`).
    pub fn refuse(&self, addresses: &[&str], reply: &str) {
        self.configure(|b| {
            for a in addresses {
                b.rcpt_replies.insert(a.to_string(), reply.replace("{addr}", a));
            }
        });
    }

    /// Messages received so far.
    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    /// Number of messages accepted.
    pub fn count(&self) -> usize {
        self.state.lock().unwrap().count
    }

    /// Number of SMTP sessions opened.
    pub fn sessions(&self) -> usize {
        self.state.lock().unwrap().sessions
    }

    /// Number of sessions upgraded with STARTTLS.
    pub fn tls_sessions(&self) -> usize {
        self.state.lock().unwrap().tls_sessions
    }

    /// AUTH commands received.
    pub fn auth_attempts(&self) -> usize {
        self.state.lock().unwrap().auth_attempts
    }

    /// Sessions holding a message because of `block_after`.
    pub fn blocked(&self) -> usize {
        self.state.lock().unwrap().blocked
    }

    /// Lets held messages go (they are then accepted), and stops holding.
    pub fn release(&self) {
        self.state.lock().unwrap().behaviour.block_after = None;
    }

    /// Drops held messages unanswered and uncounted (their client is gone),
    /// and stops holding.
    pub fn drop_held(&self) {
        let mut s = self.state.lock().unwrap();
        s.to_drop = s.blocked;
        s.behaviour.block_after = None;
    }

    /// Waits until `f` holds (at most `secs` seconds); false on time-out.
    pub fn wait_for(&self, secs: u64, f: impl Fn(&SmtpSink) -> bool) -> bool {
        let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        while !f(self) {
            if std::time::Instant::now() > end {
                return false;
            }
            thread::sleep(std::time::Duration::from_millis(5));
        }
        true
    }

    /// Stops accepting new connections (existing ones finish).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn session(conn: TcpStream, state: Arc<Mutex<State>>) -> std::io::Result<()> {
    let (silent, tls, implicit) = {
        let mut s = state.lock().unwrap();
        s.sessions += 1;
        (s.behaviour.silent, s.behaviour.tls.clone(), s.behaviour.implicit_tls)
    };
    if silent {
        // Hold the connection open without a greeting until the peer leaves.
        let mut buf = [0u8; 512];
        let mut c = conn;
        while c.read(&mut buf)? > 0 {}
        return Ok(());
    }
    if let (true, Some(config)) = (implicit, &tls) {
        let server = rustls::ServerConnection::new(config.clone()).map_err(std::io::Error::other)?;
        let mut reader = BufReader::new(rustls::StreamOwned::new(server, conn));
        state.lock().unwrap().tls_sessions += 1;
        reader.get_mut().write_all(b"220 localhost ESMTP sink\r\n")?;
        dialogue(&mut reader, &state, false)?;
        return Ok(());
    }
    let mut reader = BufReader::new(conn);
    reader.get_mut().write_all(b"220 localhost ESMTP sink\r\n")?;
    if let (Next::StartTls, Some(config)) = (dialogue(&mut reader, &state, tls.is_some())?, tls) {
        let server = rustls::ServerConnection::new(config).map_err(std::io::Error::other)?;
        let mut reader = BufReader::new(rustls::StreamOwned::new(server, reader.into_inner()));
        state.lock().unwrap().tls_sessions += 1;
        dialogue(&mut reader, &state, false)?;
    }
    Ok(())
}

enum Next {
    Done,
    StartTls,
}

/// The SMTP dialogue over a plain or TLS stream.
fn dialogue<S: Read + Write>(
    reader: &mut BufReader<S>,
    state: &Arc<Mutex<State>>,
    offer_tls: bool,
) -> std::io::Result<Next> {
    let mut from = String::new();
    let mut to: Vec<String> = Vec::new();
    let mut line = String::new();
    let mut first_message = true;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(Next::Done);
        }
        let cmd = line.trim_end().to_string();
        let upper = cmd.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            let tls = if offer_tls { "250-STARTTLS\r\n" } else { "" };
            let auth = if state.lock().unwrap().behaviour.auth.is_some() { "250-AUTH PLAIN\r\n" } else { "" };
            reader.get_mut().write_all(
                format!("250-localhost\r\n{tls}{auth}250-8BITMIME\r\n250-SMTPUTF8\r\n250 PIPELINING\r\n").as_bytes(),
            )?;
        } else if upper.starts_with("AUTH PLAIN") {
            let reply = {
                let mut s = state.lock().unwrap();
                s.auth_attempts += 1;
                let expected = s.behaviour.auth.as_ref().map(|(u, p)| base64(format!("\0{u}\0{p}").as_bytes()));
                match expected {
                    Some(e) if cmd[10..].trim() == e => "235 2.7.0 authenticated",
                    _ => "535 5.7.8 authentication credentials invalid",
                }
            };
            reader.get_mut().write_all(format!("{reply}\r\n").as_bytes())?;
        } else if upper == "STARTTLS" && offer_tls {
            reader.get_mut().write_all(b"220 2.0.0 ready to start TLS\r\n")?;
            return Ok(Next::StartTls);
        } else if upper.starts_with("HELO") {
            reader.get_mut().write_all(b"250 localhost\r\n")?;
        } else if upper.starts_with("MAIL FROM:") {
            from = addr(&cmd[10..]);
            to.clear();
            match state.lock().unwrap().behaviour.mail_reply.clone() {
                Some(r) => reader.get_mut().write_all(format!("{r}\r\n").as_bytes())?,
                None => reader.get_mut().write_all(b"250 2.1.0 ok\r\n")?,
            }
        } else if upper.starts_with("RCPT TO:") {
            let a = addr(&cmd[8..]);
            let reply = {
                let mut s = state.lock().unwrap();
                if s.behaviour.defer_next > 0 {
                    s.behaviour.defer_next -= 1;
                    Some("451 4.3.0 try again later".to_string())
                } else if let Some(r) = &s.behaviour.rcpt_all {
                    Some(r.replace("{addr}", &a))
                } else {
                    s.behaviour.rcpt_replies.get(&a).cloned()
                }
            };
            match reply {
                Some(r) => reader.get_mut().write_all(format!("{r}\r\n").as_bytes())?,
                None => {
                    to.push(a);
                    reader.get_mut().write_all(b"250 2.1.5 ok\r\n")?;
                }
            }
        } else if upper == "DATA" {
            if to.is_empty() {
                reader.get_mut().write_all(b"554 5.5.1 no valid recipients\r\n")?;
                continue;
            }
            reader.get_mut().write_all(b"354 end with .\r\n")?;
            // Byte lines, no UTF-8 check per line; kept only when asked.
            let keep = state.lock().unwrap().behaviour.keep;
            let mut data: Vec<u8> = Vec::new();
            let mut raw: Vec<u8> = Vec::with_capacity(128);
            loop {
                raw.clear();
                if reader.read_until(b'\n', &mut raw)? == 0 {
                    return Ok(Next::Done);
                }
                if raw == b".\r\n" || raw == b".\n" {
                    break;
                }
                if keep {
                    data.extend_from_slice(raw.strip_prefix(b".").unwrap_or(&raw));
                }
            }
            let data = String::from_utf8_lossy(&data).into_owned();
            if !hold(state, std::mem::take(&mut first_message)) {
                return Ok(Next::Done);
            }
            {
                let mut s = state.lock().unwrap();
                s.count += 1;
                if s.behaviour.keep {
                    s.received.push(Received { from: from.clone(), to: to.clone(), data });
                }
            }
            to.clear();
            reader.get_mut().write_all(b"250 2.0.0 queued\r\n")?;
        } else if upper == "RSET" {
            to.clear();
            reader.get_mut().write_all(b"250 2.0.0 ok\r\n")?;
        } else if upper == "NOOP" {
            reader.get_mut().write_all(b"250 2.0.0 ok\r\n")?;
        } else if upper == "QUIT" {
            reader.get_mut().write_all(b"221 2.0.0 bye\r\n")?;
            return Ok(Next::Done);
        } else {
            reader.get_mut().write_all(b"502 5.5.2 not implemented\r\n")?;
        }
    }
}

/// Holds the end of a message's data as `block_after` and
/// `hold_until_sessions` say; false when the held message is to be dropped.
fn hold(state: &Arc<Mutex<State>>, first_of_session: bool) -> bool {
    let end = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut counted = false;
    loop {
        {
            let mut s = state.lock().unwrap();
            if counted && s.to_drop > 0 {
                s.to_drop -= 1;
                s.blocked -= 1;
                return false;
            }
            let waits_for_sessions =
                first_of_session && s.behaviour.hold_until_sessions.is_some_and(|n| s.sessions < n);
            let blocked = s.behaviour.block_after.is_some_and(|n| s.count >= n);
            if !blocked && counted {
                s.blocked -= 1;
                counted = false;
            }
            if blocked && !counted {
                s.blocked += 1;
                counted = true;
            }
            if !blocked && (!waits_for_sessions || std::time::Instant::now() > end) {
                return true;
            }
        }
        thread::sleep(std::time::Duration::from_millis(2));
    }
}

/// Standard base64 (for AUTH PLAIN).
pub fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn addr(s: &str) -> String {
    let s = s.trim();
    let s = s.split_whitespace().next().unwrap_or(s);
    s.trim_start_matches('<').trim_end_matches('>').to_string()
}

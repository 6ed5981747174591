//! The only module that imports lettre: builds MIME messages and sends them
//! over one kept-open SMTP connection (or writes `.eml` files), with
//! timeouts enforced around every send, and sorts failures into deferred,
//! unreachable and permanent (ruling R5).

use std::path::PathBuf;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::net::TcpStream;
use tracing::instrument;

use super::render::Email;
use crate::config::{Config, TlsMode, Transport};
use crate::error::{Error, Result};

/// Why a send failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// The server answered 4xx: retry soon, it is up.
    Deferred(String),
    /// The server cannot be reached or does not answer: retry on a later run.
    Unreachable(String),
    /// Not worth retrying: 5xx, invalid address or message.
    Permanent(String),
}

impl SendError {
    /// The server's reply or the local reason.
    pub fn reply(&self) -> &str {
        match self {
            SendError::Deferred(s) | SendError::Unreachable(s) | SendError::Permanent(s) => s,
        }
    }
}

enum Kind {
    /// `smtp://`: our own kept-open connection (see [`Direct`]).
    Direct(Box<Direct>),
    /// `smtps://`: lettre's pooled transport.
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    File(PathBuf),
}

/// One SMTP connection kept open across messages, on a socket with
/// `TCP_NODELAY`. lettre writes the message body and the final `.` in two
/// writes; with Nagle's algorithm on, the second waits for the server's
/// delayed ACK (40 ms on Linux), which capped a pooled lettre transport at
/// about 25 messages per second. Connecting ourselves lets us set the socket
/// option; lettre still speaks SMTP (EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA).
struct Direct {
    host: String,
    port: u16,
    tls: TlsMode,
    tls_params: Option<TlsParameters>,
    credentials: Option<Credentials>,
    connect_timeout: Duration,
    /// Idle open connections (as many as messages were sent at once).
    conn: std::sync::Mutex<Vec<AsyncSmtpConnection>>,
}

impl Direct {
    async fn connect(&self) -> Result<AsyncSmtpConnection, SendError> {
        let tcp = tokio::time::timeout(self.connect_timeout, TcpStream::connect((self.host.as_str(), self.port)))
            .await
            .map_err(|_| {
                SendError::Unreachable(format!("no connection within {}s", self.connect_timeout.as_secs_f32()))
            })?
            .map_err(|e| SendError::Unreachable(format!("connecting to {}:{}: {e}", self.host, self.port)))?;
        let _ = tcp.set_nodelay(true);
        let hello = ClientId::default();
        let mut conn = AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &hello).await.map_err(classify)?;
        match self.tls {
            TlsMode::None => {}
            TlsMode::Opportunistic if !conn.can_starttls() => {}
            TlsMode::Opportunistic | TlsMode::Required | TlsMode::Wrapper => {
                let params =
                    self.tls_params.clone().ok_or_else(|| SendError::Unreachable("no TLS parameters".into()))?;
                // A server that refuses TLS when it is required is unusable, not a rejection.
                conn.starttls(params, &hello)
                    .await
                    .map_err(|e| SendError::Unreachable(crate::error::one_line(&e.to_string())))?;
            }
        }
        if let Some(c) = &self.credentials {
            conn.auth(&[Mechanism::Plain, Mechanism::Login], c).await.map_err(classify)?;
        }
        Ok(conn)
    }

    async fn send(&self, msg: &Message) -> Result<(), SendError> {
        let kept = self.conn.lock().ok().and_then(|mut c| c.pop()).filter(|c| !c.has_broken());
        let mut conn = match kept {
            Some(c) => c,
            None => self.connect().await?,
        };
        conn.send(msg.envelope(), &msg.formatted()).await.map_err(classify)?;
        if let Ok(mut idle) = self.conn.lock() {
            idle.push(conn);
        }
        Ok(())
    }

    async fn test(&self) -> Result<bool, SendError> {
        let mut conn = self.connect().await?;
        let ok = conn.test_connected().await;
        let _ = conn.quit().await;
        Ok(ok)
    }
}

/// TLS parameters for `host`: the system's trusted roots, plus the CA of
/// `smtp_ca_file` when given.
fn tls_parameters(host: &str, ca_pem: Option<&[u8]>) -> Result<TlsParameters> {
    let mut b = TlsParameters::builder(host.to_string());
    if let Some(pem) = ca_pem {
        let cert =
            Certificate::from_pem(pem).map_err(|e| Error::Config(format!("configuration: smtp_ca_file: {e}")))?;
        b = b.add_root_certificate(cert);
    }
    b.build_rustls().map_err(|e| Error::Config(format!("configuration: smtp_url: TLS setup: {e}")))
}

fn classify(e: lettre::transport::smtp::Error) -> SendError {
    let text = crate::error::one_line(&e.to_string());
    if e.is_permanent() {
        SendError::Permanent(text)
    } else if e.is_transient() {
        SendError::Deferred(text)
    } else {
        SendError::Unreachable(text)
    }
}

/// Sends e-mails from the configured sender.
pub struct Mailer {
    kind: Kind,
    from: Mailbox,
    reply_to: Option<Mailbox>,
    send_timeout: Duration,
}

/// The domain of the sender address, for Message-IDs.
pub fn from_domain(cfg: &Config) -> String {
    cfg.from.email.domain().to_string()
}

impl Mailer {
    /// A mailer for `transport`.
    pub fn new(cfg: &Config, transport: &Transport) -> Result<Mailer> {
        let kind = match transport {
            Transport::File(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| {
                    Error::Config(format!("configuration: smtp_url: cannot create {}: {e}", dir.display()))
                })?;
                Kind::File(dir.clone())
            }
            Transport::Smtp { host, port, tls, user, password, ca_pem } if *tls != TlsMode::Wrapper => {
                Kind::Direct(Box::new(Direct {
                    host: host.clone(),
                    port: *port,
                    tls: *tls,
                    tls_params: (*tls != TlsMode::None).then(|| tls_parameters(host, ca_pem.as_deref())).transpose()?,
                    credentials: user.as_ref().map(|u| {
                        Credentials::new(
                            u.clone(),
                            password.as_ref().map(|p| p.expose().to_string()).unwrap_or_default(),
                        )
                    }),
                    connect_timeout: cfg.smtp_timeout,
                    conn: std::sync::Mutex::new(Vec::new()),
                }))
            }
            Transport::Smtp { host, port, tls, user, password, ca_pem } => {
                let params = || tls_parameters(host, ca_pem.as_deref());
                let tls = match tls {
                    TlsMode::None => Tls::None,
                    TlsMode::Opportunistic => Tls::Opportunistic(params()?),
                    TlsMode::Required => Tls::Required(params()?),
                    TlsMode::Wrapper => Tls::Wrapper(params()?),
                };
                let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.as_str())
                    .port(*port)
                    .tls(tls)
                    .timeout(Some(cfg.smtp_timeout))
                    .pool_config(PoolConfig::new().max_size(2).idle_timeout(Duration::from_secs(30)));
                if let Some(user) = user {
                    let pw = password.as_ref().map(|p| p.expose().to_string()).unwrap_or_default();
                    b = b.credentials(Credentials::new(user.clone(), pw));
                }
                Kind::Smtp(b.build())
            }
        };
        Ok(Mailer { kind, from: cfg.from.clone(), reply_to: cfg.reply_to.clone(), send_timeout: cfg.send_timeout })
    }

    /// Builds the MIME message: multipart/alternative text + HTML, stable
    /// Message-ID, `Auto-Submitted` and `X-Auto-Response-Suppress`.
    pub fn build(&self, to_name: &str, to: &str, email: &Email, message_id: &str) -> Result<Message, SendError> {
        let address =
            Address::from_str(to.trim()).map_err(|e| SendError::Permanent(format!("invalid address: {e}")))?;
        let name = crate::notify::render::header_safe(to_name);
        let to = Mailbox::new((!name.trim().is_empty()).then(|| name.trim().to_string()), address);
        let mut b = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject.clone())
            .message_id(Some(message_id.to_string()))
            .date(SystemTime::now());
        if let Some(r) = &self.reply_to {
            b = b.reply_to(r.clone());
        }
        for (name, value) in [("Auto-Submitted", "auto-generated"), ("X-Auto-Response-Suppress", "All")] {
            if let Ok(name) = HeaderName::new_from_ascii(name.to_string()) {
                b = b.raw_header(HeaderValue::new(name, value.to_string()));
            }
        }
        b.multipart(MultiPart::alternative_plain_html(email.text.clone(), email.html.clone()))
            .map_err(|e| SendError::Permanent(format!("building the message: {e}")))
    }

    /// Sends one message within the send timeout.
    #[instrument(skip_all)]
    pub async fn send(&self, msg: &Message, file_stem: &str) -> Result<(), SendError> {
        match &self.kind {
            Kind::File(dir) => {
                let path = dir.join(format!("{file_stem}.eml"));
                std::fs::write(&path, msg.formatted())
                    .map_err(|e| SendError::Unreachable(format!("writing {}: {e}", path.display())))
            }
            Kind::Direct(d) => match tokio::time::timeout(self.send_timeout, d.send(msg)).await {
                Err(_) => {
                    // The timed-out send dropped its connection with it; the
                    // idle ones may be as stuck: start afresh.
                    if let Ok(mut idle) = d.conn.lock() {
                        idle.clear();
                    }
                    Err(SendError::Unreachable(format!(
                        "no answer from the SMTP server within {}s",
                        self.send_timeout.as_secs_f32()
                    )))
                }
                Ok(r) => r,
            },
            Kind::Smtp(t) => match tokio::time::timeout(self.send_timeout, t.send(msg.clone())).await {
                Err(_) => Err(SendError::Unreachable(format!(
                    "no answer from the SMTP server within {}s",
                    self.send_timeout.as_secs_f32()
                ))),
                Ok(r) => r.map(|_| ()).map_err(classify),
            },
        }
    }

    /// `doctor`: connects, says EHLO and NOOP.
    pub async fn test(&self) -> Result<String> {
        match &self.kind {
            Kind::File(dir) => {
                let probe = dir.join(".sigov-alerts-probe");
                std::fs::write(&probe, b"")
                    .and_then(|_| std::fs::remove_file(&probe))
                    .map(|_| format!("writes .eml files to {}", dir.display()))
                    .map_err(|e| Error::Io(format!("mail directory {}: {e}", dir.display())))
            }
            Kind::Direct(d) => match tokio::time::timeout(self.send_timeout, d.test()).await {
                Ok(Ok(true)) => Ok("answers EHLO and NOOP".into()),
                Ok(Ok(false)) => Err(Error::Mail { transient: true, message: "did not answer NOOP".into() }),
                Ok(Err(e)) => Err(Error::Mail { transient: true, message: e.reply().to_string() }),
                Err(_) => Err(Error::Mail {
                    transient: true,
                    message: format!("no answer within {}s", self.send_timeout.as_secs_f32()),
                }),
            },
            Kind::Smtp(t) => match tokio::time::timeout(self.send_timeout, t.test_connection()).await {
                Ok(Ok(true)) => Ok("answers EHLO and NOOP".into()),
                Ok(Ok(false)) => Err(Error::Mail { transient: true, message: "did not answer NOOP".into() }),
                Ok(Err(e)) => Err(Error::Mail { transient: true, message: crate::error::one_line(&e.to_string()) }),
                Err(_) => Err(Error::Mail {
                    transient: true,
                    message: format!("no answer within {}s", self.send_timeout.as_secs_f32()),
                }),
            },
        }
    }
}

/// A file name for a Message-ID.
pub fn file_stem(message_id: &str) -> String {
    message_id.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-').collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_stem_is_safe() {
        assert_eq!(file_stem("<abc123@ex.org>"), "abc123ex.org");
    }
}

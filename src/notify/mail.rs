//! The only module that imports lettre: builds MIME messages and sends them
//! over kept-open SMTP connections of our own (or writes `.eml` files), with
//! timeouts enforced around every send, and sorts failures into deferred,
//! unreachable and permanent (ruling R5).

use std::path::PathBuf;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream, Certificate, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use lettre::{Address, Message};
use tokio::net::TcpStream;
use tracing::instrument;

use super::render::Email;
use crate::config::{Config, TlsMode, Transport};
use crate::error::{Error, Result};

/// Why a send failed, sorted by whom it concerns (ruling R5): only
/// [`SendError::Permanent`] says anything about the recipient or message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// A 4xx reply about this message (RCPT, DATA): it stays queued and is
    /// retried; consecutive ones trip the circuit breaker.
    Deferred(String),
    /// The relay cannot be used now (unreachable, silent, 421, a timeout, a
    /// 4xx before any recipient): delivery stops, mail stays queued (75).
    Relay(String),
    /// The relay refuses our configuration (authentication, TLS, a sender it
    /// will not take): delivery stops, mail stays queued, exit 78.
    Config(String),
    /// A 5xx reply after RCPT or DATA, or a message that cannot be built:
    /// this one e-mail fails for good.
    Permanent(String),
}

impl SendError {
    /// The server's reply or the local reason.
    pub fn reply(&self) -> &str {
        match self {
            SendError::Deferred(s) | SendError::Relay(s) | SendError::Config(s) | SendError::Permanent(s) => s,
        }
    }
}

/// Whether `address` is a mailbox the message builder accepts: the same
/// test at planning (R9 `bad_address`) and at sending.
pub fn valid_address(address: &str) -> bool {
    let Ok(address) = Address::from_str(address.trim()) else { return false };
    let from = Mailbox::new(None, Address::new("probe", "example.org").expect("a valid probe address"));
    Message::builder().from(from).to(Mailbox::new(None, address)).subject("").body(String::new()).is_ok()
}

/// The SMTP step a reply came from: a reply means something different
/// before and after the recipient is named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Greeting,
    Auth,
    Mail,
    Rcpt,
    Data,
}

enum Kind {
    /// `smtp://` and `smtps://`: our own kept-open connections (see [`Direct`]).
    Direct(Box<Direct>),
    File(PathBuf),
}

/// A TLS stream lettre can speak SMTP over (implicit TLS, `smtps://`).
#[derive(Debug)]
struct ImplicitTls(tokio_rustls::client::TlsStream<TcpStream>);

impl tokio::io::AsyncRead for ImplicitTls {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for ImplicitTls {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }
    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}

impl AsyncTokioStream for ImplicitTls {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

/// The rustls client configuration for implicit TLS: the system's roots
/// plus `smtp_ca_file`.
fn implicit_tls_config(ca_pem: Option<&[u8]>) -> Result<std::sync::Arc<tokio_rustls::rustls::ClientConfig>> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    use tokio_rustls::rustls;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    if let Some(pem) = ca_pem {
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| Error::Config(format!("configuration: smtp_ca_file: {e}")))?;
            roots.add(cert).map_err(|e| Error::Config(format!("configuration: smtp_ca_file: {e}")))?;
        }
    }
    let config =
        rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Config(format!("configuration: smtp_url: TLS setup: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
    Ok(std::sync::Arc::new(config))
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
    /// For `smtps://`: TLS from the first byte.
    implicit: Option<std::sync::Arc<tokio_rustls::rustls::ClientConfig>>,
    credentials: Option<Credentials>,
    /// `smtp_timeout`: bounds every step (connect, greeting, each command).
    timeout: Duration,
    /// Idle open connections (as many as messages were sent at once).
    conn: std::sync::Mutex<Vec<AsyncSmtpConnection>>,
    /// The relay's refusal of our configuration, once met: not retried.
    refused: std::sync::Mutex<Option<SendError>>,
}

impl Direct {
    /// Bounds one SMTP step by `smtp_timeout`.
    async fn step<T>(
        &self,
        what: &str,
        fut: impl std::future::Future<Output = Result<T, SendError>>,
    ) -> Result<T, SendError> {
        tokio::time::timeout(self.timeout, fut).await.unwrap_or_else(|_| {
            Err(SendError::Relay(format!(
                "no answer from {}:{} to {what} within {}s (smtp_timeout)",
                self.host,
                self.port,
                self.timeout.as_secs_f32()
            )))
        })
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, SendError> {
        if let Some(refused) = self.refused.lock().ok().and_then(|r| r.clone()) {
            // Authentication is tried once per run, not once per message.
            return Err(refused);
        }
        let result = self.open().await;
        if let Err(e @ SendError::Config(_)) = &result
            && let Ok(mut r) = self.refused.lock()
        {
            *r = Some(e.clone());
        }
        result
    }

    async fn open(&self) -> Result<AsyncSmtpConnection, SendError> {
        let tcp = self
            .step("the connection", async {
                TcpStream::connect((self.host.as_str(), self.port))
                    .await
                    .map_err(|e| SendError::Relay(format!("connecting to {}:{}: {e}", self.host, self.port)))
            })
            .await?;
        let _ = tcp.set_nodelay(true);
        let hello = ClientId::default();
        let stream: Box<dyn AsyncTokioStream> = match &self.implicit {
            None => Box::new(tcp),
            Some(config) => {
                let name = rustls_pki_types::ServerName::try_from(self.host.clone())
                    .map_err(|e| SendError::Config(format!("TLS server name {}: {e}", self.host)))?;
                let tls = self
                    .step("the TLS handshake", async {
                        tokio_rustls::TlsConnector::from(config.clone())
                            .connect(name, tcp)
                            .await
                            .map_err(|e| SendError::Config(format!("TLS with {}:{}: {e}", self.host, self.port)))
                    })
                    .await?;
                Box::new(ImplicitTls(tls))
            }
        };
        let mut conn = self
            .step("the greeting", async {
                AsyncSmtpConnection::connect_with_transport(stream, &hello)
                    .await
                    .map_err(|e| classify(e, Step::Greeting))
            })
            .await?;
        match self.tls {
            TlsMode::None | TlsMode::Wrapper => {}
            TlsMode::Opportunistic if !conn.can_starttls() => {}
            TlsMode::Opportunistic | TlsMode::Required => {
                if !conn.can_starttls() {
                    return Err(SendError::Config(format!(
                        "{}:{} does not offer STARTTLS, which is required (smtp_url ?tls=…)",
                        self.host, self.port
                    )));
                }
                let params = self.tls_params.clone().ok_or_else(|| SendError::Config("no TLS parameters".into()))?;
                // A TLS failure says nothing about the recipient: it is ours to fix.
                self.step("STARTTLS", async {
                    conn.starttls(params, &hello)
                        .await
                        .map_err(|e| SendError::Config(format!("STARTTLS: {}", crate::error::one_line(&e.to_string()))))
                })
                .await?;
            }
        }
        if let Some(c) = &self.credentials {
            self.step("AUTH", async {
                conn.auth(&[Mechanism::Plain, Mechanism::Login], c).await.map_err(|e| classify(e, Step::Auth))
            })
            .await?;
        }
        Ok(conn)
    }

    /// One message, step by step, so that each reply is judged by the step
    /// it answers; the connection is kept for the next message unless the
    /// relay itself failed.
    async fn send(&self, msg: &Message) -> Result<(), SendError> {
        let kept = self.conn.lock().ok().and_then(|mut c| c.pop()).filter(|c| !c.has_broken());
        let reused = kept.is_some();
        let mut conn = match kept {
            Some(c) => c,
            None => self.connect().await?,
        };
        let mut result = self.transaction(&mut conn, msg).await;
        if reused && matches!(result, Err((SendError::Relay(_), Step::Mail))) {
            // A kept connection the relay has since closed (idle timeout,
            // messages per session): nothing was accepted yet, so one more
            // try on a fresh connection decides.
            conn = self.connect().await?;
            result = self.transaction(&mut conn, msg).await;
        }
        let result = result.map_err(|(e, _)| e);
        let reusable = match &result {
            Ok(()) => true,
            Err(SendError::Deferred(_) | SendError::Permanent(_)) => {
                self.step("RSET", async { conn.command(Rset).await.map_err(|e| classify(e, Step::Mail)) }).await.is_ok()
            }
            Err(_) => false,
        };
        if reusable && let Ok(mut idle) = self.conn.lock() {
            idle.push(conn);
        }
        result
    }

    /// One message: MAIL, RCPT, DATA; a failure says at which step.
    async fn transaction(&self, conn: &mut AsyncSmtpConnection, msg: &Message) -> Result<(), (SendError, Step)> {
        let envelope = msg.envelope();
        let body = msg.formatted();
        let mut options = vec![];
        let non_ascii = envelope.from().into_iter().chain(envelope.to()).any(|a| !AsRef::<str>::as_ref(a).is_ascii());
        if non_ascii {
            if !conn.server_info().supports_feature(Extension::SmtpUtfEight) {
                let why = "the address needs SMTPUTF8, which the relay does not offer";
                return Err((SendError::Permanent(why.into()), Step::Rcpt));
            }
            options.push(MailParameter::SmtpUtfEight);
        }
        if !body.is_ascii() && conn.server_info().supports_feature(Extension::EightBitMime) {
            options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        let from = envelope.from().cloned();
        self.step("MAIL FROM", async {
            conn.command(Mail::new(from, options)).await.map_err(|e| classify(e, Step::Mail))
        })
        .await
        .map_err(|e| (e, Step::Mail))?;
        for to in envelope.to() {
            self.step("RCPT TO", async {
                conn.command(Rcpt::new(to.clone(), vec![])).await.map_err(|e| classify(e, Step::Rcpt))
            })
            .await
            .map_err(|e| (e, Step::Rcpt))?;
        }
        self.step("DATA", async { conn.command(Data).await.map_err(|e| classify(e, Step::Data)) })
            .await
            .map_err(|e| (e, Step::Data))?;
        self.step("the end of data", async { conn.message(&body).await.map_err(|e| classify(e, Step::Data)) })
            .await
            .map_err(|e| (e, Step::Data))?;
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

/// Sorts a failure by the step it answers (ruling R5): a 5xx about the
/// recipient or the message fails that e-mail; an authentication or sender
/// refusal is configuration; 421 and anything else before a recipient is
/// named is the relay's.
fn classify(e: lettre::transport::smtp::Error, step: Step) -> SendError {
    let text = crate::error::one_line(&e.to_string());
    let code = e.status().map(|c| c.to_string()).unwrap_or_default();
    if code == "421" || !(e.is_permanent() || e.is_transient()) {
        return SendError::Relay(text);
    }
    match step {
        Step::Auth if e.is_permanent() => SendError::Config(format!("the relay refused authentication: {text}")),
        Step::Mail if e.is_permanent() => SendError::Config(format!("the relay refused the sender: {text}")),
        Step::Greeting | Step::Auth => SendError::Relay(text),
        Step::Mail | Step::Rcpt | Step::Data if e.is_transient() => SendError::Deferred(text),
        Step::Mail | Step::Rcpt | Step::Data => SendError::Permanent(text),
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
            Transport::Smtp { host, port, tls, user, password, ca_pem } => Kind::Direct(Box::new(Direct {
                host: host.clone(),
                port: *port,
                tls: *tls,
                tls_params: matches!(tls, TlsMode::Opportunistic | TlsMode::Required)
                    .then(|| tls_parameters(host, ca_pem.as_deref()))
                    .transpose()?,
                implicit: (*tls == TlsMode::Wrapper).then(|| implicit_tls_config(ca_pem.as_deref())).transpose()?,
                credentials: user.as_ref().map(|u| {
                    Credentials::new(u.clone(), password.as_ref().map(|p| p.expose().to_string()).unwrap_or_default())
                }),
                timeout: cfg.smtp_timeout,
                conn: std::sync::Mutex::new(Vec::new()),
                refused: std::sync::Mutex::new(None),
            })),
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
                    .map_err(|e| SendError::Relay(format!("writing {}: {e}", path.display())))
            }
            Kind::Direct(d) => match tokio::time::timeout(self.send_timeout, d.send(msg)).await {
                Err(_) => {
                    // The timed-out send dropped its connection with it; the
                    // idle ones may be as stuck: start afresh.
                    if let Ok(mut idle) = d.conn.lock() {
                        idle.clear();
                    }
                    Err(SendError::Relay(format!(
                        "no answer from the SMTP server within {}s (send_timeout)",
                        self.send_timeout.as_secs_f32()
                    )))
                }
                Ok(r) => r,
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
                Ok(Err(e @ SendError::Config(_))) => Err(Error::Config(e.reply().to_string())),
                Ok(Err(e)) => Err(Error::Mail { transient: true, message: e.reply().to_string() }),
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

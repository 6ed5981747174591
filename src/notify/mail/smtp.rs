//! The SMTP client of `smtp://` and `smtps://`: our own connections, kept
//! open across messages on sockets with `TCP_NODELAY`; each message sent step
//! by step (MAIL, RCPT, DATA), every step bounded by `smtp_timeout`; and each
//! failure sorted by the step it answers (ruling R5).

use std::time::Duration;

use lettre::Message;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use tokio::net::TcpStream;

use super::SendError;
use super::tls::{ImplicitTls, implicit_tls_config, tls_parameters};
use crate::config::TlsMode;
use crate::error::Result;

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

/// One SMTP connection kept open across messages, on a socket with
/// `TCP_NODELAY`. lettre writes the message body and the final `.` in two
/// writes; with Nagle's algorithm on, the second waits for the server's
/// delayed ACK (40 ms on Linux), which capped a pooled lettre transport at
/// about 25 messages per second. Connecting ourselves lets us set the socket
/// option; lettre still speaks SMTP (EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA).
pub(super) struct Direct {
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
    /// A client of `host:port` (no connection is made yet).
    pub(super) fn new(
        host: &str,
        port: u16,
        tls: TlsMode,
        credentials: Option<Credentials>,
        ca_pem: Option<&[u8]>,
        timeout: Duration,
    ) -> Result<Direct> {
        Ok(Direct {
            host: host.to_string(),
            port,
            tls,
            tls_params: matches!(tls, TlsMode::Opportunistic | TlsMode::Required)
                .then(|| tls_parameters(host, ca_pem))
                .transpose()?,
            implicit: (tls == TlsMode::Wrapper).then(|| implicit_tls_config(ca_pem)).transpose()?,
            credentials,
            timeout,
            conn: std::sync::Mutex::new(Vec::new()),
            refused: std::sync::Mutex::new(None),
        })
    }

    /// Drops the idle connections (after a send timed out, they may be as
    /// stuck as the one it dropped).
    pub(super) fn forget_idle(&self) {
        if let Ok(mut idle) = self.conn.lock() {
            idle.clear();
        }
    }

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
    pub(super) async fn send(&self, msg: &Message) -> Result<(), SendError> {
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

    pub(super) async fn test(&self) -> Result<bool, SendError> {
        let mut conn = self.connect().await?;
        let ok = conn.test_connected().await;
        let _ = conn.quit().await;
        Ok(ok)
    }
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

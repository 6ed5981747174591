//! The only module that imports lettre: builds MIME messages and sends them
//! with the SMTP client of `smtp` (or writes `.eml` files), each send within
//! `send_timeout`, failures sorted into deferred, unreachable and permanent
//! (ruling R5). `smtp` speaks SMTP step by step over our own kept-open
//! connections; `tls` sets up STARTTLS and implicit TLS for it.

mod smtp;
mod tls;

use std::path::PathBuf;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{Address, Message};
use tracing::instrument;

use self::smtp::Direct;
use super::render::Email;
use crate::config::{Config, Transport};
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

enum Kind {
    /// `smtp://` and `smtps://`: our own kept-open connections (`smtp`).
    Direct(Box<Direct>),
    File(PathBuf),
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
            Transport::Smtp { host, port, tls, user, password, ca_pem } => {
                let credentials = user.as_ref().map(|u| {
                    Credentials::new(u.clone(), password.as_ref().map(|p| p.expose().to_string()).unwrap_or_default())
                });
                Kind::Direct(Box::new(Direct::new(
                    host,
                    *port,
                    *tls,
                    credentials,
                    ca_pem.as_deref(),
                    cfg.smtp_timeout,
                )?))
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
                    .map_err(|e| SendError::Relay(format!("writing {}: {e}", path.display())))
            }
            Kind::Direct(d) => match tokio::time::timeout(self.send_timeout, d.send(msg)).await {
                Err(_) => {
                    // The timed-out send dropped its connection with it; the
                    // idle ones may be as stuck: start afresh.
                    d.forget_idle();
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

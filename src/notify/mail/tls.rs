//! TLS for the SMTP client, trusting the system's roots plus
//! `smtp_ca_file`: the parameters of STARTTLS (lettre's rustls setup), and
//! implicit TLS for `smtps://` on our own socket (a rustls client
//! configuration, and the stream lettre speaks SMTP over).

use lettre::transport::smtp::client::{AsyncTokioStream, Certificate, TlsParameters};
use tokio::net::TcpStream;

use crate::error::{Error, Result};

/// A TLS stream lettre can speak SMTP over (implicit TLS, `smtps://`).
#[derive(Debug)]
pub(super) struct ImplicitTls(pub(super) tokio_rustls::client::TlsStream<TcpStream>);

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
pub(super) fn implicit_tls_config(ca_pem: Option<&[u8]>) -> Result<std::sync::Arc<tokio_rustls::rustls::ClientConfig>> {
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

/// TLS parameters for `host`: the system's trusted roots, plus the CA of
/// `smtp_ca_file` when given.
pub(super) fn tls_parameters(host: &str, ca_pem: Option<&[u8]>) -> Result<TlsParameters> {
    let mut b = TlsParameters::builder(host.to_string());
    if let Some(pem) = ca_pem {
        let cert =
            Certificate::from_pem(pem).map_err(|e| Error::Config(format!("configuration: smtp_ca_file: {e}")))?;
        b = b.add_root_certificate(cert);
    }
    b.build_rustls().map_err(|e| Error::Config(format!("configuration: smtp_url: TLS setup: {e}")))
}

//! Configuration as the binary sees it: sources, precedence, error
//! positions, the `config` command, database URL checks and database TLS.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::common::{Sigov, TestDb, free_port};

/// Its one line of error, which ends with `(from {source})`.
#[track_caller]
fn config_error(sigov: Sigov, start: &str, source: &str) -> String {
    let ran = sigov.expect(78);
    let err = ran.error_line(&format!("sigov-alerts: error: configuration: {start}"));
    assert!(err.ends_with(&format!("(from {source})")), "{err}");
    err.to_string()
}

#[test]
fn a_toml_syntax_error_gives_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, "timezone = \"UTC\"\n\nbase_url = https://si.example\n").unwrap();
    for command in ["config", "migrate"] {
        config_error(Sigov::new(&[command]).config(&cfg), "base_url: ", &format!("{}:3:12", cfg.display()));
    }
    std::fs::write(&cfg, "timezone = \"UTC\"\n[oops\n").unwrap();
    let ran = Sigov::new(&["config"]).config(&cfg).expect(78);
    assert!(ran.stderr.starts_with(&format!("sigov-alerts: error: configuration: {}:2:", cfg.display())), "{ran:?}");
}

#[test]
fn config_redacts_both_passwords_and_names_each_source() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(
        &cfg,
        "# test\nsmtp_url = \"smtp://mailer:Smtp-S3cret@smtp.example.org:587\"\ntimezone = \"America/New_York\"\nsmtp_rate = 60\n",
    )
    .unwrap();
    let ran = Sigov::new(&["config"])
        .env("SIGOV_ALERTS_TIMEZONE", "UTC")
        .env("DATABASE_URL", "mysql://django:Django-S3cret@db.example.org/app")
        .config(&cfg)
        .opt("--database-url", "mysql://root:Db-S3cret@db.example.org:3307/app?ssl-mode=required")
        .expect(0);
    assert!(!ran.all().contains("S3cret"), "{ran:?}");
    let text = &ran.stdout;
    let line = |key: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{key} = ")))
            .unwrap_or_else(|| panic!("no {key} in {text}"))
            .to_string()
    };
    let f = cfg.display();
    assert!(
        line("database_url").starts_with(
            "database_url = \"mysql://root:****@db.example.org:3307/app?ssl-mode=required\"  (flag --database-url)  # tls required"
        ),
        "{text}"
    );
    assert_eq!(
        line("smtp_url"),
        format!(
            "smtp_url = \"smtp://mailer:****@smtp.example.org:587\"  ({f}:2)  # smtp mailer@smtp.example.org:587 (tls Required)"
        )
    );
    assert_eq!(line("timezone"), "timezone = \"UTC\"  (env SIGOV_ALERTS_TIMEZONE)");
    assert_eq!(line("smtp_rate"), format!("smtp_rate = 60  ({f}:4)"));
    assert_eq!(line("from"), "from = \"SI-Gouvernance <noreply@si-gouvernance.com>\"  (default)");
    assert_eq!(text.lines().filter(|l| !l.starts_with('#')).count(), 25, "one line per key: {text}");

    // JSON, and an invalid value: still printed, marked, exit 78 at the end.
    let ran = Sigov::new(&["config", "--format", "json"])
        .config(&cfg)
        .env("SIGOV_ALERTS_DATABASE_URL", "mysql://root:Db-S3cret@db.example.org/app")
        .opt("--wait-lock", "2days")
        .expect(78);
    assert!(!ran.all().contains("S3cret"));
    assert_eq!(
        ran.error_line("sigov-alerts: error: "),
        "sigov-alerts: error: configuration: wait_lock: must be at most 1day (a run waiting longer only piles up behind the next ones) (from --wait-lock)"
    );
    let doc = ran.json();
    assert_eq!(doc["valid"], false);
    let key = |k: &str| doc["keys"].as_array().unwrap().iter().find(|e| e["key"] == k).unwrap().clone();
    assert_eq!(key("database_url")["source"], "env");
    assert_eq!(key("database_url")["from"], "SIGOV_ALERTS_DATABASE_URL");
    assert_eq!(key("database_url")["value"], "mysql://root:****@db.example.org/app");
    assert_eq!(key("smtp_url")["source"], "file");
    assert_eq!(key("smtp_url")["line"], 2);
    assert_eq!(key("wait_lock")["valid"], false);
    assert_eq!(key("wait_lock")["source"], "flag");
    assert_eq!(key("smtp_rate")["value"], 60);
    assert_eq!(key("reply_to")["value"], serde_json::Value::Null);
}

#[test]
fn sigov_alerts_database_url_beats_the_django_database_url() {
    let db = TestDb::new();
    let nowhere = format!("mysql://root@127.0.0.1:{}/nowhere", free_port());
    // Ours wins over the app's.
    let history = || Sigov::new(&["history"]);
    let ours = history().args(&["--format", "json"]).env("SIGOV_ALERTS_DATABASE_URL", &db.url);
    ours.env("DATABASE_URL", &nowhere).expect(0).json();
    // The app's is the fallback.
    history().env("DATABASE_URL", &db.url).expect(0);
    Sigov::new(&["config"]).env("DATABASE_URL", &db.url).expect(0).assert_stdout(&["(env DATABASE_URL)"]);
    // And a flag beats both.
    let both = history().env("SIGOV_ALERTS_DATABASE_URL", &nowhere).env("DATABASE_URL", &nowhere);
    both.opt("--database-url", &db.url).expect(0);
}

#[test]
fn an_unknown_database_url_parameter_exits_78_naming_it() {
    for (url, why) in [
        ("mysql://root@127.0.0.1/x?sslMode=disabled", "unknown parameter \"sslMode\": the spelling is ssl-mode"),
        ("mysql://root@127.0.0.1/x?ssl_mode=disabled", "unknown parameter \"ssl_mode\": the spelling is ssl-mode"),
        ("mysql://root@127.0.0.1/x?connect_timeout=5", "unknown parameter \"connect_timeout\" (known: ssl-mode,"),
    ] {
        let sigov = Sigov::new(&["migrate"]).opt("--database-url", url);
        config_error(sigov, &format!("database_url: {why}"), "--database-url");
    }
}

#[test]
fn a_garbage_log_filter_is_a_configuration_error_naming_the_variable() {
    let loud = |args: &[&str]| Sigov::new(args).env("SIGOV_ALERTS_LOG", "sigov_alerts=loud");
    config_error(
        loud(&["history"]).opt("--database-url", "mysql://root@127.0.0.1:1/x"),
        "SIGOV_ALERTS_LOG: \"sigov_alerts=loud\" is not a tracing filter",
        "environment variable SIGOV_ALERTS_LOG",
    );
    loud(&["config"])
        .expect(78)
        .assert_stdout(&["log_filter = \"sigov_alerts=loud\"  (env SIGOV_ALERTS_LOG)  # invalid:"]);
}

/// A MySQL server that speaks only the handshake: greets offering TLS,
/// upgrades with `tls`, then refuses the login with a recognisable error.
/// Counts the TLS handshakes that succeeded.
fn tls_only_mysql(tls: Arc<rustls::ServerConfig>) -> (u16, Arc<AtomicUsize>) {
    // A MySQL 8.0.18 greeting (sqlx's own test vector): capabilities include SSL.
    const GREETING: &[u8] = b"\n8.0.18\x00\x19\x00\x00\x00\x114aB0c\x06g\x00\xff\xff\xff\x02\x00\xff\xc7\x15\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00tL\x03s\x0f[4\rl4. \x00caching_sha2_password\x00";
    fn packet(seq: u8, payload: &[u8]) -> Vec<u8> {
        let n = payload.len() as u32;
        let mut p = vec![n as u8, (n >> 8) as u8, (n >> 16) as u8, seq];
        p.extend_from_slice(payload);
        p
    }
    fn read_packet(r: &mut impl Read) -> std::io::Result<(u8, Vec<u8>)> {
        let mut h = [0u8; 4];
        r.read_exact(&mut h)?;
        let mut body = vec![0u8; usize::from(h[0]) | usize::from(h[1]) << 8 | usize::from(h[2]) << 16];
        r.read_exact(&mut body)?;
        Ok((h[3], body))
    }
    fn session(mut sock: TcpStream, tls: Arc<rustls::ServerConfig>, ok: &AtomicUsize) -> std::io::Result<()> {
        sock.write_all(&packet(0, GREETING))?;
        read_packet(&mut sock)?; // SSLRequest
        let conn = rustls::ServerConnection::new(tls).map_err(std::io::Error::other)?;
        let mut tls = rustls::StreamOwned::new(conn, sock);
        while tls.conn.is_handshaking() {
            tls.conn.complete_io(&mut tls.sock)?;
        }
        ok.fetch_add(1, Ordering::SeqCst);
        let (seq, _) = read_packet(&mut tls)?; // HandshakeResponse, encrypted
        let mut err = vec![0xff, 0x15, 0x04, b'#'];
        err.extend_from_slice(b"28000Access denied for user 'tls-verified'");
        tls.write_all(&packet(seq.wrapping_add(1), &err))?;
        tls.flush()
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let ok = Arc::new(AtomicUsize::new(0));
    let counter = ok.clone();
    std::thread::spawn(move || {
        for sock in listener.incoming().flatten() {
            let (tls, counter) = (tls.clone(), counter.clone());
            std::thread::spawn(move || {
                let _ = session(sock, tls, &counter);
            });
        }
    });
    (port, ok)
}

/// sqlx's verify_identity, with rustls and the native roots: the
/// certificate is checked against the system roots (SSL_CERT_FILE here) or
/// `ssl-ca`, and the host name against the certificate.
#[test]
fn database_verify_identity_checks_certificate_and_host_name() {
    let (server, ca) = crate::common::smtp::self_signed();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca).unwrap();
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    let (port, handshakes) = tls_only_mysql(server);
    let run = |url: &str, roots: &std::path::Path| {
        Sigov::new(&["history"]).env("SSL_CERT_FILE", roots).opt("--database-url", url).expect(69)
    };
    let ca_param = format!("&ssl-ca={}", ca_file.display());
    #[rustfmt::skip]
    let cases: Vec<(String, &std::path::Path, bool, &str)> = vec![
        // URL, system roots, TLS accepted, else the error
        (format!("mysql://root@localhost:{port}/x?ssl-mode=verify_identity"), &ca_file, true, ""),
        (format!("mysql://root@localhost:{port}/x?ssl-mode=verify_identity"), &empty, false, "UnknownIssuer"),
        (format!("mysql://root@localhost:{port}/x?ssl-mode=verify_identity{ca_param}"), &empty, true, ""),
        (format!("mysql://root@127.0.0.1:{port}/x?ssl-mode=verify_identity"), &ca_file, false, "certificate not valid for name \"127.0.0.1\""),
        (format!("mysql://root@127.0.0.1:{port}/x?ssl-mode=verify_ca"), &ca_file, true, ""),
        (format!("mysql://root@127.0.0.1:{port}/x?ssl-mode=required"), &empty, true, ""),
    ];
    for (url, roots, accepted, why) in &cases {
        let before = handshakes.load(Ordering::SeqCst);
        let ran = run(url, roots);
        let err = ran.error_line("sigov-alerts: error: ");
        if *accepted {
            assert!(err.contains("Access denied for user 'tls-verified'"), "{url}: {err}");
            assert_eq!(handshakes.load(Ordering::SeqCst), before + 1, "{url}");
        } else {
            assert!(err.contains(why), "{url}: {err}");
            assert!(!err.contains("tls-verified"), "{url}: {err}");
        }
    }
}

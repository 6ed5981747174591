//! A counting SMTP sink for `scripts/bench`: reuses the integration tests'
//! SMTP server (keep = false: messages are counted, not stored).
//!
//!     cargo build --release --example smtp_sink
//!     smtp_sink [PORT]     # 0 or nothing: any free port
//!
//! Prints `READY <port>` once listening. Then reads stdin: a line `COUNT`
//! prints the number of messages accepted so far; end of stdin exits.

#[path = "../tests/integration/common/smtp.rs"]
mod smtp;

use std::io::{BufRead, Write};

fn main() {
    let port: u16 = match std::env::args().nth(1) {
        None => 0,
        Some(a) => a.parse().unwrap_or_else(|_| {
            eprintln!("smtp_sink: not a port number: {a}");
            std::process::exit(2)
        }),
    };
    let sink = smtp::SmtpSink::start_on(port, false);
    let mut out = std::io::stdout();
    let _ = writeln!(out, "READY {}", sink.port);
    let _ = out.flush();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        if line.trim().eq_ignore_ascii_case("COUNT") {
            let _ = writeln!(out, "{}", sink.count());
            let _ = out.flush();
        }
    }
    sink.stop();
}

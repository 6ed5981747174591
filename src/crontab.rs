//! `crontab`: ready-to-paste crontab lines for this install, the
//! counterpart of the old stack's `setup_celery_beat`.

use std::path::Path;

use crate::checks::Check;
use crate::config::{Config, DEFAULT_CONFIG_FILE};

/// The crontab lines, with absolute paths.
pub fn lines(cfg: &Config, config_file: Option<&Path>, staggered: bool) -> String {
    let bin = std::env::current_exe()
        .and_then(|p| p.canonicalize())
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "/usr/local/bin/sigov-alerts".into());
    let config = match config_file {
        Some(p) => {
            let abs = p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
            format!(" --config {}", abs.display())
        }
        None if Path::new(DEFAULT_CONFIG_FILE).exists() => format!(" --config {DEFAULT_CONFIG_FILE}"),
        None => String::new(),
    };
    let mut o = format!(
        "# sigov-alerts: paste into `crontab -e` of the user that runs it.\n\
         # The binary is quiet on success, so cron mails only trouble.\n\
         # \"Today\" always comes from the configured time zone ({tz}); CRON_TZ only\n\
         # sets when the lines fire. Debian's cron ignores CRON_TZ and uses the host's\n\
         # zone: there, set the host zone or use the systemd timer in contrib/.\n\
         CRON_TZ={tz}\n",
        tz = cfg.timezone.name()
    );
    if staggered {
        o.push_str("# The old Celery beat schedule: every 4 hours, checks 5 minutes apart.\n");
        for (i, c) in Check::ALL.iter().enumerate() {
            // Wait a little for the previous check rather than skip this one.
            o.push_str(&format!("{} */4 * * * {bin}{config} --wait-lock 4m {}\n", i * 5, c.command_name()));
        }
    } else {
        o.push_str("# Every 4 hours: the five checks in order, then delivery.\n");
        o.push_str(&format!("0 */4 * * * {bin}{config} run-all\n"));
    }
    o.push_str("# Retry queued e-mail (SMTP outages) every hour, at minute 30.\n");
    o.push_str(&format!("30 * * * * {bin}{config} deliver\n"));
    o
}

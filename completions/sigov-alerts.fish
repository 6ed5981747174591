# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_sigov_alerts_global_optspecs
    string join \n config= database-url= smtp-url= timezone= base-url= from= lock-file= wait-lock= metrics-file= log-file= v/verbose q/quiet log-format= color= h/help V/version
end

function __fish_sigov_alerts_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_sigov_alerts_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_sigov_alerts_using_subcommand
    set -l cmd (__fish_sigov_alerts_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c sigov-alerts -n "__fish_sigov_alerts_needs_command" -l config -d 'TOML configuration file [default: /etc/sigov-alerts.toml if it exists]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_needs_command" -l database-url -d 'Database URL, mysql://user@host:3306/db?ssl-mode=... [env: SIGOV_ALERTS_DATABASE_URL, else DATABASE_URL]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_needs_command" -l smtp-url -d 'Mail transport: smtp://host:port, smtps://host, or file:///dir (writes .eml files) [env: SIGOV_ALERTS_SMTP_URL]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_needs_command" -l timezone -d 'Time zone of the business day [default: Europe/Paris] [env: SIGOV_ALERTS_TIMEZONE]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_needs_command" -l base-url -d 'Base URL of the web app, for links in e-mails [default: http://localhost:8000] [env: SIGOV_ALERTS_BASE_URL]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_needs_command" -l from -d 'Sender of the e-mails [default: SI-Gouvernance <noreply@si-gouvernance.com>] [env: SIGOV_ALERTS_FROM]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_needs_command" -l lock-file -d 'Lock file guarding one host [default: /run/lock/sigov-alerts.<host>-<port>-<database>.lock] [env: SIGOV_ALERTS_LOCK_FILE]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_needs_command" -l wait-lock -d 'Wait this long for a held lock instead of exiting 75 (e.g. 30s; at most 1day) [default: 0s]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_needs_command" -l metrics-file -d 'Write node_exporter textfile metrics here at the end of every run [env: SIGOV_ALERTS_METRICS_FILE]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_needs_command" -l log-file -d 'Also append log lines to this file (opened anew by every run) [env: SIGOV_ALERTS_LOG_FILE]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_needs_command" -l log-format -d 'Log line format on stderr' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c sigov-alerts -n "__fish_sigov_alerts_needs_command" -l color -d 'Colours in log lines' -r -f -a "auto\t'Colours only on a terminal'
always\t'Always'
never\t'Never'"
complete -c sigov-alerts -n "__fish_sigov_alerts_needs_command" -s v -l verbose -d 'More output on stderr (-v summary, -vv debug)'
complete -c sigov-alerts -n "__fish_sigov_alerts_needs_command" -s q -l quiet -d 'Only errors on stderr'
complete -c sigov-alerts -n "__fish_sigov_alerts_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sigov-alerts -n "__fish_sigov_alerts_needs_command" -s V -l version -d 'Print version'
complete -c sigov-alerts -n "__fish_sigov_alerts_needs_command" -f -a "check-project-deadlines" -d 'Project deadlines: J-7, J-3, J-1 and overdue projects'
complete -c sigov-alerts -n "__fish_sigov_alerts_needs_command" -f -a "check-stage-delays" -d 'Stages still running past their planned end'
complete -c sigov-alerts -n "__fish_sigov_alerts_needs_command" -f -a "check-task-deadlines" -d 'Open tasks past their due date'
complete -c sigov-alerts -n "__fish_sigov_alerts_needs_command" -f -a "check-budget" -d 'Projects whose spending exceeds their budget'
complete -c sigov-alerts -n "__fish_sigov_alerts_needs_command" -f -a "check-contract-expiration" -d 'Maintenance contracts expiring within 30 days or expired'
complete -c sigov-alerts -n "__fish_sigov_alerts_needs_command" -f -a "run-all" -d 'Run every check in order, then deliver; one report, one exit code'
complete -c sigov-alerts -n "__fish_sigov_alerts_needs_command" -f -a "migrate" -d 'Create or upgrade the tool\'s own tables (idempotent)'
complete -c sigov-alerts -n "__fish_sigov_alerts_needs_command" -f -a "doctor" -d 'Check configuration, database, tables, privileges, migrations, SMTP and lock path'
complete -c sigov-alerts -n "__fish_sigov_alerts_needs_command" -f -a "config" -d 'Print the effective configuration: each key, its value and where it came from; secrets as ****'
complete -c sigov-alerts -n "__fish_sigov_alerts_needs_command" -f -a "deliver" -d 'Send the e-mails still queued (retries) without running any check'
complete -c sigov-alerts -n "__fish_sigov_alerts_needs_command" -f -a "history" -d 'Past runs from the ledger: when, how long, rows and e-mails'
complete -c sigov-alerts -n "__fish_sigov_alerts_needs_command" -f -a "status" -d 'Last run and last success per check, queued and failed e-mail; exits 1 when unhealthy'
complete -c sigov-alerts -n "__fish_sigov_alerts_needs_command" -f -a "crontab" -d 'Print ready-to-paste crontab lines for this install'
complete -c sigov-alerts -n "__fish_sigov_alerts_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c sigov-alerts -n "__fish_sigov_alerts_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-project-deadlines" -l at -d 'The run instant, RFC 3339 (default: now); "today" derives from it' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-project-deadlines" -l format -d 'Report format on stdout' -r -f -a "text\t'Readable text'
json\t'Stable JSON, for CI and scripts'"
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-project-deadlines" -l config -d 'TOML configuration file [default: /etc/sigov-alerts.toml if it exists]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-project-deadlines" -l database-url -d 'Database URL, mysql://user@host:3306/db?ssl-mode=... [env: SIGOV_ALERTS_DATABASE_URL, else DATABASE_URL]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-project-deadlines" -l smtp-url -d 'Mail transport: smtp://host:port, smtps://host, or file:///dir (writes .eml files) [env: SIGOV_ALERTS_SMTP_URL]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-project-deadlines" -l timezone -d 'Time zone of the business day [default: Europe/Paris] [env: SIGOV_ALERTS_TIMEZONE]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-project-deadlines" -l base-url -d 'Base URL of the web app, for links in e-mails [default: http://localhost:8000] [env: SIGOV_ALERTS_BASE_URL]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-project-deadlines" -l from -d 'Sender of the e-mails [default: SI-Gouvernance <noreply@si-gouvernance.com>] [env: SIGOV_ALERTS_FROM]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-project-deadlines" -l lock-file -d 'Lock file guarding one host [default: /run/lock/sigov-alerts.<host>-<port>-<database>.lock] [env: SIGOV_ALERTS_LOCK_FILE]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-project-deadlines" -l wait-lock -d 'Wait this long for a held lock instead of exiting 75 (e.g. 30s; at most 1day) [default: 0s]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-project-deadlines" -l metrics-file -d 'Write node_exporter textfile metrics here at the end of every run [env: SIGOV_ALERTS_METRICS_FILE]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-project-deadlines" -l log-file -d 'Also append log lines to this file (opened anew by every run) [env: SIGOV_ALERTS_LOG_FILE]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-project-deadlines" -l log-format -d 'Log line format on stderr' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-project-deadlines" -l color -d 'Colours in log lines' -r -f -a "auto\t'Colours only on a terminal'
always\t'Always'
never\t'Never'"
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-project-deadlines" -l dry-run -d 'Write nothing, send nothing; show what a real run would do'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-project-deadlines" -s v -l verbose -d 'More output on stderr (-v summary, -vv debug)'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-project-deadlines" -s q -l quiet -d 'Only errors on stderr'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-project-deadlines" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-stage-delays" -l at -d 'The run instant, RFC 3339 (default: now); "today" derives from it' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-stage-delays" -l format -d 'Report format on stdout' -r -f -a "text\t'Readable text'
json\t'Stable JSON, for CI and scripts'"
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-stage-delays" -l config -d 'TOML configuration file [default: /etc/sigov-alerts.toml if it exists]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-stage-delays" -l database-url -d 'Database URL, mysql://user@host:3306/db?ssl-mode=... [env: SIGOV_ALERTS_DATABASE_URL, else DATABASE_URL]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-stage-delays" -l smtp-url -d 'Mail transport: smtp://host:port, smtps://host, or file:///dir (writes .eml files) [env: SIGOV_ALERTS_SMTP_URL]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-stage-delays" -l timezone -d 'Time zone of the business day [default: Europe/Paris] [env: SIGOV_ALERTS_TIMEZONE]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-stage-delays" -l base-url -d 'Base URL of the web app, for links in e-mails [default: http://localhost:8000] [env: SIGOV_ALERTS_BASE_URL]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-stage-delays" -l from -d 'Sender of the e-mails [default: SI-Gouvernance <noreply@si-gouvernance.com>] [env: SIGOV_ALERTS_FROM]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-stage-delays" -l lock-file -d 'Lock file guarding one host [default: /run/lock/sigov-alerts.<host>-<port>-<database>.lock] [env: SIGOV_ALERTS_LOCK_FILE]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-stage-delays" -l wait-lock -d 'Wait this long for a held lock instead of exiting 75 (e.g. 30s; at most 1day) [default: 0s]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-stage-delays" -l metrics-file -d 'Write node_exporter textfile metrics here at the end of every run [env: SIGOV_ALERTS_METRICS_FILE]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-stage-delays" -l log-file -d 'Also append log lines to this file (opened anew by every run) [env: SIGOV_ALERTS_LOG_FILE]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-stage-delays" -l log-format -d 'Log line format on stderr' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-stage-delays" -l color -d 'Colours in log lines' -r -f -a "auto\t'Colours only on a terminal'
always\t'Always'
never\t'Never'"
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-stage-delays" -l dry-run -d 'Write nothing, send nothing; show what a real run would do'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-stage-delays" -s v -l verbose -d 'More output on stderr (-v summary, -vv debug)'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-stage-delays" -s q -l quiet -d 'Only errors on stderr'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-stage-delays" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-task-deadlines" -l at -d 'The run instant, RFC 3339 (default: now); "today" derives from it' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-task-deadlines" -l format -d 'Report format on stdout' -r -f -a "text\t'Readable text'
json\t'Stable JSON, for CI and scripts'"
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-task-deadlines" -l config -d 'TOML configuration file [default: /etc/sigov-alerts.toml if it exists]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-task-deadlines" -l database-url -d 'Database URL, mysql://user@host:3306/db?ssl-mode=... [env: SIGOV_ALERTS_DATABASE_URL, else DATABASE_URL]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-task-deadlines" -l smtp-url -d 'Mail transport: smtp://host:port, smtps://host, or file:///dir (writes .eml files) [env: SIGOV_ALERTS_SMTP_URL]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-task-deadlines" -l timezone -d 'Time zone of the business day [default: Europe/Paris] [env: SIGOV_ALERTS_TIMEZONE]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-task-deadlines" -l base-url -d 'Base URL of the web app, for links in e-mails [default: http://localhost:8000] [env: SIGOV_ALERTS_BASE_URL]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-task-deadlines" -l from -d 'Sender of the e-mails [default: SI-Gouvernance <noreply@si-gouvernance.com>] [env: SIGOV_ALERTS_FROM]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-task-deadlines" -l lock-file -d 'Lock file guarding one host [default: /run/lock/sigov-alerts.<host>-<port>-<database>.lock] [env: SIGOV_ALERTS_LOCK_FILE]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-task-deadlines" -l wait-lock -d 'Wait this long for a held lock instead of exiting 75 (e.g. 30s; at most 1day) [default: 0s]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-task-deadlines" -l metrics-file -d 'Write node_exporter textfile metrics here at the end of every run [env: SIGOV_ALERTS_METRICS_FILE]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-task-deadlines" -l log-file -d 'Also append log lines to this file (opened anew by every run) [env: SIGOV_ALERTS_LOG_FILE]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-task-deadlines" -l log-format -d 'Log line format on stderr' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-task-deadlines" -l color -d 'Colours in log lines' -r -f -a "auto\t'Colours only on a terminal'
always\t'Always'
never\t'Never'"
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-task-deadlines" -l dry-run -d 'Write nothing, send nothing; show what a real run would do'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-task-deadlines" -s v -l verbose -d 'More output on stderr (-v summary, -vv debug)'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-task-deadlines" -s q -l quiet -d 'Only errors on stderr'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-task-deadlines" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-budget" -l at -d 'The run instant, RFC 3339 (default: now); "today" derives from it' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-budget" -l format -d 'Report format on stdout' -r -f -a "text\t'Readable text'
json\t'Stable JSON, for CI and scripts'"
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-budget" -l config -d 'TOML configuration file [default: /etc/sigov-alerts.toml if it exists]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-budget" -l database-url -d 'Database URL, mysql://user@host:3306/db?ssl-mode=... [env: SIGOV_ALERTS_DATABASE_URL, else DATABASE_URL]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-budget" -l smtp-url -d 'Mail transport: smtp://host:port, smtps://host, or file:///dir (writes .eml files) [env: SIGOV_ALERTS_SMTP_URL]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-budget" -l timezone -d 'Time zone of the business day [default: Europe/Paris] [env: SIGOV_ALERTS_TIMEZONE]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-budget" -l base-url -d 'Base URL of the web app, for links in e-mails [default: http://localhost:8000] [env: SIGOV_ALERTS_BASE_URL]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-budget" -l from -d 'Sender of the e-mails [default: SI-Gouvernance <noreply@si-gouvernance.com>] [env: SIGOV_ALERTS_FROM]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-budget" -l lock-file -d 'Lock file guarding one host [default: /run/lock/sigov-alerts.<host>-<port>-<database>.lock] [env: SIGOV_ALERTS_LOCK_FILE]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-budget" -l wait-lock -d 'Wait this long for a held lock instead of exiting 75 (e.g. 30s; at most 1day) [default: 0s]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-budget" -l metrics-file -d 'Write node_exporter textfile metrics here at the end of every run [env: SIGOV_ALERTS_METRICS_FILE]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-budget" -l log-file -d 'Also append log lines to this file (opened anew by every run) [env: SIGOV_ALERTS_LOG_FILE]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-budget" -l log-format -d 'Log line format on stderr' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-budget" -l color -d 'Colours in log lines' -r -f -a "auto\t'Colours only on a terminal'
always\t'Always'
never\t'Never'"
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-budget" -l dry-run -d 'Write nothing, send nothing; show what a real run would do'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-budget" -s v -l verbose -d 'More output on stderr (-v summary, -vv debug)'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-budget" -s q -l quiet -d 'Only errors on stderr'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-budget" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-contract-expiration" -l at -d 'The run instant, RFC 3339 (default: now); "today" derives from it' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-contract-expiration" -l format -d 'Report format on stdout' -r -f -a "text\t'Readable text'
json\t'Stable JSON, for CI and scripts'"
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-contract-expiration" -l config -d 'TOML configuration file [default: /etc/sigov-alerts.toml if it exists]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-contract-expiration" -l database-url -d 'Database URL, mysql://user@host:3306/db?ssl-mode=... [env: SIGOV_ALERTS_DATABASE_URL, else DATABASE_URL]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-contract-expiration" -l smtp-url -d 'Mail transport: smtp://host:port, smtps://host, or file:///dir (writes .eml files) [env: SIGOV_ALERTS_SMTP_URL]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-contract-expiration" -l timezone -d 'Time zone of the business day [default: Europe/Paris] [env: SIGOV_ALERTS_TIMEZONE]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-contract-expiration" -l base-url -d 'Base URL of the web app, for links in e-mails [default: http://localhost:8000] [env: SIGOV_ALERTS_BASE_URL]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-contract-expiration" -l from -d 'Sender of the e-mails [default: SI-Gouvernance <noreply@si-gouvernance.com>] [env: SIGOV_ALERTS_FROM]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-contract-expiration" -l lock-file -d 'Lock file guarding one host [default: /run/lock/sigov-alerts.<host>-<port>-<database>.lock] [env: SIGOV_ALERTS_LOCK_FILE]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-contract-expiration" -l wait-lock -d 'Wait this long for a held lock instead of exiting 75 (e.g. 30s; at most 1day) [default: 0s]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-contract-expiration" -l metrics-file -d 'Write node_exporter textfile metrics here at the end of every run [env: SIGOV_ALERTS_METRICS_FILE]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-contract-expiration" -l log-file -d 'Also append log lines to this file (opened anew by every run) [env: SIGOV_ALERTS_LOG_FILE]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-contract-expiration" -l log-format -d 'Log line format on stderr' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-contract-expiration" -l color -d 'Colours in log lines' -r -f -a "auto\t'Colours only on a terminal'
always\t'Always'
never\t'Never'"
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-contract-expiration" -l dry-run -d 'Write nothing, send nothing; show what a real run would do'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-contract-expiration" -s v -l verbose -d 'More output on stderr (-v summary, -vv debug)'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-contract-expiration" -s q -l quiet -d 'Only errors on stderr'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand check-contract-expiration" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand run-all" -l at -d 'The run instant, RFC 3339 (default: now); "today" derives from it' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand run-all" -l format -d 'Report format on stdout' -r -f -a "text\t'Readable text'
json\t'Stable JSON, for CI and scripts'"
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand run-all" -l config -d 'TOML configuration file [default: /etc/sigov-alerts.toml if it exists]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand run-all" -l database-url -d 'Database URL, mysql://user@host:3306/db?ssl-mode=... [env: SIGOV_ALERTS_DATABASE_URL, else DATABASE_URL]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand run-all" -l smtp-url -d 'Mail transport: smtp://host:port, smtps://host, or file:///dir (writes .eml files) [env: SIGOV_ALERTS_SMTP_URL]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand run-all" -l timezone -d 'Time zone of the business day [default: Europe/Paris] [env: SIGOV_ALERTS_TIMEZONE]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand run-all" -l base-url -d 'Base URL of the web app, for links in e-mails [default: http://localhost:8000] [env: SIGOV_ALERTS_BASE_URL]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand run-all" -l from -d 'Sender of the e-mails [default: SI-Gouvernance <noreply@si-gouvernance.com>] [env: SIGOV_ALERTS_FROM]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand run-all" -l lock-file -d 'Lock file guarding one host [default: /run/lock/sigov-alerts.<host>-<port>-<database>.lock] [env: SIGOV_ALERTS_LOCK_FILE]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand run-all" -l wait-lock -d 'Wait this long for a held lock instead of exiting 75 (e.g. 30s; at most 1day) [default: 0s]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand run-all" -l metrics-file -d 'Write node_exporter textfile metrics here at the end of every run [env: SIGOV_ALERTS_METRICS_FILE]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand run-all" -l log-file -d 'Also append log lines to this file (opened anew by every run) [env: SIGOV_ALERTS_LOG_FILE]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand run-all" -l log-format -d 'Log line format on stderr' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand run-all" -l color -d 'Colours in log lines' -r -f -a "auto\t'Colours only on a terminal'
always\t'Always'
never\t'Never'"
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand run-all" -l dry-run -d 'Write nothing, send nothing; show what a real run would do'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand run-all" -s v -l verbose -d 'More output on stderr (-v summary, -vv debug)'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand run-all" -s q -l quiet -d 'Only errors on stderr'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand run-all" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand migrate" -l config -d 'TOML configuration file [default: /etc/sigov-alerts.toml if it exists]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand migrate" -l database-url -d 'Database URL, mysql://user@host:3306/db?ssl-mode=... [env: SIGOV_ALERTS_DATABASE_URL, else DATABASE_URL]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand migrate" -l smtp-url -d 'Mail transport: smtp://host:port, smtps://host, or file:///dir (writes .eml files) [env: SIGOV_ALERTS_SMTP_URL]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand migrate" -l timezone -d 'Time zone of the business day [default: Europe/Paris] [env: SIGOV_ALERTS_TIMEZONE]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand migrate" -l base-url -d 'Base URL of the web app, for links in e-mails [default: http://localhost:8000] [env: SIGOV_ALERTS_BASE_URL]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand migrate" -l from -d 'Sender of the e-mails [default: SI-Gouvernance <noreply@si-gouvernance.com>] [env: SIGOV_ALERTS_FROM]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand migrate" -l lock-file -d 'Lock file guarding one host [default: /run/lock/sigov-alerts.<host>-<port>-<database>.lock] [env: SIGOV_ALERTS_LOCK_FILE]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand migrate" -l wait-lock -d 'Wait this long for a held lock instead of exiting 75 (e.g. 30s; at most 1day) [default: 0s]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand migrate" -l metrics-file -d 'Write node_exporter textfile metrics here at the end of every run [env: SIGOV_ALERTS_METRICS_FILE]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand migrate" -l log-file -d 'Also append log lines to this file (opened anew by every run) [env: SIGOV_ALERTS_LOG_FILE]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand migrate" -l log-format -d 'Log line format on stderr' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand migrate" -l color -d 'Colours in log lines' -r -f -a "auto\t'Colours only on a terminal'
always\t'Always'
never\t'Never'"
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand migrate" -s v -l verbose -d 'More output on stderr (-v summary, -vv debug)'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand migrate" -s q -l quiet -d 'Only errors on stderr'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand migrate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand doctor" -l config -d 'TOML configuration file [default: /etc/sigov-alerts.toml if it exists]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand doctor" -l database-url -d 'Database URL, mysql://user@host:3306/db?ssl-mode=... [env: SIGOV_ALERTS_DATABASE_URL, else DATABASE_URL]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand doctor" -l smtp-url -d 'Mail transport: smtp://host:port, smtps://host, or file:///dir (writes .eml files) [env: SIGOV_ALERTS_SMTP_URL]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand doctor" -l timezone -d 'Time zone of the business day [default: Europe/Paris] [env: SIGOV_ALERTS_TIMEZONE]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand doctor" -l base-url -d 'Base URL of the web app, for links in e-mails [default: http://localhost:8000] [env: SIGOV_ALERTS_BASE_URL]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand doctor" -l from -d 'Sender of the e-mails [default: SI-Gouvernance <noreply@si-gouvernance.com>] [env: SIGOV_ALERTS_FROM]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand doctor" -l lock-file -d 'Lock file guarding one host [default: /run/lock/sigov-alerts.<host>-<port>-<database>.lock] [env: SIGOV_ALERTS_LOCK_FILE]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand doctor" -l wait-lock -d 'Wait this long for a held lock instead of exiting 75 (e.g. 30s; at most 1day) [default: 0s]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand doctor" -l metrics-file -d 'Write node_exporter textfile metrics here at the end of every run [env: SIGOV_ALERTS_METRICS_FILE]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand doctor" -l log-file -d 'Also append log lines to this file (opened anew by every run) [env: SIGOV_ALERTS_LOG_FILE]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand doctor" -l log-format -d 'Log line format on stderr' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand doctor" -l color -d 'Colours in log lines' -r -f -a "auto\t'Colours only on a terminal'
always\t'Always'
never\t'Never'"
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand doctor" -s v -l verbose -d 'More output on stderr (-v summary, -vv debug)'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand doctor" -s q -l quiet -d 'Only errors on stderr'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand doctor" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand config" -l format -d 'Output format' -r -f -a "text\t'Readable text'
json\t'Stable JSON, for CI and scripts'"
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand config" -l config -d 'TOML configuration file [default: /etc/sigov-alerts.toml if it exists]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand config" -l database-url -d 'Database URL, mysql://user@host:3306/db?ssl-mode=... [env: SIGOV_ALERTS_DATABASE_URL, else DATABASE_URL]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand config" -l smtp-url -d 'Mail transport: smtp://host:port, smtps://host, or file:///dir (writes .eml files) [env: SIGOV_ALERTS_SMTP_URL]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand config" -l timezone -d 'Time zone of the business day [default: Europe/Paris] [env: SIGOV_ALERTS_TIMEZONE]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand config" -l base-url -d 'Base URL of the web app, for links in e-mails [default: http://localhost:8000] [env: SIGOV_ALERTS_BASE_URL]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand config" -l from -d 'Sender of the e-mails [default: SI-Gouvernance <noreply@si-gouvernance.com>] [env: SIGOV_ALERTS_FROM]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand config" -l lock-file -d 'Lock file guarding one host [default: /run/lock/sigov-alerts.<host>-<port>-<database>.lock] [env: SIGOV_ALERTS_LOCK_FILE]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand config" -l wait-lock -d 'Wait this long for a held lock instead of exiting 75 (e.g. 30s; at most 1day) [default: 0s]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand config" -l metrics-file -d 'Write node_exporter textfile metrics here at the end of every run [env: SIGOV_ALERTS_METRICS_FILE]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand config" -l log-file -d 'Also append log lines to this file (opened anew by every run) [env: SIGOV_ALERTS_LOG_FILE]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand config" -l log-format -d 'Log line format on stderr' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand config" -l color -d 'Colours in log lines' -r -f -a "auto\t'Colours only on a terminal'
always\t'Always'
never\t'Never'"
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand config" -s v -l verbose -d 'More output on stderr (-v summary, -vv debug)'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand config" -s q -l quiet -d 'Only errors on stderr'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand config" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand deliver" -l format -d 'Report format on stdout (text only with -v)' -r -f -a "text\t'Readable text'
json\t'Stable JSON, for CI and scripts'"
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand deliver" -l config -d 'TOML configuration file [default: /etc/sigov-alerts.toml if it exists]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand deliver" -l database-url -d 'Database URL, mysql://user@host:3306/db?ssl-mode=... [env: SIGOV_ALERTS_DATABASE_URL, else DATABASE_URL]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand deliver" -l smtp-url -d 'Mail transport: smtp://host:port, smtps://host, or file:///dir (writes .eml files) [env: SIGOV_ALERTS_SMTP_URL]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand deliver" -l timezone -d 'Time zone of the business day [default: Europe/Paris] [env: SIGOV_ALERTS_TIMEZONE]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand deliver" -l base-url -d 'Base URL of the web app, for links in e-mails [default: http://localhost:8000] [env: SIGOV_ALERTS_BASE_URL]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand deliver" -l from -d 'Sender of the e-mails [default: SI-Gouvernance <noreply@si-gouvernance.com>] [env: SIGOV_ALERTS_FROM]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand deliver" -l lock-file -d 'Lock file guarding one host [default: /run/lock/sigov-alerts.<host>-<port>-<database>.lock] [env: SIGOV_ALERTS_LOCK_FILE]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand deliver" -l wait-lock -d 'Wait this long for a held lock instead of exiting 75 (e.g. 30s; at most 1day) [default: 0s]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand deliver" -l metrics-file -d 'Write node_exporter textfile metrics here at the end of every run [env: SIGOV_ALERTS_METRICS_FILE]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand deliver" -l log-file -d 'Also append log lines to this file (opened anew by every run) [env: SIGOV_ALERTS_LOG_FILE]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand deliver" -l log-format -d 'Log line format on stderr' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand deliver" -l color -d 'Colours in log lines' -r -f -a "auto\t'Colours only on a terminal'
always\t'Always'
never\t'Never'"
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand deliver" -l now -d 'Send everything queued now, whatever its next attempt time (after an outage)'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand deliver" -s v -l verbose -d 'More output on stderr (-v summary, -vv debug)'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand deliver" -s q -l quiet -d 'Only errors on stderr'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand deliver" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand history" -l limit -d 'How many runs to show' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand history" -l format -d 'Output format' -r -f -a "text\t'Readable text'
json\t'Stable JSON, for CI and scripts'"
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand history" -l config -d 'TOML configuration file [default: /etc/sigov-alerts.toml if it exists]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand history" -l database-url -d 'Database URL, mysql://user@host:3306/db?ssl-mode=... [env: SIGOV_ALERTS_DATABASE_URL, else DATABASE_URL]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand history" -l smtp-url -d 'Mail transport: smtp://host:port, smtps://host, or file:///dir (writes .eml files) [env: SIGOV_ALERTS_SMTP_URL]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand history" -l timezone -d 'Time zone of the business day [default: Europe/Paris] [env: SIGOV_ALERTS_TIMEZONE]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand history" -l base-url -d 'Base URL of the web app, for links in e-mails [default: http://localhost:8000] [env: SIGOV_ALERTS_BASE_URL]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand history" -l from -d 'Sender of the e-mails [default: SI-Gouvernance <noreply@si-gouvernance.com>] [env: SIGOV_ALERTS_FROM]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand history" -l lock-file -d 'Lock file guarding one host [default: /run/lock/sigov-alerts.<host>-<port>-<database>.lock] [env: SIGOV_ALERTS_LOCK_FILE]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand history" -l wait-lock -d 'Wait this long for a held lock instead of exiting 75 (e.g. 30s; at most 1day) [default: 0s]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand history" -l metrics-file -d 'Write node_exporter textfile metrics here at the end of every run [env: SIGOV_ALERTS_METRICS_FILE]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand history" -l log-file -d 'Also append log lines to this file (opened anew by every run) [env: SIGOV_ALERTS_LOG_FILE]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand history" -l log-format -d 'Log line format on stderr' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand history" -l color -d 'Colours in log lines' -r -f -a "auto\t'Colours only on a terminal'
always\t'Always'
never\t'Never'"
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand history" -s v -l verbose -d 'More output on stderr (-v summary, -vv debug)'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand history" -s q -l quiet -d 'Only errors on stderr'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand history" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand status" -l stale-after -d 'Unhealthy when a check\'s last success is older than this' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand status" -l stuck-after -d 'Unhealthy when an e-mail has been queued longer than this' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand status" -l format -d 'Output format' -r -f -a "text\t'Readable text'
json\t'Stable JSON, for CI and scripts'"
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand status" -l config -d 'TOML configuration file [default: /etc/sigov-alerts.toml if it exists]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand status" -l database-url -d 'Database URL, mysql://user@host:3306/db?ssl-mode=... [env: SIGOV_ALERTS_DATABASE_URL, else DATABASE_URL]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand status" -l smtp-url -d 'Mail transport: smtp://host:port, smtps://host, or file:///dir (writes .eml files) [env: SIGOV_ALERTS_SMTP_URL]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand status" -l timezone -d 'Time zone of the business day [default: Europe/Paris] [env: SIGOV_ALERTS_TIMEZONE]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand status" -l base-url -d 'Base URL of the web app, for links in e-mails [default: http://localhost:8000] [env: SIGOV_ALERTS_BASE_URL]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand status" -l from -d 'Sender of the e-mails [default: SI-Gouvernance <noreply@si-gouvernance.com>] [env: SIGOV_ALERTS_FROM]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand status" -l lock-file -d 'Lock file guarding one host [default: /run/lock/sigov-alerts.<host>-<port>-<database>.lock] [env: SIGOV_ALERTS_LOCK_FILE]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand status" -l wait-lock -d 'Wait this long for a held lock instead of exiting 75 (e.g. 30s; at most 1day) [default: 0s]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand status" -l metrics-file -d 'Write node_exporter textfile metrics here at the end of every run [env: SIGOV_ALERTS_METRICS_FILE]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand status" -l log-file -d 'Also append log lines to this file (opened anew by every run) [env: SIGOV_ALERTS_LOG_FILE]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand status" -l log-format -d 'Log line format on stderr' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand status" -l color -d 'Colours in log lines' -r -f -a "auto\t'Colours only on a terminal'
always\t'Always'
never\t'Never'"
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand status" -s v -l verbose -d 'More output on stderr (-v summary, -vv debug)'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand status" -s q -l quiet -d 'Only errors on stderr'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand crontab" -l config -d 'TOML configuration file [default: /etc/sigov-alerts.toml if it exists]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand crontab" -l database-url -d 'Database URL, mysql://user@host:3306/db?ssl-mode=... [env: SIGOV_ALERTS_DATABASE_URL, else DATABASE_URL]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand crontab" -l smtp-url -d 'Mail transport: smtp://host:port, smtps://host, or file:///dir (writes .eml files) [env: SIGOV_ALERTS_SMTP_URL]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand crontab" -l timezone -d 'Time zone of the business day [default: Europe/Paris] [env: SIGOV_ALERTS_TIMEZONE]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand crontab" -l base-url -d 'Base URL of the web app, for links in e-mails [default: http://localhost:8000] [env: SIGOV_ALERTS_BASE_URL]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand crontab" -l from -d 'Sender of the e-mails [default: SI-Gouvernance <noreply@si-gouvernance.com>] [env: SIGOV_ALERTS_FROM]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand crontab" -l lock-file -d 'Lock file guarding one host [default: /run/lock/sigov-alerts.<host>-<port>-<database>.lock] [env: SIGOV_ALERTS_LOCK_FILE]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand crontab" -l wait-lock -d 'Wait this long for a held lock instead of exiting 75 (e.g. 30s; at most 1day) [default: 0s]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand crontab" -l metrics-file -d 'Write node_exporter textfile metrics here at the end of every run [env: SIGOV_ALERTS_METRICS_FILE]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand crontab" -l log-file -d 'Also append log lines to this file (opened anew by every run) [env: SIGOV_ALERTS_LOG_FILE]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand crontab" -l log-format -d 'Log line format on stderr' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand crontab" -l color -d 'Colours in log lines' -r -f -a "auto\t'Colours only on a terminal'
always\t'Always'
never\t'Never'"
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand crontab" -l staggered -d 'One line per check at minutes 0, 5, 10, 15, 20 every 4 hours (the old schedule)'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand crontab" -l run-all -d 'One `run-all` line every 4 hours (the default)'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand crontab" -s v -l verbose -d 'More output on stderr (-v summary, -vv debug)'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand crontab" -s q -l quiet -d 'Only errors on stderr'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand crontab" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand completions" -l config -d 'TOML configuration file [default: /etc/sigov-alerts.toml if it exists]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand completions" -l database-url -d 'Database URL, mysql://user@host:3306/db?ssl-mode=... [env: SIGOV_ALERTS_DATABASE_URL, else DATABASE_URL]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand completions" -l smtp-url -d 'Mail transport: smtp://host:port, smtps://host, or file:///dir (writes .eml files) [env: SIGOV_ALERTS_SMTP_URL]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand completions" -l timezone -d 'Time zone of the business day [default: Europe/Paris] [env: SIGOV_ALERTS_TIMEZONE]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand completions" -l base-url -d 'Base URL of the web app, for links in e-mails [default: http://localhost:8000] [env: SIGOV_ALERTS_BASE_URL]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand completions" -l from -d 'Sender of the e-mails [default: SI-Gouvernance <noreply@si-gouvernance.com>] [env: SIGOV_ALERTS_FROM]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand completions" -l lock-file -d 'Lock file guarding one host [default: /run/lock/sigov-alerts.<host>-<port>-<database>.lock] [env: SIGOV_ALERTS_LOCK_FILE]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand completions" -l wait-lock -d 'Wait this long for a held lock instead of exiting 75 (e.g. 30s; at most 1day) [default: 0s]' -r
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand completions" -l metrics-file -d 'Write node_exporter textfile metrics here at the end of every run [env: SIGOV_ALERTS_METRICS_FILE]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand completions" -l log-file -d 'Also append log lines to this file (opened anew by every run) [env: SIGOV_ALERTS_LOG_FILE]' -r -F
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand completions" -l log-format -d 'Log line format on stderr' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand completions" -l color -d 'Colours in log lines' -r -f -a "auto\t'Colours only on a terminal'
always\t'Always'
never\t'Never'"
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand completions" -s v -l verbose -d 'More output on stderr (-v summary, -vv debug)'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand completions" -s q -l quiet -d 'Only errors on stderr'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand help; and not __fish_seen_subcommand_from check-project-deadlines check-stage-delays check-task-deadlines check-budget check-contract-expiration run-all migrate doctor config deliver history status crontab completions help" -f -a "check-project-deadlines" -d 'Project deadlines: J-7, J-3, J-1 and overdue projects'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand help; and not __fish_seen_subcommand_from check-project-deadlines check-stage-delays check-task-deadlines check-budget check-contract-expiration run-all migrate doctor config deliver history status crontab completions help" -f -a "check-stage-delays" -d 'Stages still running past their planned end'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand help; and not __fish_seen_subcommand_from check-project-deadlines check-stage-delays check-task-deadlines check-budget check-contract-expiration run-all migrate doctor config deliver history status crontab completions help" -f -a "check-task-deadlines" -d 'Open tasks past their due date'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand help; and not __fish_seen_subcommand_from check-project-deadlines check-stage-delays check-task-deadlines check-budget check-contract-expiration run-all migrate doctor config deliver history status crontab completions help" -f -a "check-budget" -d 'Projects whose spending exceeds their budget'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand help; and not __fish_seen_subcommand_from check-project-deadlines check-stage-delays check-task-deadlines check-budget check-contract-expiration run-all migrate doctor config deliver history status crontab completions help" -f -a "check-contract-expiration" -d 'Maintenance contracts expiring within 30 days or expired'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand help; and not __fish_seen_subcommand_from check-project-deadlines check-stage-delays check-task-deadlines check-budget check-contract-expiration run-all migrate doctor config deliver history status crontab completions help" -f -a "run-all" -d 'Run every check in order, then deliver; one report, one exit code'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand help; and not __fish_seen_subcommand_from check-project-deadlines check-stage-delays check-task-deadlines check-budget check-contract-expiration run-all migrate doctor config deliver history status crontab completions help" -f -a "migrate" -d 'Create or upgrade the tool\'s own tables (idempotent)'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand help; and not __fish_seen_subcommand_from check-project-deadlines check-stage-delays check-task-deadlines check-budget check-contract-expiration run-all migrate doctor config deliver history status crontab completions help" -f -a "doctor" -d 'Check configuration, database, tables, privileges, migrations, SMTP and lock path'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand help; and not __fish_seen_subcommand_from check-project-deadlines check-stage-delays check-task-deadlines check-budget check-contract-expiration run-all migrate doctor config deliver history status crontab completions help" -f -a "config" -d 'Print the effective configuration: each key, its value and where it came from; secrets as ****'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand help; and not __fish_seen_subcommand_from check-project-deadlines check-stage-delays check-task-deadlines check-budget check-contract-expiration run-all migrate doctor config deliver history status crontab completions help" -f -a "deliver" -d 'Send the e-mails still queued (retries) without running any check'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand help; and not __fish_seen_subcommand_from check-project-deadlines check-stage-delays check-task-deadlines check-budget check-contract-expiration run-all migrate doctor config deliver history status crontab completions help" -f -a "history" -d 'Past runs from the ledger: when, how long, rows and e-mails'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand help; and not __fish_seen_subcommand_from check-project-deadlines check-stage-delays check-task-deadlines check-budget check-contract-expiration run-all migrate doctor config deliver history status crontab completions help" -f -a "status" -d 'Last run and last success per check, queued and failed e-mail; exits 1 when unhealthy'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand help; and not __fish_seen_subcommand_from check-project-deadlines check-stage-delays check-task-deadlines check-budget check-contract-expiration run-all migrate doctor config deliver history status crontab completions help" -f -a "crontab" -d 'Print ready-to-paste crontab lines for this install'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand help; and not __fish_seen_subcommand_from check-project-deadlines check-stage-delays check-task-deadlines check-budget check-contract-expiration run-all migrate doctor config deliver history status crontab completions help" -f -a "completions" -d 'Print a shell completion script'
complete -c sigov-alerts -n "__fish_sigov_alerts_using_subcommand help; and not __fish_seen_subcommand_from check-project-deadlines check-stage-delays check-task-deadlines check-budget check-contract-expiration run-all migrate doctor config deliver history status crontab completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'

# shellcheck shell=bash
# Sourced helper: provides a MariaDB for scripts/test and scripts/demo.
#
#   . scripts/lib/mariadb.sh
#   ensure_mariadb            # then: sigov_mysql [ARGS...] runs the client on it
#
# ensure_mariadb exports SIGOV_TEST_DATABASE_URL (mysql://user[:pass]@host:port,
# no database path: tests create their own databases), SIGOV_DB_HOST,
# SIGOV_DB_PORT, SIGOV_DB_USER and SIGOV_DB_PRIVATE (1 when it started the
# server itself). In order of preference it uses:
#   1. a preset SIGOV_TEST_DATABASE_URL (only checked to be reachable);
#   2. a server already accepting root without password on
#      ${SIGOV_DB_HOST:-127.0.0.1}:${SIGOV_DB_PORT:-3306};
#   3. a private throwaway server (installed with apt-get if missing) on a free
#      port from 3307 up, with its data in a temporary directory; it is stopped
#      and removed when the calling script exits.
# Messages go to stderr. sigov_on_exit CMD registers more cleanup for the caller
# (this file owns the EXIT trap).

_SIGOV_EXIT_CMDS=()
_SIGOV_DB_PASSWORD=''
SIGOV_DB_PRIVATE=0 # 1 once ensure_mariadb started a private server

_sigov_msg() { printf 'sigov: %s\n' "$*" >&2; }

# Run the registered cleanup commands, newest first, keeping the exit status.
_sigov_on_exit_run() {
    local rc=$? i
    set +e
    for ((i = ${#_SIGOV_EXIT_CMDS[@]} - 1; i >= 0; i--)); do eval "${_SIGOV_EXIT_CMDS[i]}"; done
    exit "$rc"
}

sigov_on_exit() {
    _SIGOV_EXIT_CMDS+=("$1")
    trap _sigov_on_exit_run EXIT
    trap 'exit 130' INT   # so that the EXIT trap also runs on Ctrl-C ...
    trap 'exit 143' TERM  # ... and on kill
}

# The mariadb client on the chosen server; extra arguments are passed through.
# --no-defaults: no ~/.my.cnf or /etc/mysql surprises. The password, if any,
# travels in the environment of the client only, never on a command line.
sigov_mysql() {
    MYSQL_PWD="$_SIGOV_DB_PASSWORD" mariadb --no-defaults --protocol=TCP \
        --host="$SIGOV_DB_HOST" --port="$SIGOV_DB_PORT" --user="$SIGOV_DB_USER" \
        --default-character-set=utf8mb4 "$@"
}

# True when HOST PORT USER [PASSWORD] accepts a connection.
_sigov_db_ping() {
    MYSQL_PWD="${4:-}" mariadb --no-defaults --protocol=TCP --connect-timeout=2 \
        --host="$1" --port="$2" --user="$3" -e 'SELECT 1' >/dev/null 2>&1
}

# Percent-decoding for the user and password parts of a URL.
_sigov_urldecode() { printf '%b' "${1//%/\\x}"; }

# Split mysql://user[:pass]@host[:port][/db][?query] into SIGOV_DB_HOST,
# SIGOV_DB_PORT, SIGOV_DB_USER and _SIGOV_DB_PASSWORD.
_sigov_parse_url() {
    local url=$1 rest auth hostport
    case $url in
    mysql://* | mariadb://*) ;;
    *) _sigov_msg "SIGOV_TEST_DATABASE_URL must start with mysql://"; return 1 ;;
    esac
    rest=${url#*://}
    rest=${rest%%[/?]*}
    if [[ $rest == *@* ]]; then auth=${rest%@*} hostport=${rest##*@}; else auth=root hostport=$rest; fi
    SIGOV_DB_USER=$(_sigov_urldecode "${auth%%:*}")
    _SIGOV_DB_PASSWORD=''
    if [[ $auth == *:* ]]; then _SIGOV_DB_PASSWORD=$(_sigov_urldecode "${auth#*:}"); fi
    if [[ $hostport == \[*\]* ]]; then # [::1]:3306
        SIGOV_DB_HOST=${hostport%%]*} SIGOV_DB_HOST=${SIGOV_DB_HOST#[}
        hostport=${hostport#*]}
        SIGOV_DB_PORT=${hostport#:}
    elif [[ $hostport == *:* ]]; then
        SIGOV_DB_HOST=${hostport%:*} SIGOV_DB_PORT=${hostport##*:}
    else
        SIGOV_DB_HOST=$hostport SIGOV_DB_PORT=''
    fi
    SIGOV_DB_PORT=${SIGOV_DB_PORT:-3306}
}

# Install the Debian packages whose binaries are missing.
_sigov_apt_install() {
    local sudo=()
    if [[ $(id -u) != 0 ]]; then
        command -v sudo >/dev/null || { _sigov_msg "need root (or sudo) to install $*"; return 1; }
        sudo=(sudo)
    fi
    _sigov_msg "installing $* with apt-get (once)"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 &&
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2 </dev/null
}

# True when something listens on 127.0.0.1:PORT (bash's /dev/tcp, no tools needed).
_sigov_port_busy() { (: <>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Start a private server; sets SIGOV_DB_HOST/PORT/USER.
_sigov_start_private() {
    local dir port pid as_root=() t0=${EPOCHREALTIME/[.,]/}
    if [[ ! -x /usr/sbin/mariadbd ]] || ! command -v mariadb-install-db >/dev/null; then
        # The package's postinst may fail to start its own service (containers):
        # only the binaries matter here, so check them rather than apt's status.
        _sigov_apt_install mariadb-server mariadb-client ||
            _sigov_msg "apt-get reported an error; checking the binaries anyway"
        if [[ ! -x /usr/sbin/mariadbd ]] || ! command -v mariadb-install-db >/dev/null; then
            _sigov_msg "mariadb-server is not installed"; return 1
        fi
    fi
    [[ $(id -u) != 0 ]] || as_root=(--user=root) # mariadbd refuses to run as root without it
    dir=$(mktemp -d "${TMPDIR:-/tmp}/sigov-mariadb.XXXXXX") || return 1
    sigov_on_exit "_sigov_stop_private '$dir'"
    # normal auth: root@localhost, root@127.0.0.1 and root@::1 without password.
    mariadb-install-db --no-defaults --auth-root-authentication-method=normal \
        --skip-test-db --datadir="$dir/data" "${as_root[@]}" >"$dir/install.log" 2>&1 || {
        _sigov_msg "mariadb-install-db failed:"; tail -n 20 "$dir/install.log" >&2; return 1
    }
    port=3306
    for _ in 1 2 3; do # another process may take the port first: try the next one
        port=$((port + 1))
        while _sigov_port_busy "$port"; do port=$((port + 1)); done
        # No --skip-grant-tables: privileges are real. Collation: the app tables' one.
        /usr/sbin/mariadbd --no-defaults --datadir="$dir/data" --socket="$dir/sock" \
            --pid-file="$dir/mariadbd.pid" --log-error="$dir/error.log" \
            --port="$port" --bind-address=127.0.0.1 --skip-name-resolve "${as_root[@]}" \
            --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
            --innodb-buffer-pool-size=128M --skip-log-bin \
            </dev/null >>"$dir/mariadbd.out" 2>&1 &
        pid=$!
        echo "$pid" >"$dir/pid"
        while kill -0 "$pid" 2>/dev/null && ((${EPOCHREALTIME/[.,]/} - t0 < 30000000)); do
            if _sigov_db_ping 127.0.0.1 "$port" root; then
                SIGOV_DB_HOST=127.0.0.1 SIGOV_DB_PORT=$port SIGOV_DB_USER=root SIGOV_DB_PRIVATE=1
                t0=$(((${EPOCHREALTIME/[.,]/} - t0) / 100000))
                _sigov_msg "started a private MariaDB on 127.0.0.1:$port in $((t0 / 10)).$((t0 % 10)) s (stopped on exit)"
                return 0
            fi
            sleep 0.2
        done
        kill -0 "$pid" 2>/dev/null && break # alive but not answering after 30 s: give up
    done
    _sigov_msg "the private MariaDB did not come up; its log:"
    tail -n 20 "$dir/error.log" >&2 2>/dev/null
    return 1
}

# Stop the private server (bounded wait) and remove its files.
_sigov_stop_private() {
    local dir=$1 pid i
    pid=$(cat "$dir/pid" 2>/dev/null) || pid=''
    if [[ -n $pid ]] && kill -TERM "$pid" 2>/dev/null; then
        for ((i = 0; i < 150; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    fi
    rm -rf "$dir"
}

ensure_mariadb() {
    if ! command -v mariadb >/dev/null; then _sigov_apt_install mariadb-client || return 1; fi
    if [[ -n ${SIGOV_TEST_DATABASE_URL:-} ]]; then
        _sigov_parse_url "$SIGOV_TEST_DATABASE_URL" || return 1
        if ! _sigov_db_ping "$SIGOV_DB_HOST" "$SIGOV_DB_PORT" "$SIGOV_DB_USER" "$_SIGOV_DB_PASSWORD"; then
            _sigov_msg "SIGOV_TEST_DATABASE_URL: cannot connect to $SIGOV_DB_HOST:$SIGOV_DB_PORT as $SIGOV_DB_USER"
            return 1
        fi
        SIGOV_TEST_DATABASE_URL=${SIGOV_TEST_DATABASE_URL%/}
        _sigov_msg "using MariaDB at $SIGOV_DB_HOST:$SIGOV_DB_PORT (SIGOV_TEST_DATABASE_URL)"
    else
        SIGOV_DB_HOST=${SIGOV_DB_HOST:-127.0.0.1} SIGOV_DB_PORT=${SIGOV_DB_PORT:-3306} SIGOV_DB_USER=root
        _SIGOV_DB_PASSWORD=''
        if _sigov_db_ping "$SIGOV_DB_HOST" "$SIGOV_DB_PORT" root; then
            _sigov_msg "using MariaDB at $SIGOV_DB_HOST:$SIGOV_DB_PORT"
        else
            _sigov_msg "no MariaDB accepts root without password at $SIGOV_DB_HOST:$SIGOV_DB_PORT"
            _sigov_start_private || return 1
        fi
        SIGOV_TEST_DATABASE_URL="mysql://root@$SIGOV_DB_HOST:$SIGOV_DB_PORT"
    fi
    export SIGOV_TEST_DATABASE_URL SIGOV_DB_HOST SIGOV_DB_PORT SIGOV_DB_USER SIGOV_DB_PRIVATE
}

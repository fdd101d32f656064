# shellcheck shell=bash
# shellcheck disable=SC2034  # constants used by the scripts that source this
# Shared helpers for the danerollover test lab scripts (sourced, not run).
#
# Every daemon the lab starts is recorded in DIR/pids/NAME.pid.  A pid file is
# only trusted while /proc/PID/exe is the binary we expect for NAME, so a stale
# pid file whose number was reused by an unrelated process is never signalled.

# ---------------------------------------------------------------- addresses --
LAB_PDNS_ADDR=127.0.10.1        # PowerDNS primary (ns1.example.test)
LAB_PDNS_ADDR6=::1              # ... also on IPv6 loopback (ns1 AAAA): NS names with two addresses
LAB_PDNS2_ADDR=127.0.10.2       # second PowerDNS (ns2.example.test), laggable
LAB_BIND_ADDR=127.0.10.3        # BIND 9 (ns.example2.test)
LAB_MAIL_ADDR=127.0.10.25       # Postfix (mail.example.test, mail.<child>)
LAB_RESOLVER_ADDR=127.0.10.53   # Unbound validating resolver
LAB_LOCAL=127.0.0.1             # HTTP services (PowerDNS API, pebble)

LAB_ZONE=example.test
LAB_BIND_ZONE=example2.test
LAB_INSECURE_ZONE=insecure.example.test
LAB_BOGUS_ZONE=bogus.example.test
LAB_SHARED_CHILD_ZONE=shared.example.test  # signed child (DS in example.test), same PowerDNS
LAB_SHARED_ZONE=shared.test                # signed sibling zone (own trust anchor), same PowerDNS
LAB_LINEAGE=mail.example.test
LAB_MAIL_HOST=mail.example.test
LAB_TSIG_NAME=danerollover-lab.
LAB_TSIG_ALGORITHM=hmac-sha256
LAB_RESOLVER_CACHE_MAX_TTL=5

# All lab daemons, in start order (down stops them in reverse).
LAB_DAEMONS=(pdns pdns2 named unbound pebble postfix)

# --------------------------------------------------------------- messages --
lab_log() { printf '[lab] %s\n' "$*" >&2; }
lab_die() { printf '[lab] ERROR: %s\n' "$*" >&2; exit 1; }

# lab_dir ARG: absolute path of the lab directory (created if needed).
lab_dir() {
  [[ -n ${1:-} ]] || lab_die "usage: $(basename "$0") DIR ..."
  mkdir -p "$1"
  (cd "$1" && pwd -P)
}

# lab_lock DIR: serialize up/down/lag on one lab directory (fd 9, released
# when the script exits).  Daemons are started with fd 9 closed so they do
# not keep the lock.
lab_lock() {
  exec 9>"$1/.lock"
  flock -w 120 9 || lab_die "another up/down/lag on $1 has held the lock for 120 s"
}

# ------------------------------------------------------------ pid handling --
# Expected executable for each daemon name.
lab_exe_for() {
  case $1 in
    pdns | pdns2) echo /usr/sbin/pdns_server ;;
    named) echo /usr/sbin/named ;;
    unbound) echo /usr/sbin/unbound ;;
    pebble) echo /usr/bin/pebble ;;
    postfix) echo /usr/lib/postfix/sbin/master ;;
    *) return 1 ;;
  esac
}

# lab_pid DIR NAME: print the recorded PID if that process is alive, is not a
# zombie and runs the expected binary; return 1 otherwise.
lab_pid() {
  local f=$1/pids/$2.pid pid exe state
  [[ -r $f ]] || return 1
  pid=$(tr -dc '0-9' <"$f")
  [[ -n $pid ]] || return 1
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
  [[ $exe == "$(lab_exe_for "$2")" ]] || return 1
  state=$(awk '/^State:/ {print $2}' "/proc/$pid/status" 2>/dev/null) || return 1
  [[ $state != Z && $state != X ]] || return 1
  echo "$pid"
}

lab_running() { lab_pid "$1" "$2" >/dev/null; }

# lab_gone PID: true when PID no longer exists or is a zombie whose threads
# have all exited.  (When the main thread of a multi-threaded daemon such as
# pdns_server exits first, the process shows as a zombie while its other
# threads still run and still hold its sockets.)
lab_gone() {
  local state tasks
  state=$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null) || return 0
  [[ $state == Z || $state == X ]] || return 1
  tasks=$(find "/proc/$1/task" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
  [[ $tasks -le 1 ]]
}

# lab_stop DIR NAME: TERM the recorded process, wait up to 10 s, then KILL.
lab_stop() {
  local dir=$1 name=$2 pid i
  if pid=$(lab_pid "$dir" "$name"); then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      lab_gone "$pid" && break
      sleep 0.1
    done
    if ! lab_gone "$pid"; then
      lab_log "$name (pid $pid) ignored TERM for 10 s; sending KILL"
      kill -KILL "$pid" 2>/dev/null || true
      for ((i = 0; i < 50; i++)); do
        lab_gone "$pid" && break
        sleep 0.1
      done
      lab_gone "$pid" || lab_die "$name (pid $pid) survived KILL"
    fi
    lab_log "stopped $name (pid $pid)"
  fi
  rm -f "$dir/pids/$name.pid"
}

# lab_start DIR NAME LOGFILE CMD...: start CMD in its own session, detached
# from our stdio, and record its PID.  CMD must exec the daemon in the
# foreground (so $! is the daemon itself).
lab_start() {
  local dir=$1 name=$2 logf=$3
  shift 3
  mkdir -p "$dir/pids"
  # A background job of a non-interactive shell is not a process-group leader,
  # so setsid(1) calls setsid() and execs CMD without forking: $! is CMD's PID.
  setsid "$@" >>"$logf" 2>&1 </dev/null 9>&- &
  echo $! >"$dir/pids/$name.pid"
}

# lab_wait SECONDS WHAT LOGFILE NAME DIR CMD...: poll CMD (quietly) every 0.1 s
# until it succeeds.  On timeout, or if daemon NAME dies, print the log tail and
# fail.  NAME may be "-" when no daemon is to be watched.
lab_wait() {
  local secs=$1 what=$2 logf=$3 name=$4 dir=$5 i n
  shift 5
  n=$((secs * 10))
  for ((i = 0; i < n; i++)); do
    if "$@" >/dev/null 2>&1; then
      return 0
    fi
    if [[ $name != - ]] && ! lab_running "$dir" "$name"; then
      lab_log "$name exited while waiting for: $what"
      [[ -r $logf ]] && tail -n 30 "$logf" | sed 's/^/    | /' >&2
      exit 1
    fi
    sleep 0.1
  done
  lab_log "timed out after ${secs}s waiting for: $what"
  [[ -r $logf ]] && tail -n 30 "$logf" | sed 's/^/    | /' >&2
  exit 1
}

# ------------------------------------------------------------------- ports --
# lab_listener ADDR PORT [tcp|udp]: print the listening socket line(s) that
# would conflict with binding ADDR:PORT (exact address or wildcard).
lab_listener() {
  local addr=$1 port=$2 proto=${3:-tcp} flag=-ltnH
  [[ $proto == udp ]] && flag=-lunH
  ss "$flag" 2>/dev/null | awk -v a="$addr" -v p="$port" '
    { n = split($4, x, ":"); lp = x[n]; la = substr($4, 1, length($4) - length(lp) - 1) }
    lp == p && (la == a || la == "0.0.0.0" || la == "*" || la == "[::]" || la == "[::ffff:" a "]") { print }'
}

lab_port_busy() { [[ -n $(lab_listener "$1" "$2" "${3:-tcp}") ]]; }

# lab_free_port ADDR PREFERRED: first port >= PREFERRED not listened on.
lab_free_port() {
  local addr=$1 p=$2
  while lab_port_busy "$addr" "$p"; do p=$((p + 1)); done
  echo "$p"
}

# lab_require_53 ADDR WHO: fail loudly when something else holds ADDR:53.
lab_require_53() {
  local l
  l=$(lab_listener "$1" 53 udp; lab_listener "$1" 53 tcp)
  if [[ -n $l ]]; then
    lab_log "cannot start $2: port 53 on $1 is already in use:"
    printf '    | %s\n' "$l" >&2
    ss -lntup 2>/dev/null | grep -E "[: ]$1:53 |0\.0\.0\.0:53 |\*:53 " | sed 's/^/    | /' >&2 || true
    exit 1
  fi
}

# ------------------------------------------------------- loopback address --
# BIND only listens on addresses that appear in the interface list, and
# 127.0.10.3 is not there by default (Linux routes all of 127/8 to lo, so the
# other daemons can bind it anyway).  lab_add_lo_addr DIR ADDR adds ADDR/32 to
# lo (runtime only, gone after reboot) and notes it in DIR/lo-addrs so that
# down can take it away again.
lab_add_lo_addr() {
  if ! ip -4 -o addr show dev lo | grep -q " $2/32 "; then
    ip addr add "$2/32" dev lo || lab_die "cannot add $2/32 to lo (needed by BIND)"
    echo "$2" >>"$1/lo-addrs"
  fi
}
lab_del_lo_addrs() {
  local a
  [[ -r $1/lo-addrs ]] || return 0
  while read -r a; do
    [[ -n $a ]] && ip addr del "$a/32" dev lo 2>/dev/null || true
  done <"$1/lo-addrs"
  rm -f "$1/lo-addrs"
}

# lab_soa_ok ADDR ZONE: ADDR answers ZONE's SOA.  (dig +short prints its
# ";; communications error" lines on stdout too: match the SOA itself.)
lab_soa_ok() {
  dig +time=1 +tries=1 +norec +short @"$1" "$2" SOA 2>/dev/null |
    grep -qE '^[^; ]+\. [^ ]+\. [0-9]+ '
}

# ---------------------------------------------------------------- env file --
# lab_load_env DIR: source DIR/env (exported).
lab_load_env() {
  [[ -r $1/env ]] || lab_die "$1/env not found: run tests/lab/up $1 first"
  set -a
  # shellcheck disable=SC1091
  . "$1/env"
  set +a
}

# shellcheck shell=bash
# Shared by the lab benchmarks (sourced): the lab's env, the binary, a lineage issued by
# the lab's certbot (serialised with the tests through DIR/certbot.lock), a configuration
# for it, and cleanup of records and lineage on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DANEROLLOVER_LAB:?set DANEROLLOVER_LAB=DIR/env (tests/lab/up DIR)}"
set -a
# shellcheck disable=SC1090
. "$DANEROLLOVER_LAB"
set +a
PROFILE=${PROFILE:-release}
if [[ $PROFILE == release ]]; then
  cargo build --release --quiet
  BIN=$PWD/target/release/danerollover
else
  cargo build --quiet
  BIN=$PWD/target/debug/danerollover
fi
WORK=$(mktemp -d)
# shellcheck disable=SC2034 # used by the scripts that source this file
ID=$(printf '%x%x' $$ $((10#$(date +%N))))
CREATED_LINEAGES=()
CREATED_OWNERS=()

certbot_() { flock "$LAB_DIR/certbot.lock" "$LAB_BIN/certbot" "$LAB_DIR" "$@"; }

# write_config FILE LINEAGE OWNER STATE_DIR
write_config() {
  cat >"$1" <<CFG
letsencrypt_dir = "$LAB_LETSENCRYPT_DIR"
state_dir = "$4"
certbot = ["flock", "$LAB_DIR/certbot.lock", "$LAB_BIN/certbot", "$LAB_DIR"]
[dns]
validating_resolver = "$LAB_RESOLVER"
ttl_factor = 2
margin = "1s"
prior_ttl = "0s"
[providers.lab]
type = "powerdns"
url = "$LAB_PDNS_API"
api_key_file = "$LAB_PDNS_API_KEY_FILE"
server_id = "$LAB_PDNS_SERVER_ID"
[lineages."$2"]
provider = "lab"
tlsa = ["$3"]
ttl = 5
CFG
}

# issue LINEAGE [certbot args...]
issue() {
  local name=$1
  shift
  CREATED_LINEAGES+=("$name")
  certbot_ certonly --standalone --http-01-address "$LAB_ACME_HTTP01_ADDR" \
    --http-01-port "$LAB_ACME_HTTP01_PORT" --cert-name "$name" -d "mail.$LAB_PDNS_ZONE" \
    --reuse-key --key-type ecdsa "$@" >/dev/null 2>&1
}

# remove_records CONFIG OWNER: every TLSA record the primary serves at OWNER.
remove_records() {
  local r
  dig +short +norec "@${LAB_PDNS_DNS%:*}" "$2" TLSA | while read -r u s m h1 h2; do
    r="$u $s $m $h1$h2"
    DANEROLLOVER_CONFIG=$1 "$BIN" dns remove "$2" "$r" --provider lab >/dev/null 2>&1 || true
  done
}

cleanup() {
  local o n
  for o in "${CREATED_OWNERS[@]}"; do remove_records "${o%%|*}" "${o#*|}"; done
  for n in "${CREATED_LINEAGES[@]}"; do certbot_ delete --cert-name "$n" >/dev/null 2>&1 || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

now_ns() { date +%s%N; }

# stats MS...: "median M ms (min A, max B, n N)"
stats() {
  printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "median %.1f ms (min %.1f, max %.1f, n %d)\n", m, a[1], a[NR], NR}'
}

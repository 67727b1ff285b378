# Helpers for the integration tests; source it from bash:
#     . "$(dirname "$0")/../lib.sh"      (from tests/it/*.sh)
#     setup                              temp dir $T, cleanup trap, HOME=$T/home
#
# Everything a test starts through these helpers (or registers with track PID)
# is killed by pid when the test exits; $T is removed unless KEEP=1.
#
#   setup                       make $T; export HOME=$T/home; set the EXIT trap
#   track PID...                kill these pids at exit (TERM, then KILL after 5 s)
#   track_group PGID...         SIGKILL these process groups at exit
#   free_port                   print a TCP port free on 127.0.0.1 right now
#   make_pki [URL...]           tests/pki.sh $T/pki URL...; sets PKI CA CERTS
#                               (default URL: http://127.0.0.1:$RESP_PORT/ with
#                               RESP_PORT=$(free_port) chosen here)
#   start_responder DIR PORT [openssl ocsp args...]
#                               openssl ocsp responder for the PKI in DIR on PORT,
#                               waits until it listens; sets RESP_PID RESP_LOG.
#                               Default validity -ndays 1 unless args give -nmin/-ndays.
#                               Signer: $RSIGNER/$RKEY (default DIR/ca/ocsp.pem/key).
#                               (openssl 3.0 -port binds all interfaces: *:PORT;
#                               it has no option to bind 127.0.0.1 only.)
#   stop_responder [PID]        SIGKILL its process group (default $RESP_PID), wait
#   responder_requests [LOG]    number of requests the responder has received
#                               (not with -multi: openssl then logs to syslog)
#   only_ocspd_asked LOG NAME   succeed if every request $RESP_LOG received was
#                               one of the attempts ocspd (-v, LOG) made for NAME
#                               ("NAME.pem: asking http://127.0.0.1:$RESP_PORT/")
#   stop_ocspd_alone_asked LOG NAME
#                               stop $OCSPD_PID (exit 0 expected), then fail
#                               unless only_ocspd_asked LOG NAME
#   served_other PORT NAME OLD  succeed once PORT serves a good staple for NAME
#                               whose This Update is not OLD
#   find_faultd                 set FAULTD to tests/faultd (build/tests/faultd, or
#                               compiled into $T when that is missing)
#   start_faultd PORT [faultd serve args...]
#                               $FAULTD serve for the PKI in $CA on PORT (signer
#                               $CA/ocsp.pem), stderr appended to $T/faultd.log,
#                               waits until it listens; sets FAULTD_PID
#   start_redis [redis-server args...]
#                               redis-server on 127.0.0.1:$REDIS_PORT (default:
#                               a free port; set, it restarts one on the same
#                               port) with password $REDIS_PASS (default: random),
#                               nothing saved; waits until it answers; sets
#                               REDIS_PORT REDIS_PID REDIS_URL (redis://:PASS@...)
#   stop_redis                  SIGKILL $REDIS_PID, wait
#   start_fakeredis MODE PORT ACCEPTS
#                               a misbehaving Redis (tests/fakeredis.py MODE) on
#                               127.0.0.1:PORT, one line per connection in ACCEPTS
#   vm_hwm PID                  peak resident memory of PID in KiB (VmHWM)
#   rcli ARGS...                redis-cli on $REDIS_PORT with $REDIS_PASS
#   start_fleet_node N LOG ARGS...
#                               start_ocspd LOG --ca-file $CA/root.pem --redis
#                               $REDIS_URL --redis-node nodeN ARGS; sets OCSPD_PID
#   fleet_copies N NAME...      $T/nodeK/NAME.pem copies of $CERTS/NAME.pem for
#                               K = 1..N (the same certificates on every node)
#   fleet_good "K..." NAME...   succeed if $T/nodeK/NAME.pem has a good staple
#                               for every node K and NAME
#   fleet_renewed "K..." NAME OLD
#                               succeed if every node K's NAME staple is good
#                               and its This Update is no longer OLD
#   write_haproxy_cfg CFG SOCK PORT CRT [GLOBAL_LINE...]
#                               a haproxy.cfg with one admin stats socket SOCK and
#                               one TLS frontend on 127.0.0.1:PORT serving "crt CRT"
#   start_haproxy [haproxy args...] CFG
#                               haproxy -db -f CFG in the background (log
#                               CFG-without-.cfg.log), waits until the admin
#                               socket named in CFG answers; sets HAPROXY_PID
#   nginx_head DIR [MAIN_LINE...] (DIR exists)
#                               the start of an nginx.conf for prefix DIR (pid,
#                               error log, temp paths in DIR; MAIN_LINEs in the
#                               main context) up to the open "http {" block;
#                               sets NGINX_CMD (nginx -p DIR -c DIR/nginx.conf ...)
#   apache_head DIR PORT        the start of an apache2.conf (MPM event, mod_ssl,
#                               shmcb) with everything it writes in DIR,
#                               listening on 127.0.0.1:PORT; runs as nobody
#   start_apache CONF           apache2 -DFOREGROUND -f CONF in the background
#                               (log CONF-without-.conf.log), waits until it
#                               listens on the port CONF names; sets APACHE_PID
#   haproxy_pid SOCK            print the pid of the HAProxy process answering
#                               "show info" on SOCK (nothing when none answers)
#   served_staple PORT NAME     the OCSP part of what s_client -status gets from
#                               127.0.0.1:PORT for NAME.test (empty: no staple)
#   served_good PORT NAME       succeed if that is a successful, good response
#                               for NAME's serial ($CA/serials)
#   this_update_served PORT NAME
#   this_update_file STAPLE     the This Update of the served staple / of a file
#   file_renewed STAPLE OLD     succeed if STAPLE's This Update is no longer OLD
#   wait_file_renewed STAPLE OLD
#                               wait (up to 40 s) for file_renewed, else fail;
#                               says ok with the new This Update
#   served_renewed PORT NAME STAPLE OLD
#                               succeed once STAPLE's This Update is no longer OLD
#                               and PORT serves that staple for NAME
#   staples_kept WHEN DIR SAVED NAME...
#                               fail unless DIR/NAME.pem.ocsp is byte for byte
#                               SAVED/NAME.pem.ocsp, for each NAME
#   no_temp_files WHEN DIR...   fail if ocspd left temporary files in a DIR
#   wait_for [-t SECS] CMD...   run CMD every 0.1 s until it succeeds; 1 after
#                               SECS (default $WAIT or 20)
#   cert_dir DIR NAME[=FILE]... mkdir DIR; copy $CERTS/NAME.pem to DIR/FILE
#                               (default NAME.pem), for each NAME
#   start_ocspd LOG ARGS...     $OCSPD ARGS in the background, stderr+stdout to
#                               LOG; sets OCSPD_PID
#   start_serving_ocspd LOG ARGS...
#                               start_ocspd LOG --ca-file $CA/root.pem
#                               --serve-ocsp 127.0.0.1:$OPORT ARGS, OPORT a free
#                               port chosen here; sets OPORT OCSPD_PID
#   serving_site NAME           the start of the tests of servers fetching from
#                               --serve-ocsp: make_pki, the CA's responder with
#                               10-minute answers, $site ($T/site) holding
#                               NAME.pem, ocspd -v --minimum-validity 590 (so it
#                               renews every ~10 s) serving it, log
#                               $T/ocspd.log, waited for until NAME's first
#                               staple is stored; sets site OPORT OCSPD_PID
#   run_ocspd LOG ARGS...       $OCSPD ARGS in the foreground (polled, killed
#                               after $RUN_DEADLINE s, default 120); sets RC
#   stop_pid PID [SIGNAL]       send SIGNAL (TERM), wait up to 20 s; sets RC to
#                               its exit status (KILLs it and fails when stuck)
#   wait_log LOG REGEX          wait_for a line matching REGEX (grep -E) in LOG
#   count_log LOG REGEX         print the number of matching lines
#   staple_status CERT [STAPLE] print good | revoked | unknown | empty | missing
#                               | invalid for CERT's staple (default CERT.ocsp),
#                               verified against $CA/root.pem with issuer
#                               $CA/inter.pem
#   check_staple CERT [STAPLE]  fail unless the staple verifies and says good
#   no_staple CERT              fail unless CERT.ocsp is missing or empty
#   ok MSG                      print "ok - MSG"
#   fail MSG                    print FAIL and the logs in $T, exit 1
#   pass [MSG]                  check logs for sanitizer reports, print PASS, exit 0
#
# Environment: OCSPD (binary under test, default <repo>/ocspd-san, else
# <repo>/ocspd), KEEP=1 keeps $T, WAIT (seconds, default 20).

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -z "${OCSPD:-}" ]; then
	OCSPD=$ROOT/ocspd-san
	[ -x "$OCSPD" ] || OCSPD=$ROOT/ocspd
fi
TEST_NAME=$(basename "$0" .sh)
WAIT=${WAIT:-20}
PIDS=""
PGROUPS=""
T=""
# The sanitizer build stops at the first report; pass() also greps the logs for one.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

track() { PIDS="$PIDS $*"; }

# A process that may lead its own process group: at exit the whole group gets
# SIGKILL (or the process alone when it has no group of its own).
track_group() { PGROUPS="$PGROUPS $*"; }

cleanup() {
	local rc=$? p n
	trap - EXIT INT TERM
	for p in $PGROUPS; do
		kill -KILL -- "-$p" 2>/dev/null || kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	for p in $PIDS; do
		n=0
		while kill -0 "$p" 2>/dev/null && [ $n -lt 50 ]; do
			sleep 0.1
			n=$((n + 1))
		done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	if [ -n "$T" ] && [ -d "$T" ]; then
		if [ "${KEEP:-0}" = 1 ]; then
			echo "kept $T" >&2
		else
			rm -rf "$T"
		fi
	fi
	exit $rc
}

setup() {
	T=$(mktemp -d "${TMPDIR:-/tmp}/ocspd-$TEST_NAME.XXXXXX")
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	export HOME=$T/home
	mkdir -p "$HOME"
	[ -x "$OCSPD" ] || fail "no ocspd binary at $OCSPD (run make ocspd-san or set OCSPD)"
}

free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

make_pki() {
	PKI=$T/pki
	CA=$PKI/ca
	CERTS=$PKI/certs
	if [ $# -eq 0 ]; then
		RESP_PORT=${RESP_PORT:-$(free_port)}
		set -- "http://127.0.0.1:$RESP_PORT/"
	fi
	"$ROOT/tests/pki.sh" "$PKI" "$@" || fail "tests/pki.sh failed"
}

wait_for() {
	local secs=$WAIT n=0
	if [ "$1" = -t ]; then
		secs=$2
		shift 2
	fi
	local max=$((secs * 10))
	until "$@"; do
		n=$((n + 1))
		[ $n -ge $max ] && return 1
		sleep 0.1
	done
	return 0
}

start_responder() {
	local dir=$1 port=$2 validity="-ndays 1" a
	shift 2
	for a in "$@"; do
		case $a in -nmin | -ndays) validity="" ;; esac
	done
	RESP_LOG=$T/responder-$port.log
	# With -multi N, openssl puts itself in its own process group (pgid = pid),
	# ignores SIGTERM and logs to syslog; its children would outlive a killed
	# parent, so the group is killed by its id (see cleanup).
	# shellcheck disable=SC2086
	openssl ocsp -index "$dir/ca/index.txt" -port "$port" \
		-rsigner "${RSIGNER:-$dir/ca/ocsp.pem}" -rkey "${RKEY:-$dir/ca/ocsp.key}" \
		-CA "$dir/ca/inter.pem" $validity "$@" >>"$RESP_LOG" 2>&1 &
	RESP_PID=$!
	track_group $RESP_PID
	# Ready once it listens; stop waiting at once if it died (port taken, bad file).
	# "ACCEPT <addr> PID=<pid>" is printed once it listens (also with -multi).
	wait_for eval 'grep -q "^ACCEPT .*PID=$RESP_PID\$" "$RESP_LOG" || ! kill -0 $RESP_PID 2>/dev/null' ||
		fail "openssl ocsp responder on port $port did not start"
	kill -0 $RESP_PID 2>/dev/null || fail "openssl ocsp responder on port $port died: $(tail -n 3 "$RESP_LOG")"
}

stop_responder() {
	local p=${1:-$RESP_PID}
	kill -KILL -- "-$p" 2>/dev/null || kill -KILL "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	return 0
}

# openssl 3.0 logs "ocsp: Received request, 1st line: ..." on stderr for each
# request -- but not with -multi N (it logs to syslog then): count without -multi.
responder_requests() {
	local n
	n=$(grep -c "Received request" "${1:-$RESP_LOG}" 2>/dev/null)
	echo "${n:-0}"
}

only_ocspd_asked() {
	[ "$(responder_requests)" = "$(count_log "$1" "$2.pem: asking http://127.0.0.1:$RESP_PORT/")" ]
}

stop_ocspd_alone_asked() {
	stop_pid "$OCSPD_PID"
	[ "$RC" = 0 ] || fail "ocspd SIGTERM: exit $RC"
	only_ocspd_asked "$1" "$2" ||
		fail "the CA's responder got $(responder_requests) requests, not only ocspd's"
	ok "the CA's responder was asked by ocspd only ($(responder_requests) requests)"
}

# revoke_in_index CADIR NAME: CADIR's index.txt says the leaf NAME (tests/pki.sh)
# was revoked a minute ago (keyCompromise). openssl ocsp reads its index at
# start: restart the responder for it to answer so.
revoke_in_index() {
	local ca=$1 serial revtime
	serial=$(awk -v n="$2" '$1 == n { print $2 }' "$ca/serials")
	revtime=$(date -u -d "-1 minute" +%y%m%d%H%M%SZ)
	awk -F'\t' -v OFS='\t' -v s="$serial" -v r="$revtime" \
		'$4 == s { $1 = "R"; $3 = r ",keyCompromise" } { print }' \
		"$ca/index.txt" >"$T/index.new" && mv "$T/index.new" "$ca/index.txt"
}

# start_fakehap MODE SOCK ACCEPTS: a misbehaving admin socket peer
# (tests/fakehap.py MODE) on SOCK, one line per connection in ACCEPTS.
start_fakehap() {
	python3 "$ROOT/tests/fakehap.py" "$1" "$2" "$3" 2>>"$T/fakehap.log" &
	track $!
	wait_for test -S "$2" || fail "fakehap $1 did not listen"
}

start_fakeredis() {
	rm -f "$3.port"
	python3 "$ROOT/tests/fakeredis.py" "$1" "$2" "$3" 2>>"$T/fakeredis.log" &
	track $!
	wait_for test -s "$3.port" || fail "fakeredis $1 did not listen on $2"
}

vm_hwm() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }

find_faultd() {
	FAULTD=$ROOT/build/tests/faultd
	[ -x "$FAULTD" ] && return 0
	FAULTD=$T/faultd
	cc -D_GNU_SOURCE -std=c11 -O1 -o "$FAULTD" "$ROOT/tests/faultd.c" -lssl -lcrypto ||
		fail "cannot build tests/faultd.c"
}

start_faultd() {
	local port=$1
	shift
	rm -f "$T/faultd.port"
	"$FAULTD" serve -c "$CA/inter.pem" -k "$CA/inter.key" -s "$CA/ocsp.pem" -K "$CA/ocsp.key" \
		-p "$port" -P "$T/faultd.port" "$@" >/dev/null 2>>"$T/faultd.log" &
	FAULTD_PID=$!
	track $FAULTD_PID
	# -P writes the port file once it listens.
	wait_for eval '[ -s "$T/faultd.port" ] || ! kill -0 $FAULTD_PID 2>/dev/null' &&
		kill -0 $FAULTD_PID 2>/dev/null || fail "faultd did not listen on $port"
}

start_redis() {
	REDIS_PORT=${REDIS_PORT:-$(free_port)}
	REDIS_PASS=${REDIS_PASS:-pw-$RANDOM$RANDOM}
	redis-server --save '' --appendonly no --port "$REDIS_PORT" --bind 127.0.0.1 \
		--requirepass "$REDIS_PASS" --dir "$T" "$@" >>"$T/redis.log" 2>&1 &
	REDIS_PID=$!
	track $REDIS_PID
	REDIS_URL=redis://:$REDIS_PASS@127.0.0.1:$REDIS_PORT
	wait_for eval '[ "$(rcli ping 2>/dev/null)" = PONG ] || ! kill -0 $REDIS_PID 2>/dev/null' &&
		kill -0 $REDIS_PID 2>/dev/null || fail "redis-server on $REDIS_PORT did not start: $(tail -n 3 "$T/redis.log")"
}

stop_redis() {
	kill -KILL "$REDIS_PID" 2>/dev/null
	wait "$REDIS_PID" 2>/dev/null
	return 0
}

rcli() { redis-cli -p "$REDIS_PORT" -a "$REDIS_PASS" --no-auth-warning "$@"; }

start_fleet_node() {
	local n=$1 log=$2
	shift 2
	start_ocspd "$log" --ca-file "$CA/root.pem" --redis "$REDIS_URL" --redis-node "node$n" "$@"
}

fleet_copies() {
	local n=$1 k name
	shift
	for k in $(seq 1 "$n"); do
		mkdir -p "$T/node$k"
		for name; do cp "$CERTS/$name.pem" "$T/node$k/$name.pem"; done
	done
}

fleet_good() {
	local k n nodes=$1
	shift
	for k in $nodes; do
		for n; do [ "$(staple_status "$T/node$k/$n.pem")" = good ] || return 1; done
	done
}

fleet_renewed() {
	local k
	for k in $1; do
		[ "$(this_update_file "$T/node$k/$2.pem.ocsp")" != "$3" ] || return 1
		[ "$(staple_status "$T/node$k/$2.pem")" = good ] || return 1
	done
}

write_haproxy_cfg() {
	local cfg=$1 sock=$2 port=$3 crt=$4 line
	shift 4
	{
		echo global
		printf '\tstats socket %s level admin\n' "$sock"
		for line; do printf '\t%s\n' "$line"; done
		cat <<EOF
defaults
	mode http
	timeout connect 5s
	timeout client 30s
	timeout server 30s
frontend tls
	bind 127.0.0.1:$port ssl crt $crt
	http-request return status 200 content-type text/plain string ok
EOF
	} >"$cfg"
}

nginx_head() {
	local dir=$1 line
	shift
	mkdir -p "$dir/tmp"
	NGINX_CMD="nginx -p $dir -c $dir/nginx.conf -e $dir/error.log"
	echo "daemon off;"
	echo "worker_processes 1;"
	echo "pid $dir/nginx.pid;"
	echo "error_log $dir/error.log info;"
	for line; do echo "$line"; done
	cat <<EOF
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path $dir/tmp;
	proxy_temp_path $dir/tmp;
	fastcgi_temp_path $dir/tmp;
	uwsgi_temp_path $dir/tmp;
	scgi_temp_path $dir/tmp;
EOF
}

apache_head() {
	local dir=$1 mods=/usr/lib/apache2/modules
	cat <<EOF
ServerRoot $dir
DefaultRuntimeDir $dir
PidFile $dir/apache2.pid
ErrorLog $dir/error.log
LogLevel info
ServerName localhost
User nobody
Group nogroup
Listen 127.0.0.1:$2
LoadModule mpm_event_module $mods/mod_mpm_event.so
LoadModule authz_core_module $mods/mod_authz_core.so
LoadModule socache_shmcb_module $mods/mod_socache_shmcb.so
LoadModule ssl_module $mods/mod_ssl.so
StartServers 1
ServerLimit 1
ThreadsPerChild 4
MaxRequestWorkers 4
EOF
}

start_apache() {
	local conf=$1 log=${1%.conf}.log port
	port=$(awk '$1 == "Listen" { sub(/.*:/, "", $2); print $2; exit }' "$conf")
	apache2 -DFOREGROUND -f "$conf" >>"$log" 2>&1 &
	APACHE_PID=$!
	track $APACHE_PID
	wait_for eval '(echo >/dev/tcp/127.0.0.1/$port) 2>/dev/null || ! kill -0 $APACHE_PID 2>/dev/null' &&
		kill -0 $APACHE_PID 2>/dev/null || fail "apache2 -f $conf did not start: $(tail -n 3 "$log")"
}

haproxy_pid() {
	python3 - "$1" <<'PY' 2>/dev/null
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"show info\n")
d = b""
while True:
    c = s.recv(65536)
    if not c: break
    d += c
for l in d.decode().splitlines():
    if l.startswith("Pid: "): print(l[5:])
PY
}

start_haproxy() {
	local cfg=${!#} log sock
	sock=$(awk '$1 == "stats" && $2 == "socket" && / level admin/ { print $3; exit }' "$cfg")
	[ -n "$sock" ] || fail "$cfg: no admin stats socket"
	log=${cfg%.cfg}.log
	haproxy -db "${@:1:$#-1}" -f "$cfg" >>"$log" 2>&1 &
	HAPROXY_PID=$!
	track $HAPROXY_PID
	wait_for eval '[ -n "$(haproxy_pid "$sock")" ] || ! kill -0 $HAPROXY_PID 2>/dev/null' &&
		kill -0 $HAPROXY_PID 2>/dev/null || fail "haproxy -f $cfg did not start: $(tail -n 3 "$log")"
}

served_staple() {
	echo | openssl s_client -connect "127.0.0.1:$1" -servername "$2.test" -status 2>/dev/null |
		sed -n '/^OCSP response:/,/^---/p'
}

served_good() {
	local out serial
	out=$(served_staple "$1" "$2")
	serial=$(awk -v n="$2" '$1 == n { print $2 }' "$CA/serials")
	printf '%s\n' "$out" | grep -q "OCSP Response Status: successful" &&
		printf '%s\n' "$out" | grep -q "Cert Status: good" &&
		printf '%s\n' "$out" | grep -qi "Serial Number: 0*$serial\$"
}

this_update_served() { served_staple "$1" "$2" | sed -n 's/^ *This Update: //p' | head -1; }

this_update_file() {
	openssl ocsp -respin "$1" -resp_text -noverify 2>/dev/null |
		sed -n 's/^ *This Update: //p' | head -1
}

served_other() { [ "$(this_update_served "$1" "$2")" != "$3" ] && served_good "$1" "$2"; }

file_renewed() { [ "$(this_update_file "$1")" != "$2" ]; }

wait_file_renewed() {
	wait_for -t 40 file_renewed "$1" "$2" || fail "ocspd did not renew $1 (This Update still $2)"
	ok "ocspd renewed: $(this_update_file "$1")"
}

served_renewed() {
	local file
	file=$(this_update_file "$3")
	[ "$file" != "$4" ] && [ "$(this_update_served "$1" "$2")" = "$file" ]
}

staples_kept() {
	local when=$1 dir=$2 saved=$3 n
	shift 3
	for n; do
		cmp -s "$dir/$n.pem.ocsp" "$saved/$n.pem.ocsp" ||
			fail "$when: $n.pem.ocsp changed ($(staple_status "$dir/$n.pem"))"
	done
}

no_temp_files() {
	local when=$1 left
	shift
	left=$(find "$@" -name '*.ocspd-tmp.*' | head -5)
	[ -z "$left" ] || fail "$when: temporary files left: $left"
}

start_ocspd() {
	local log=$1
	shift
	"$OCSPD" "$@" >>"$log" 2>&1 &
	OCSPD_PID=$!
	track $OCSPD_PID
}

start_serving_ocspd() {
	local log=$1
	shift
	OPORT=$(free_port)
	start_ocspd "$log" --ca-file "$CA/root.pem" --serve-ocsp "127.0.0.1:$OPORT" "$@"
}

serving_site() {
	make_pki
	start_responder "$PKI" "$RESP_PORT" -nmin 10
	site=$T/site
	cert_dir "$site" "$1"
	start_serving_ocspd "$T/ocspd.log" -v --minimum-validity 590 "$site"
	wait_log "$T/ocspd.log" "$1.pem: staple stored" || fail "ocspd stored no staple for $1.pem"
}

cert_dir() {
	local dir=$1 a file
	shift
	mkdir -p "$dir" || fail "cannot make $dir"
	for a; do
		file=${a#*=}
		[ "$file" = "$a" ] && file=$a.pem
		cp "$CERTS/${a%%=*}.pem" "$dir/$file" || fail "cannot copy $CERTS/${a%%=*}.pem to $dir/$file"
	done
}

run_ocspd() {
	local log=$1 pid n=0 max=$((${RUN_DEADLINE:-120} * 10))
	shift
	"$OCSPD" "$@" >>"$log" 2>&1 &
	pid=$!
	track $pid
	while kill -0 $pid 2>/dev/null; do
		n=$((n + 1))
		if [ $n -ge $max ]; then
			kill -KILL $pid 2>/dev/null
			wait $pid 2>/dev/null
			fail "ocspd $* still running after ${RUN_DEADLINE:-120} s"
		fi
		sleep 0.1
	done
	wait $pid
	RC=$?
	return 0
}

stop_pid() {
	local p=$1 sig=${2:-TERM} n=0
	kill -"$sig" "$p" 2>/dev/null
	while kill -0 "$p" 2>/dev/null; do
		n=$((n + 1))
		if [ $n -ge $((WAIT * 10)) ]; then
			kill -KILL "$p" 2>/dev/null
			wait "$p" 2>/dev/null
			fail "pid $p did not exit within $WAIT s of SIG$sig"
		fi
		sleep 0.1
	done
	wait "$p" 2>/dev/null
	RC=$?
	return 0
}

wait_log() { wait_for grep -Eq -- "$2" "$1"; }

count_log() {
	local n
	n=$(grep -Ec -- "$2" "$1" 2>/dev/null)
	echo "${n:-0}"
}

staple_status() {
	local cert=$1 staple=${2:-$1.ocsp} out
	[ -e "$staple" ] || { echo missing; return; }
	[ -s "$staple" ] || { echo empty; return; }
	out=$(openssl ocsp -no_nonce -respin "$staple" -issuer "$CA/inter.pem" \
		-cert "$cert" -CAfile "$CA/root.pem" 2>&1)
	if ! printf '%s\n' "$out" | grep -q "^Response verify OK"; then
		echo invalid
		return
	fi
	case $out in
	*"$cert: good"*) echo good ;;
	*"$cert: revoked"*) echo revoked ;;
	*"$cert: unknown"*) echo unknown ;;
	*) echo invalid ;;
	esac
}

check_staple() {
	local s
	s=$(staple_status "$@")
	[ "$s" = good ] || fail "$(basename "$1"): staple is $s, expected good"
}

no_staple() {
	local s
	s=$(staple_status "$1")
	case $s in
	missing | empty) ;;
	*) fail "$(basename "$1"): staple is $s, expected none" ;;
	esac
}

ok() { echo "ok - $*"; }

dump_logs() {
	local f
	[ -n "$T" ] || return 0
	for f in "$T"/*.log; do
		[ -f "$f" ] || continue
		case $f in
		*/responder-*.log)
			echo "---- ${f#"$T"/}: $(responder_requests "$f") requests; last lines:"
			tail -n 3 "$f" ;;
		*)
			echo "---- ${f#"$T"/} (last 60 lines)"
			tail -n 60 "$f" ;;
		esac
	done
}

fail() {
	echo "FAIL: $TEST_NAME: $*"
	dump_logs
	exit 1
}

pass() {
	local f
	if [ -n "$T" ]; then
		for f in "$T"/*.log; do
			[ -f "$f" ] || continue
			if grep -Eq "ERROR: (Address|Leak|Thread)Sanitizer|runtime error:" "$f"; then
				fail "sanitizer report in ${f#"$T"/}"
			fi
		done
	fi
	echo "PASS: $TEST_NAME${1:+: $*}"
	exit 0
}

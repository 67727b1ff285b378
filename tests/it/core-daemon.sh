#!/bin/bash
# core-daemon: the daemon follows the watched directory (issue 3).
#  - a certificate copied in gets a verified staple within seconds (inotify);
#  - rewritten with a different certificate, it gets a new staple for that one;
#  - a junk file dropped in is reported and changes nothing for the others;
#  - a deleted certificate is forgotten (a log line), the daemon keeps running;
#  - files in a sub-directory are only seen with --recursive;
#  - SIGTERM exits 0 and leaves no temporary file.
. "$(dirname "$0")/../lib.sh"
setup
make_pki
start_responder "$PKI" "$RESP_PORT"

dir=$T/watched
mkdir -p "$dir/sub"
log=$T/ocspd.log
# A long refresh interval: pick-up must come from inotify, not from the rescan.
start_ocspd "$log" --ca-file "$CA/root.pem" --refresh-interval 300 "$dir"
pid=$OCSPD_PID
sleep 1
kill -0 $pid 2>/dev/null || fail "ocspd exited at start on an empty directory"
alive() { kill -0 $pid 2>/dev/null || fail "ocspd died"; }
is_good() { [ "$(staple_status "$1")" = good ]; }

# 1. New certificate: staple within seconds. Copy through a temp name + rename
#    like a deploy tool, and a plain cp for the second.
cp "$CERTS/good1.pem" "$dir/.tmp-deploy"
mv "$dir/.tmp-deploy" "$dir/site-a.pem"
cp "$CERTS/good2.pem" "$dir/site-b.pem"
wait_for is_good "$dir/site-a.pem" || fail "site-a.pem (renamed in) got no good staple"
wait_for is_good "$dir/site-b.pem" || fail "site-b.pem (copied in) got no good staple"
alive
ok "new certificates stapled"

# 2. Rewritten with a different certificate: the staple must follow (good3's serial).
before=$(responder_requests)
cp "$CERTS/good3.pem" "$dir/site-a.pem"
wait_for is_good "$dir/site-a.pem" || fail "site-a.pem rewritten with good3: no staple for the new certificate"
[ "$(responder_requests)" -gt "$before" ] || fail "no request for the rewritten certificate"
check_staple "$dir/site-b.pem"
alive
ok "rewritten certificate got a new staple"

# 3. Junk and a certificate without OCSP URL: reported, nothing else changes.
cp "$CERTS/notpem.pem" "$dir/junk.pem"
cp "$CERTS/noaia.pem" "$dir/noaia.pem"
wait_log "$log" "ocspd error: .*/junk\.pem: " || fail "no error line for junk.pem"
wait_log "$log" "ocspd error: .*/noaia\.pem: " || fail "no error line for noaia.pem"
alive
no_staple "$dir/junk.pem"
no_staple "$dir/noaia.pem"
ok "junk and noaia reported, daemon alive"

# 4. Sub-directory: not watched without --recursive.
cp "$CERTS/good1.pem" "$dir/sub/deep.pem"
cp "$CERTS/good2.pem" "$dir/site-c.pem"
wait_for is_good "$dir/site-c.pem" || fail "site-c.pem got no staple"
sleep 1
[ -e "$dir/sub/deep.pem.ocsp" ] && fail "sub/deep.pem stapled without --recursive"
ok "sub-directory ignored without --recursive"

# 5. Deleted: forgotten, logged, no crash; the others stay stapled.
lines=$(grep -c 'site-b\.pem' "$log")
rm "$dir/site-b.pem"
wait_for eval '[ "$(grep -c "site-b\.pem" "$log")" -gt "$lines" ]' ||
	fail "no log line after site-b.pem was deleted"
sleep 1
alive
[ -e "$dir/site-b.pem" ] && fail "site-b.pem reappeared"
check_staple "$dir/site-a.pem"
ok "deleted certificate forgotten"

# 6. SIGTERM: exit 0, no temporary files.
stop_pid $pid TERM
[ "$RC" = 0 ] || fail "SIGTERM: exit status $RC, expected 0"
leftover=$(find "$dir" -name '*ocspd-tmp*')
[ -z "$leftover" ] || fail "temporary files left: $leftover"
ok "SIGTERM exits 0"

# 7. --recursive sees the sub-directory.
start_ocspd "$T/ocspd-r.log" --ca-file "$CA/root.pem" --recursive "$dir"
wait_for is_good "$dir/sub/deep.pem" || fail "--recursive: sub/deep.pem got no staple"
cp "$CERTS/good2.pem" "$dir/sub/later.pem"
wait_for is_good "$dir/sub/later.pem" || fail "--recursive: new file in sub-directory got no staple"
mkdir "$dir/newsub"
cp "$CERTS/good1.pem" "$dir/newsub/n.pem"
wait_for is_good "$dir/newsub/n.pem" || fail "--recursive: file in a new sub-directory got no staple"
stop_pid $OCSPD_PID INT
[ "$RC" = 0 ] || fail "SIGINT: exit status $RC, expected 0"
ok "--recursive follows sub-directories, SIGINT exits 0"
pass

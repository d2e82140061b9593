#!/usr/bin/env bash
# A real TLS terminator (nginx) on 127.0.0.1 in front of the local Ray dashboard and S3 server,
# with a throwaway CA, so that raybridge's tests can talk HTTPS to both (CA pinning, a wrong CA,
# an ingress-style path prefix, SigV4 through a proxy, a dashboard behind an authenticating proxy).
#
#   scripts/tls-proxy.sh start     install nginx if missing, make the certificates, start (or
#                                  keep, or reload with a changed config) our nginx
#   scripts/tls-proxy.sh stop      stop our nginx and make sure it is gone; never fails
#   scripts/tls-proxy.sh status    print whether it runs and both listeners answer
#
# Listeners (127.0.0.1 only):
#   https://127.0.0.1:$RAY_TLS_PORT/      -> $RAY_UPSTREAM, every path as is
#   https://127.0.0.1:$RAY_TLS_PORT/ray/  -> $RAY_UPSTREAM with the /ray prefix stripped
#                                            (/ray/api/version reaches /api/version)
#   https://127.0.0.1:$S3_TLS_PORT/       -> the S3 server, Host header kept as the client sent
#                                            it (SigV4 signs it); any server name, so
#                                            virtual-hosted style (bucket.s3.localhost) works
#   https://127.0.0.1:$RAY_AUTH_PORT/     -> $RAY_UPSTREAM for requests with the header
#                                            `X-Proxy-Auth: <tls/proxy-auth.secret>`, else 401
#   https://127.0.0.1:$RAY_AUTH_PORT/basic/ -> $RAY_UPSTREAM (prefix stripped) for requests with
#                                            `Authorization: Basic <tls/proxy-basic.secret>`,
#                                            else 401; the Authorization header is taken off
#                                            before Ray (which reads it before X-Ray-Authorization)
# Env: RAY_TLS_PORT (default 8443), S3_TLS_PORT (default 9443), RAY_AUTH_PORT (default 8444), RAY_UPSTREAM (default
# http://127.0.0.1:8265), S3_UPSTREAM (default: S3_ENDPOINT from .run/s3.env, else
# http://127.0.0.1:${S3_PORT:-9000}). The upstreams are read at start only: after the S3 server
# moved to another port, run `start` again (it reloads nginx when the config changed).
#
# Produces under .run/: tls.env (RAY_TLS_URL, RAY_TLS_PREFIX_URL, S3_TLS_ENDPOINT, TLS_CA_FILE,
# TLS_WRONG_CA_FILE, RAY_AUTH_URL, RAY_AUTH_SECRET_FILE, RAY_AUTH_BASIC_FILE) and tls/: ca.pem +
# ca.key (the CA), wrong-ca.pem (an unrelated CA, for negative tests), server.pem + server.key
# (leaf for 127.0.0.1, localhost, *.localhost, s3.localhost, *.s3.localhost), proxy-auth.secret
# and proxy-basic.secret (the authenticating listener's values, made once, owner-only), nginx.conf,
# nginx.pid, error.log, access.log, tmp/.
. "$(dirname "$0")/lib.sh"

SERVICE=nginx
TLS="$RUN/tls"
CONF="$TLS/nginx.conf"
PID_FILE="$TLS/nginx.pid"
ERROR_LOG="$TLS/error.log"
SERVICE_LOG=$ERROR_LOG
ACCESS_LOG="$TLS/access.log"
ENV_FILE="$RUN/tls.env"
RAY_TLS_PORT="${RAY_TLS_PORT:-8443}"
S3_TLS_PORT="${S3_TLS_PORT:-9443}"
RAY_AUTH_PORT="${RAY_AUTH_PORT:-8444}"
RAY_UPSTREAM="${RAY_UPSTREAM:-http://127.0.0.1:8265}"
START_TIMEOUT=10

# The leaf's names. Stored next to the leaf (server.san): a change here makes `start` reissue it.
SAN="IP:127.0.0.1,DNS:localhost,DNS:*.localhost,DNS:s3.localhost,DNS:*.s3.localhost"
CA_DAYS=90
LEAF_DAYS=30
RENEW_BEFORE=$((2 * 86400)) # reissue what expires within 2 days, so a test run never sees expiry

# Does https://127.0.0.1:$1/ complete a TLS handshake verified with our CA and give any HTTP
# answer? A 502 (upstream down) or 403 (S3 without a signature) counts: nginx is up.
answers() {
  local code
  code=$(curl -sS --noproxy '*' -o /dev/null -w '%{http_code}' --max-time 2 --cacert "$TLS/ca.pem" \
    "https://127.0.0.1:$1/" 2>/dev/null) || return 1
  [ "$code" != 000 ]
}
service_answers() { answers "$RAY_TLS_PORT" && answers "$S3_TLS_PORT" && answers "$RAY_AUTH_PORT"; }

# Our nginx masters: nginx keeps its arguments in the master's title. (Not just the pid file: it
# may be stale or lost, and the pid reused.)
our_masters() { pids_by_cmdline "^nginx: master process .* -c $CONF " " -c $CONF "; }

# Our masters and their workers. Workers must be listed too: a KILLed master leaves them behind.
# shellcheck disable=SC2046  # one pid per word
service_pids() { with_descendants $(our_masters); }

# An http://host:port URL -> host:port (nginx `server` syntax). Only plain HTTP upstreams.
upstream_addr() {
  local url=$1
  [[ $url =~ ^http://([^/?#]+)/?$ ]] || die "upstream must look like http://HOST:PORT, got: $url"
  local hp=${BASH_REMATCH[1]}
  [[ $hp == *:* ]] || hp="$hp:80"
  echo "$hp"
}

# ---------------------------------------------------------------------------------------------
# nginx from Debian

ensure_nginx() {
  command -v nginx >/dev/null 2>&1 && return 0
  [ -x /usr/sbin/nginx ] && return 0
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  # On bookworm `nginx` is the binary itself (ssl and proxy built in); nginx-light only adds
  # the echo module on top. Older releases made `nginx` a metapackage, hence the fallback.
  local pkg="" p cand attempt
  for attempt in 1 2; do
    for p in nginx nginx-light; do
      cand=$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/ { print $2 }')
      if [ -n "$cand" ] && [ "$cand" != "(none)" ]; then
        pkg=$p
        break 2
      fi
    done
    [ "$attempt" = 1 ] || break
    log "no nginx candidate in the apt lists: apt-get update"
    $sudo apt-get update -qq
  done
  [ -n "$pkg" ] || die "neither nginx nor nginx-light is installable from apt"

  log "installing $pkg from Debian"
  # The package's postinst would start the system nginx (default site on port 80): a
  # policy-rc.d that answers 101 forbids it. Docker images usually ship one already; we add one
  # only for the install if there is none, and remove it again.
  local policy=/usr/sbin/policy-rc.d added_policy=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# temporary, by raybridge scripts/tls-proxy.sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod 755 "$policy"
    added_policy=1
  fi
  local rc=0
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$pkg" >/dev/null || rc=$?
  [ -z "$added_policy" ] || $sudo rm -f "$policy"
  [ "$rc" = 0 ] || die "apt-get install $pkg failed"
  # We only ever run nginx with our own config; should someone start the system service anyway,
  # it must not listen on port 80. Under systemd the package also enables the unit: undo that.
  $sudo rm -f /etc/nginx/sites-enabled/default
  if [ -d /run/systemd/system ]; then $sudo systemctl disable --quiet nginx 2>/dev/null || true; fi
  command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || die "nginx is not on PATH after installing $pkg"
}

nginx_bin() { command -v nginx 2>/dev/null || echo /usr/sbin/nginx; }

# ---------------------------------------------------------------------------------------------
# Certificates

# Does certificate $1 stay valid for RENEW_BEFORE more seconds?
fresh() { openssl x509 -noout -checkend "$RENEW_BEFORE" -in "$1" >/dev/null 2>&1; }

# Self-signed CA: $1 = file stem (ca, wrong-ca), $2 = common name.
make_ca() {
  local stem=$1 cn=$2
  # Our own minimal config: the system openssl.cnf's v3_ca section would add its own
  # extensions and clash with ours.
  openssl req -x509 -new -newkey rsa:2048 -nodes -sha256 -days "$CA_DAYS" \
    -keyout "$TLS/$stem.key.tmp" -out "$TLS/$stem.pem.tmp" -subj "/O=raybridge tests/CN=$cn" \
    -set_serial "0x$(openssl rand -hex 16)" \
    -config <(printf '[req]\ndistinguished_name=dn\nx509_extensions=v3_ca\n[dn]\n[v3_ca]\n%s\n%s\n%s\n%s\n' \
      'basicConstraints=critical,CA:TRUE' 'keyUsage=critical,keyCertSign,cRLSign' \
      'subjectKeyIdentifier=hash' 'authorityKeyIdentifier=keyid:always') 2>/dev/null ||
    die "openssl could not create $stem"
  mv "$TLS/$stem.key.tmp" "$TLS/$stem.key"
  mv "$TLS/$stem.pem.tmp" "$TLS/$stem.pem"
}

make_leaf() {
  openssl req -new -newkey rsa:2048 -nodes -sha256 -keyout "$TLS/server.key.tmp" \
    -out "$TLS/server.csr" -subj "/O=raybridge tests/CN=localhost" \
    -config <(printf '[req]\ndistinguished_name=dn\n[dn]\n') 2>/dev/null ||
    die "openssl could not create the server key"
  openssl x509 -req -in "$TLS/server.csr" -CA "$TLS/ca.pem" -CAkey "$TLS/ca.key" -sha256 \
    -days "$LEAF_DAYS" -set_serial "0x$(openssl rand -hex 16)" -out "$TLS/server.pem.tmp" \
    -extensions v3_leaf \
    -extfile <(printf '[v3_leaf]\n%s\n%s\n%s\n%s\n%s\n%s\n' \
      'basicConstraints=critical,CA:FALSE' 'keyUsage=critical,digitalSignature,keyEncipherment' \
      'extendedKeyUsage=serverAuth' "subjectAltName=$SAN" \
      'subjectKeyIdentifier=hash' 'authorityKeyIdentifier=keyid:always') 2>/dev/null ||
    die "openssl could not sign the server certificate"
  rm -f "$TLS/server.csr"
  mv "$TLS/server.key.tmp" "$TLS/server.key"
  mv "$TLS/server.pem.tmp" "$TLS/server.pem"
  printf '%s\n' "$SAN" >"$TLS/server.san"
}

# Makes what is missing, stale or no longer matching. Sets CERTS_CHANGED=1 when the CA or the
# leaf was (re)issued, so that a running nginx is reloaded.
CERTS_CHANGED=""
ensure_certs() {
  # Keys readable by the owner only (nginx's master, which runs as the caller, reads them).
  local old_umask
  old_umask=$(umask)
  umask 077
  if [ ! -s "$TLS/ca.pem" ] || [ ! -s "$TLS/ca.key" ] || ! fresh "$TLS/ca.pem"; then
    log "creating the test CA ($TLS/ca.pem)"
    make_ca ca "raybridge test CA"
    rm -f "$TLS/server.pem" # signed by the old CA
    CERTS_CHANGED=1
  fi
  if [ ! -s "$TLS/wrong-ca.pem" ] || ! fresh "$TLS/wrong-ca.pem"; then
    log "creating the unrelated CA for negative tests ($TLS/wrong-ca.pem)"
    make_ca wrong-ca "raybridge unrelated CA"
  fi
  if [ ! -s "$TLS/server.pem" ] || [ ! -s "$TLS/server.key" ] || ! fresh "$TLS/server.pem" ||
    [ "$(cat "$TLS/server.san" 2>/dev/null || true)" != "$SAN" ] ||
    ! openssl verify -CAfile "$TLS/ca.pem" "$TLS/server.pem" >/dev/null 2>&1; then
    log "issuing the server certificate ($SAN)"
    make_leaf
    CERTS_CHANGED=1
  fi
  # The authenticating listener's values: random, kept across starts (a test may be reading them).
  [ -s "$TLS/proxy-auth.secret" ] || openssl rand -hex 24 >"$TLS/proxy-auth.secret"
  [ -s "$TLS/proxy-basic.secret" ] || printf 'raybridge:%s' "$(openssl rand -hex 24)" | base64 -w0 >"$TLS/proxy-basic.secret"
  umask "$old_umask"
  # The CAs are public: let any local user's test read them.
  chmod 644 "$TLS/ca.pem" "$TLS/wrong-ca.pem" "$TLS/server.pem"
}

# ---------------------------------------------------------------------------------------------
# nginx config

s3_upstream() {
  if [ -n "${S3_UPSTREAM:-}" ]; then
    echo "$S3_UPSTREAM"
  elif [ -s "$RUN/s3.env" ] && grep -q '^S3_ENDPOINT=' "$RUN/s3.env"; then
    sed -n 's/^S3_ENDPOINT=//p' "$RUN/s3.env" | head -n 1
  else
    echo "http://127.0.0.1:${S3_PORT:-9000}"
  fi
}

# Prints the config for the current env.
render_conf() {
  local ray_addr s3_addr user_line="" auth_secret basic_secret
  ray_addr=$(upstream_addr "$RAY_UPSTREAM")
  auth_secret=$(cat "$TLS/proxy-auth.secret")
  basic_secret=$(cat "$TLS/proxy-basic.secret")
  s3_addr=$(upstream_addr "$(s3_upstream)")
  # As root, nginx would run its workers as `nobody`, which may not be able to enter the
  # checkout (temp files under .run/tls/tmp): keep them as the caller. Loopback-only test
  # fixture. As non-root the directive is meaningless and nginx would warn about it.
  [ "$(id -u)" -ne 0 ] || user_line="user $(id -un) $(id -gn);"
  cat <<EOF
# Generated by scripts/tls-proxy.sh; edits are overwritten by the next start.
$user_line
worker_processes 2;
pid $PID_FILE;
error_log $ERROR_LOG warn;
# Graceful stop (QUIT) must not wait for hour-long log streams to end.
worker_shutdown_timeout 3s;

events {
  worker_connections 1024;
}

http {
  access_log $ACCESS_LOG;
  # Debian compiles in /var/lib/nginx/* and /var/log/nginx: everything of ours lives here.
  client_body_temp_path $TLS/tmp/client_body;
  proxy_temp_path $TLS/tmp/proxy;
  fastcgi_temp_path $TLS/tmp/fastcgi;
  uwsgi_temp_path $TLS/tmp/uwsgi;
  scgi_temp_path $TLS/tmp/scgi;

  ssl_certificate $TLS/server.pem;
  ssl_certificate_key $TLS/server.key;
  ssl_protocols TLSv1.2 TLSv1.3;
  ssl_session_cache shared:tls_proxy:1m;

  # A pass-through proxy: nothing buffered either way (log follows and job logs stream, large
  # uploads start at once), no body size limit, long quiet streams allowed, HTTP/1.1 with
  # keep-alive to the upstream (chunked responses pass through as they come).
  proxy_http_version 1.1;
  proxy_buffering off;
  proxy_request_buffering off;
  proxy_read_timeout 3600s;
  proxy_send_timeout 3600s;
  send_timeout 3600s;
  client_body_timeout 3600s;
  client_max_body_size 0;
  proxy_redirect off;
  # Request headers go through untouched, also those with an underscore (nginx drops them by
  # default) and long ones (SigV4 Authorization, bearer tokens).
  underscores_in_headers on;
  large_client_header_buffers 8 64k;

  # Empty Connection header (keep-alive to the upstream) unless the client upgrades (WebSocket).
  map \$http_upgrade \$tls_proxy_connection {
    default upgrade;
    '' '';
  }
  # /ray/REST (query included) -> /REST, taken from the raw request line: a rewrite or a
  # proxy_pass with a URI would re-encode the decoded path (%2F etc.).
  map \$request_uri \$tls_proxy_ray_rest {
    "~^/ray(?<rest>/.*)\$" \$rest;
    default /;
  }
  map \$request_uri \$tls_proxy_basic_rest {
    "~^/basic(?<rest>/.*)\$" \$rest;
    default /;
  }

  upstream ray_dashboard {
    server $ray_addr;
    keepalive 16;
  }
  upstream s3_server {
    server $s3_addr;
    keepalive 16;
  }

  server {
    listen 127.0.0.1:$RAY_TLS_PORT ssl;
    server_name _;
    # The Host the client used, as an ingress passes it on.
    proxy_set_header Host \$http_host;
    proxy_set_header Upgrade \$http_upgrade;
    proxy_set_header Connection \$tls_proxy_connection;

    location / {
      # No URI part: the request line goes upstream exactly as the client sent it.
      proxy_pass http://ray_dashboard;
    }
    # Ingress-style prefix. A request for bare /ray gets nginx's automatic 301 to /ray/.
    location /ray/ {
      proxy_pass http://ray_dashboard\$tls_proxy_ray_rest;
    }
  }

  # A dashboard behind an authenticating proxy: nothing reaches Ray without the proxy's header.
  server {
    listen 127.0.0.1:$RAY_AUTH_PORT ssl;
    server_name _;
    proxy_set_header Host \$http_host;
    proxy_set_header Upgrade \$http_upgrade;
    proxy_set_header Connection \$tls_proxy_connection;

    location / {
      if (\$http_x_proxy_auth != "$auth_secret") {
        return 401;
      }
      proxy_pass http://ray_dashboard;
    }
    location /basic/ {
      if (\$http_authorization != "Basic $basic_secret") {
        return 401;
      }
      # A proxy_set_header here replaces the server's: all of them again, and the proxy's own
      # credentials taken off, as a real one does (Ray would read them as its token).
      proxy_set_header Host \$http_host;
      proxy_set_header Upgrade \$http_upgrade;
      proxy_set_header Connection \$tls_proxy_connection;
      proxy_set_header Authorization "";
      proxy_pass http://ray_dashboard\$tls_proxy_basic_rest;
    }
  }

  server {
    listen 127.0.0.1:$S3_TLS_PORT ssl;
    # Any name: path style (127.0.0.1:$S3_TLS_PORT) and virtual-hosted (bucket.s3.localhost).
    server_name _;
    location / {
      # SigV4 signs the Host header: pass it on exactly as the client sent it (port included).
      # Every proxy_set_header here replaces the http-level ones, hence Connection again.
      proxy_set_header Host \$http_host;
      proxy_set_header Connection "";
      proxy_pass http://s3_server;
    }
  }
}
EOF
}

# `nginx -t` on our config; prints nginx's complaint and fails if it is invalid.
check_conf() {
  local out
  if ! out=$("$(nginx_bin)" -t -q -c "$CONF" -p "$TLS/" -e "$ERROR_LOG" 2>&1); then
    printf '%s\n' "$out" >&2
    return 1
  fi
}

write_env() {
  write_env_file "$ENV_FILE" "RAY_TLS_URL=https://127.0.0.1:$RAY_TLS_PORT" \
    "RAY_TLS_PREFIX_URL=https://127.0.0.1:$RAY_TLS_PORT/ray/" "S3_TLS_ENDPOINT=https://127.0.0.1:$S3_TLS_PORT" \
    "TLS_CA_FILE=$TLS/ca.pem" "TLS_WRONG_CA_FILE=$TLS/wrong-ca.pem" "RAY_AUTH_URL=https://127.0.0.1:$RAY_AUTH_PORT" \
    "RAY_AUTH_SECRET_FILE=$TLS/proxy-auth.secret" "RAY_AUTH_BASIC_FILE=$TLS/proxy-basic.secret"
}

do_start() {
  [ $# -eq 0 ] || usage
  ensure_nginx
  mkdir -p "$TLS/tmp"
  ensure_certs

  render_conf >"$CONF.new"
  local masters
  masters=$(our_masters)
  if [ -n "$masters" ]; then
    # nginx writes its pid file only when it starts: put back one that got lost.
    [ -s "$PID_FILE" ] || echo "${masters%%[[:space:]]*}" >"$PID_FILE"
    if [ -z "$CERTS_CHANGED" ] && cmp -s "$CONF.new" "$CONF" && service_answers; then
      rm -f "$CONF.new"
      write_env
      log "already running (pid $masters)"
      return 0
    fi
    # Changed upstreams, ports or certificates: reload in place (HUP re-reads config and
    # certificates and rebinds listeners), after checking the new config.
    cp "$CONF" "$CONF.old" 2>/dev/null || true
    mv "$CONF.new" "$CONF"
    if ! check_conf; then
      [ -f "$CONF.old" ] && mv "$CONF.old" "$CONF"
      die "the new nginx config is invalid; kept the running one"
    fi
    rm -f "$CONF.old"
    log "config or certificates changed: reloading nginx (pid $masters)"
    # shellcheck disable=SC2086  # one pid per word
    kill -HUP $masters
    # Old workers may still hand out the old certificate for a moment: wait for the new one.
    await_answer "$START_TIMEOUT"
    write_env
    log "reloaded: https://127.0.0.1:$RAY_TLS_PORT -> $RAY_UPSTREAM, https://127.0.0.1:$S3_TLS_PORT -> $(s3_upstream)"
    return 0
  fi

  require_free_ports "$RAY_TLS_PORT" "$S3_TLS_PORT" "$RAY_AUTH_PORT"
  mv "$CONF.new" "$CONF"
  check_conf || die "invalid nginx config $CONF"
  rm -f "$PID_FILE"
  log "starting nginx: https://127.0.0.1:$RAY_TLS_PORT -> $RAY_UPSTREAM (also under /ray/), https://127.0.0.1:$S3_TLS_PORT -> $(s3_upstream), https://127.0.0.1:$RAY_AUTH_PORT -> $RAY_UPSTREAM with a header"
  # nginx daemonizes itself once its listeners are bound. -e: the compiled-in
  # /var/log/nginx/error.log is opened before the config is read.
  if ! run_detached "$ERROR_LOG" "$(nginx_bin)" -c "$CONF" -p "$TLS/" -e "$ERROR_LOG"; then
    service_logs
    die "nginx did not start (log: $ERROR_LOG)"
  fi
  await_answer "$START_TIMEOUT"
  write_env
  log "up (pid $(cat "$PID_FILE" 2>/dev/null || echo '?')); settings in $ENV_FILE"
}

do_stop() {
  # Orphaned workers of a master that was KILLed cannot be told apart from other nginx workers
  # any more; do not guess.
  if [ -z "$(our_masters)" ]; then
    log "not running"
  else
    # QUIT: graceful; worker_shutdown_timeout bounds how long open streams keep it.
    STOP_SIGNALS="QUIT TERM KILL" stop_pids || true
    log "stopped"
  fi
  rm -f "$PID_FILE" "$ENV_FILE"
}

do_status() { service_status "https://127.0.0.1:$RAY_TLS_PORT, https://127.0.0.1:$S3_TLS_PORT, https://127.0.0.1:$RAY_AUTH_PORT; upstreams in $CONF"; }

service_main "$@"

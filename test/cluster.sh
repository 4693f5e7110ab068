# test/cluster.sh: a throwaway PostgreSQL cluster for tests and the demo.
# Source it, then call cluster_start; cluster_stop runs on exit.
#   cluster_start [--encoding ENC]   initdb + start; exports PGHOST, PGPORT,
#                                    PGUSER, PGDATABASE, BERT_SHARED,
#                                    CLUSTER_DIR
# The server refuses to run as root, so as root it runs as the unprivileged
# "postgres" user; it listens only on a Unix socket in its own temporary
# directory, on a port no one else uses.

ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
PGBIN=$(pg_config --bindir)
# Debian's pg_config names the client bindir; the server lives here
[ -x "$PGBIN/initdb" ] || PGBIN=/usr/lib/postgresql/$(pg_config --version | sed 's/[^0-9]*\([0-9]*\).*/\1/')/bin

as_pg() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
	local port
	for _ in $(seq 1 200); do
		port=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return
		fi
	done
	echo 5432
}

# The models must be readable by the server's user wherever the checkout
# lives; if they are not (a home directory closed to others), copy them.
shared_for_server() {
	local shared
	shared=$(cd "$ROOT/../shared" && pwd)
	if as_pg test -r "$shared/models/bert-mini-sentiment/model.safetensors"; then
		BERT_SHARED=$shared
	else
		BERT_SHARED=$CLUSTER_DIR/shared
		mkdir -p "$BERT_SHARED"
		cp -r "$shared/models" "$shared/testmodels" "$BERT_SHARED/"
		chmod -R a+rX "$BERT_SHARED"
	fi
	export BERT_SHARED
}

cluster_start() {
	local encoding=UTF8
	[ "${1:-}" = "--encoding" ] && encoding=$2
	CLUSTER_DIR=$(mktemp -d /tmp/bert-cluster.XXXXXX)
	chmod 755 "$CLUSTER_DIR"
	[ "$(id -u)" = 0 ] && chown postgres "$CLUSTER_DIR"
	PGPORT=$(free_port)
	as_pg "$PGBIN/initdb" -D "$CLUSTER_DIR/data" -U postgres -A trust \
		-E "$encoding" --locale=C >"$CLUSTER_DIR/initdb.log" 2>&1 ||
		{ cat "$CLUSTER_DIR/initdb.log"; return 1; }
	as_pg "$PGBIN/pg_ctl" -D "$CLUSTER_DIR/data" -l "$CLUSTER_DIR/server.log" -w \
		-o "-p $PGPORT -k $CLUSTER_DIR -c listen_addresses=''" start >/dev/null ||
		{ cat "$CLUSTER_DIR/server.log"; return 1; }
	export PGHOST=$CLUSTER_DIR PGPORT PGUSER=postgres PGDATABASE=postgres CLUSTER_DIR
	shared_for_server
	trap cluster_stop EXIT
}

cluster_stop() {
	[ -n "${CLUSTER_DIR:-}" ] || return 0
	as_pg "$PGBIN/pg_ctl" -D "$CLUSTER_DIR/data" -m fast -w stop >/dev/null 2>&1
	if grep -q "terminated by signal" "$CLUSTER_DIR/server.log" 2>/dev/null; then
		echo "BACKEND CRASH in server log:" >&2
		grep -B2 -A2 "terminated by signal" "$CLUSTER_DIR/server.log" >&2
		CLUSTER_CRASHED=1
	fi
	rm -rf "$CLUSTER_DIR"
	CLUSTER_DIR=
}

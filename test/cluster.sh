# test/cluster.sh: throwaway PostgreSQL clusters for tests and the demo.
# Source it, then call cluster_start; cluster_stop runs on exit.
#   cluster_start [--encoding ENC]   initdb + start; exports PGHOST, PGPORT,
#                                    PGUSER, PGDATABASE, BERT_SHARED,
#                                    CLUSTER_DIR
# Several servers at once (the nodes of a distributed cluster), independent
# of the one above and of the PG* variables:
#   node_start NAME [-c NAME=VALUE]...  initdb + start one more server with
#                                    these settings; sets NODE_DIR[NAME]
#                                    (its directory and socket directory)
#                                    and NODE_PORT[NAME]
#   nodes_stop                       stops every node (the caller traps it);
#                                    sets NODES_CRASHED=1 if a server log
#                                    shows a backend killed by a signal
# A server refuses to run as root, so as root it runs as the unprivileged
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
# lives; if they are not (a home directory closed to others), copy them
# into DIR (default: $CLUSTER_DIR).
shared_for_server() {
	local shared
	shared=$(cd "$ROOT/../shared" && pwd)
	if as_pg test -r "$shared/models/bert-mini-sentiment/model.safetensors"; then
		BERT_SHARED=$shared
	else
		BERT_SHARED=${1:-$CLUSTER_DIR}/shared
		mkdir -p "$BERT_SHARED/data"
		cp -r "$shared/models" "$shared/testmodels" "$BERT_SHARED/"
		cp -r "$shared/data/reviews" "$BERT_SHARED/data/"
		chmod -R a+rX "$BERT_SHARED"
	fi
	export BERT_SHARED
}

# server_create DIR PORT ENCODING [SERVER OPTION...]: initdb in DIR/data,
# start it with its socket in DIR, log in DIR/server.log.
server_create() {
	local dir=$1 port=$2 encoding=$3
	shift 3
	as_pg "$PGBIN/initdb" -D "$dir/data" -U postgres -A trust \
		-E "$encoding" --locale=C >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log"; return 1; }
	as_pg "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
		-o "-p $port -k $dir -c listen_addresses='' $*" start >/dev/null ||
		{ cat "$dir/server.log"; return 1; }
}

# server_crashed LOG: true (and prints the lines) if a backend died by a signal
server_crashed() {
	grep -q "terminated by signal" "$1" 2>/dev/null || return 1
	echo "BACKEND CRASH in server log $1:" >&2
	grep -B2 -A2 "terminated by signal" "$1" >&2
}

# a fresh temporary directory the server's user owns
server_dir() {
	local dir
	dir=$(mktemp -d /tmp/bert-cluster.XXXXXX)
	chmod 755 "$dir"
	[ "$(id -u)" = 0 ] && chown postgres "$dir"
	echo "$dir"
}

cluster_start() {
	local encoding=UTF8
	[ "${1:-}" = "--encoding" ] && encoding=$2
	CLUSTER_DIR=$(server_dir)
	PGPORT=$(free_port)
	server_create "$CLUSTER_DIR" "$PGPORT" "$encoding" || return 1
	export PGHOST=$CLUSTER_DIR PGPORT PGUSER=postgres PGDATABASE=postgres CLUSTER_DIR
	shared_for_server
	trap cluster_stop EXIT
}

cluster_stop() {
	[ -n "${CLUSTER_DIR:-}" ] || return 0
	as_pg "$PGBIN/pg_ctl" -D "$CLUSTER_DIR/data" -m fast -w stop >/dev/null 2>&1
	server_crashed "$CLUSTER_DIR/server.log" && CLUSTER_CRASHED=1
	rm -rf "$CLUSTER_DIR"
	CLUSTER_DIR=
}

declare -gA NODE_DIR NODE_PORT

node_start() {
	local name=$1 dir port
	shift
	dir=$(server_dir)
	NODE_DIR[$name]=$dir
	port=$(free_port)
	# free_port probes TCP, and these servers listen on Unix sockets only:
	# keep the nodes' ports (and so Citus's names of them) distinct here
	while printf '%s\n' "${NODE_PORT[@]}" | grep -qx "$port"; do port=$(free_port); done
	NODE_PORT[$name]=$port
	server_create "$dir" "$port" UTF8 "$@"
}

nodes_stop() {
	local name
	for name in "${!NODE_DIR[@]}"; do
		as_pg "$PGBIN/pg_ctl" -D "${NODE_DIR[$name]}/data" -m fast -w stop >/dev/null 2>&1
		server_crashed "${NODE_DIR[$name]}/server.log" && NODES_CRASHED=1
		rm -rf "${NODE_DIR[$name]}"
		unset "NODE_DIR[$name]" "NODE_PORT[$name]"
	done
	return 0
}

#!/usr/bin/env bash
# test/install_citus.sh: installs Citus 13.2.2 (../shared/citus, a test
# dependency of the citus suite, never the product's) into the PostgreSQL 15
# that `pg_config` on PATH names.  Idempotent and quiet when it is there.
#
# ../shared/citus/install.sh unpacks into the system paths
# (/usr/lib/postgresql/15/lib, /usr/share/postgresql/15/extension).  For the
# system PostgreSQL it is run as it is; for a relocated copy
# (PREFIX/usr/lib/postgresql/15/lib) it is run in a private mount namespace
# where the copy's directories are mounted over the system paths, so the
# same script installs into the copy and the system's PostgreSQL is not
# touched.  As a user other than root it only checks.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
INSTALL=$ROOT/../shared/citus/install.sh
VERSION=13.2-1
libdir=$(pg_config --pkglibdir)
sharedir=$(pg_config --sharedir)

if [ -f "$libdir/citus.so" ] &&
	grep -qs "default_version = '$VERSION'" "$sharedir/extension/citus.control"; then
	exit 0
fi
if [ ! -f "$INSTALL" ]; then
	echo "install_citus: $INSTALL not found (../shared beside the checkout?)" >&2
	exit 1
fi
if [ "$(id -u)" != 0 ]; then
	echo "install_citus: Citus $VERSION is not in $libdir (run as root: bash test/install_citus.sh)" >&2
	exit 1
fi

major=$(pg_config --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')
syslib=/usr/lib/postgresql/$major
sysshare=/usr/share/postgresql/$major
prefix=${libdir%"$syslib/lib"}
if [ "$prefix" = "" ] && [ "$sharedir" = "$sysshare" ]; then
	bash "$INSTALL"
	exit
fi
if [ "$libdir" != "$prefix$syslib/lib" ] || [ "$sharedir" != "$prefix$sysshare" ]; then
	echo "install_citus: cannot map $libdir and $sharedir onto $syslib and $sysshare" >&2
	exit 1
fi
if [ ! -d "$syslib" ] || [ ! -d "$sysshare" ]; then
	echo "install_citus: $syslib or $sysshare missing: nothing to mount $prefix's copy over" >&2
	exit 1
fi
unshare --mount --propagation private bash -c '
	mount --bind "$1$2" "$2" && mount --bind "$1$3" "$3" && bash "$4"' \
	_ "$prefix" "$syslib" "$sysshare" "$INSTALL"

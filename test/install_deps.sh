#!/usr/bin/env bash
# Installs what building and testing bert needs on Debian 12 (run as root;
# as another user it only checks), Citus included (test/install_citus.sh).
# Idempotent and quiet when all is there.
set -euo pipefail

packages=(build-essential postgresql-15 postgresql-server-dev-15 clang-14 libclang-rt-14-dev
	libopenblas-dev libutf8proc-dev python3 nodejs npm)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done
# node and npm may come from elsewhere than Debian's packages
if command -v node >/dev/null && command -v npm >/dev/null; then
	missing=("${missing[@]/nodejs/}")
	missing=("${missing[@]/npm/}")
fi
read -r -a missing <<<"${missing[*]}"
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "missing packages: ${missing[*]} (run as root: apt-get install -y ${missing[*]})" >&2
		exit 1
	fi
	echo "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Citus, for the citus suite: not in Debian 12, built in ../shared/citus
bash "$(dirname "$0")/install_citus.sh"

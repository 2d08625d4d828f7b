#!/usr/bin/env bash
# Make sure the services the test suite talks to are up: PostgreSQL and Redis on
# this machine, and Debian's Chromium for the browser tests. Starts or installs what
# is missing (as root, the way this project's machines run), and says so.
set -euo pipefail

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }

if ! pg_up; then
  echo "[services] PostgreSQL is not answering on 127.0.0.1:5432; starting it"
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)
  if [ -n "$version" ]; then
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  fi
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
  pg_up || { echo "[services] PostgreSQL is still down: install and start it (postgres user, trust auth on 127.0.0.1:5432)."; exit 1; }
fi

if ! redis_up; then
  echo "[services] Redis is not answering on 127.0.0.1:6379; starting it"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
  for _ in $(seq 1 20); do redis_up && break; sleep 0.5; done
  redis_up || { echo "[services] Redis is still down: install redis-server."; exit 1; }
fi

if [ ! -x /usr/bin/chromium ]; then
  echo "[services] installing Debian's chromium for the browser tests"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi

#!/usr/bin/env bash
# Make sure PostgreSQL and RabbitMQ answer on 127.0.0.1; start them if they are
# installed but stopped, install them with apt only if they are missing.
# With --management, also enable RabbitMQ's management plugin (nameko's test
# fixtures create a throwaway vhost per test through its HTTP API).
set -euo pipefail

want_management=0
[ "${1:-}" = "--management" ] && want_management=1

say() { printf 'infra: %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
rabbit_up() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }
management_up() { curl -sf -u guest:guest http://127.0.0.1:15672/api/overview >/dev/null 2>&1; }

wait_for() {  # wait_for <what> <seconds> <command...>
  local what=$1 seconds=$2; shift 2
  for _ in $(seq 1 "$seconds"); do "$@" && return 0; sleep 1; done
  say "$what did not come up in ${seconds}s"; return 1
}

if ! pg_up; then
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    say "installing PostgreSQL"; as_root apt-get update -qq; as_root apt-get install -y -qq postgresql
  fi
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  say "starting PostgreSQL $version"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  wait_for PostgreSQL 30 pg_up
fi

if ! rabbit_up; then
  if ! command -v rabbitmq-server >/dev/null 2>&1; then
    say "installing RabbitMQ"; as_root apt-get update -qq; as_root apt-get install -y -qq rabbitmq-server
  fi
  say "starting RabbitMQ"
  as_root rabbitmq-server -detached || true
  as_root rabbitmqctl await_startup >/dev/null 2>&1 || true
  wait_for RabbitMQ 60 rabbit_up
fi

if [ "$want_management" = 1 ] && ! management_up; then
  say "enabling the RabbitMQ management plugin"
  as_root rabbitmq-plugins enable rabbitmq_management >/dev/null
  wait_for "RabbitMQ management API" 60 management_up
fi
say "PostgreSQL and RabbitMQ are up"

#!/usr/bin/env bash
# Start the PostgreSQL (trust auth, database test) and MariaDB (root, no password,
# database test) servers that the SQL tests use, when they are installed but down.
set -u

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
my_up() { mysqladmin -h 127.0.0.1 -uroot ping >/dev/null 2>&1; }

if ! pg_up && command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
fi
if ! my_up && [ -x /usr/sbin/mariadbd ]; then
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
fi
for _ in $(seq 1 30); do
  if pg_up && my_up; then break; fi
  sleep 1
done
pg_up || echo "warning: PostgreSQL is not reachable at 127.0.0.1:5432" >&2
my_up || echo "warning: MariaDB is not reachable at 127.0.0.1:3306" >&2
exit 0

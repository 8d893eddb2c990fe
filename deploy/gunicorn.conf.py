"""gunicorn settings of a production web host: ``kessai serve --config /etc/kessai/gunicorn.conf.py``.

``kessai serve`` adds the access-log format (paths without query strings: inbound webhook URLs carry their
secret token there) and the Prometheus multiprocess directory; options given on its command line
(``--port``, ``--workers``, …) override this file. Checked with ``kessai serve --config FILE --check-config``.
See docs/deploy.md for the numbers.
"""

import os

wsgi_app = "kessai.config.wsgi:application"

# The private interface of this web host; the firewall lets only the TLS proxy reach it (docs/deploy.md).
bind = ["0.0.0.0:8000"]

# Threads overlap provider calls, which wait on the network (up to KESSAI_PROVIDER_TIMEOUT seconds each):
# 2 cores → 2 processes × 8 threads; bigger hosts one process per core, still 8 threads. Every thread may hold
# one PostgreSQL connection: budget max_connections for all hosts (docs/deploy.md, "PostgreSQL").
worker_class = "gthread"
workers = max(2, min(os.cpu_count() or 2, 8))
threads = 8

# gthread: a worker that stops heartbeating for this long is killed; a request waiting on a provider keeps it
# alive. Stop/reload: requests in flight get graceful_timeout seconds (the systemd unit waits longer).
timeout = 60
graceful_timeout = 30
# Keep-alive connections from the proxy (nginx upstream keepalive) outlive its idle timeout by a margin.
keepalive = 75
# Recycle worker processes now and then (memory growth), staggered so the host never restarts all at once.
max_requests = 20000
max_requests_jitter = 2000

# Which peers may set X-Forwarded-Proto (TLS ended at the proxy): the proxy hosts' private addresses.
forwarded_allow_ips = "10.0.0.10,10.0.0.20"

# Logs go to the journal (stdout/stderr); the app's own lines are JSON in production (KESSAI_LOG_FORMAT).
accesslog = "-"
errorlog = "-"
loglevel = "info"

# Managed by systemd (signals, sd_notify); no control socket in the service user's home directory.
control_socket_disable = True

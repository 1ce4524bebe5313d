"""gunicorn settings for production:

    gunicorn -c config/gunicorn.py config.wsgi

run from the project directory (gunicorn puts it on sys.path before reading this file).
Workers and the bind address are given on the command line or in GUNICORN_CMD_ARGS; this file
sets the worker class, its threads and keep-alive, and the logging.

Threaded workers (gthread), because admission control (xiuhua/core/admission.py) can only refuse
a request that the application has been handed: a sync worker takes one request at a time and
leaves the others in the kernel's queue, where they wait into timeouts. A gthread worker hands
every connection to a thread at once; its threads must outnumber the slots of the two lanes
(XIUHUA_RESIDENT_SLOTS + XIUHUA_STAFF_SLOTS, 8 + 4 by default), so that a refusal always finds
a thread and is answered in milliseconds. Threads also keep connections alive between requests
(a sync worker closes each one) and let a process wait on several database commits at once,
which is what a reservation mostly does. Measured figures: docs/deploy.md.

The access log names no person and no capability: the format has the path without its query
string (%(U)s, not %(r)s, whose request line carries ?q=<searched identity number>) and no
Referer (the previous page's full URL), and RedactingLogger rewrites door keys and follow-up
tokens in paths, and any identity number or mobile, in every access and error line.
"""

from __future__ import annotations

from gunicorn.glogging import Logger

from xiuhua.core.logredact import RedactingFilter, redact

# gthread, refusing residents at the door when its threads are behind (config/gunicorn_worker.py).
worker_class = "config.gunicorn_worker.DoorThreadWorker"
threads = 16
keepalive = 5  # seconds: a phone's next request (the status page after a reservation) reuses it

accesslog = "-"
errorlog = "-"
# Address, time, "METHOD /path PROTOCOL", status, bytes, seconds, user agent.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)s "%(a)s"'


class RedactingLogger(Logger):
    """gunicorn's logger with every atom of an access line redacted, the query string and the
    raw request line left out even if a format asks for them, and the redacting filter on the
    error and access loggers (a worker logs "Error handling request <uri with query>")."""

    def setup(self, cfg):
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            if not any(isinstance(f, RedactingFilter) for f in log.filters):
                log.addFilter(RedactingFilter())

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("q", "{query_string}e", "{raw_uri}e"):
            atoms[key] = "-"
        atoms["r"] = f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')} {environ.get('SERVER_PROTOCOL')}"
        return {key: redact(value) if isinstance(value, str) else value for key, value in atoms.items()}


logger_class = RedactingLogger

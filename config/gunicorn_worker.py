"""gunicorn's gthread worker, refusing residents at the door when its threads are behind.

Admission control in the application (xiuhua/core/admission.py) refuses a request only once a
thread takes it. Past about twice capacity the threads themselves are the queue: requests wait in
the worker's pool queue for the GIL and a thread, and a refusal that should take milliseconds
takes a second. This worker looks at the pool queue before it queues a connection: when
XIUHUA_DOOR_BACKLOG (default: the number of threads) requests already wait there, it peeks at the
request (without reading it), and if the request is complete and on a resident lane it answers
from the accepting thread itself with the same 503 the application would give
(core.admission.door_answer), reads the request off the socket and closes the connection. Staff
paths, the health check, incomplete or unreadable requests and bytes already read ahead by the
parser are always queued as usual.

    gunicorn -c config/gunicorn.py config.wsgi  (config/gunicorn.py names this worker class)
"""

from __future__ import annotations

import os
import socket

from gunicorn.workers.gthread import ThreadWorker

PEEK = 8192


class DoorThreadWorker(ThreadWorker):
    def init_process(self):
        self.door_backlog = int(os.environ.get("XIUHUA_DOOR_BACKLOG", "0")) or self.cfg.threads
        self.refused_at_door = 0
        super().init_process()

    def enqueue_req(self, conn):
        if self._backlog() >= self.door_backlog and self._refuse_at_door(conn):
            return
        super().enqueue_req(conn)

    def _backlog(self) -> int:
        queue = getattr(self.tpool, "_work_queue", None)
        return queue.qsize() if queue is not None else 0

    def _refuse_at_door(self, conn) -> bool:
        parser = getattr(conn, "parser", None)
        if parser is not None and parser.unreader.buf.getvalue():
            return False  # the next request is partly read already: a thread must parse it
        try:
            head = conn.sock.recv(PEEK, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except OSError:
            return False  # nothing yet (BlockingIOError) or a broken socket: a thread deals with it
        from xiuhua.core.admission import door_answer

        answer = door_answer(head)
        if answer is None:
            return False
        length, response = answer
        try:
            conn.sock.recv(length)  # exactly this request, all of it in the socket already
            conn.sock.sendall(response)
        except OSError:
            pass
        self.refused_at_door += 1
        self.nr_conns -= 1
        conn.close()
        return True

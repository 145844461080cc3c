"""An optional witness outside the database host for signed audit checkpoints (issue 13 item 3).

Every signed checkpoint line the audit log writes (the first event, every N-th event, explicit
checkpoints, purge anchors) is also sent, as the same JSON object, to

* an HTTP(S) endpoint as a ``POST`` with ``Content-Type: application/json``, and/or
* syslog: ``host:port`` (UDP, RFC 5424-style line, facility *log audit*) or a Unix datagram
  socket path such as ``/dev/log``.

Delivery is off the append path: a daemon thread sends from a bounded queue, so a slow or dead
witness never slows or blocks an append (an audited action must not wait on a log collector);
failures are logged and counted, never raised. The witness records what the chain head was at a
time; comparing it with `guidecite audit verify --json` (``signed_head_id``) is the operator's or
the collector's job — see docs/security.md for what this does and does not protect against.
"""

from __future__ import annotations

import json
import logging
import queue
import socket
import threading
import urllib.request
from collections.abc import Mapping
from typing import Any

logger = logging.getLogger(__name__)

_QUEUE_SIZE = 10_000
# <PRI> for facility 13 (log audit) and severity 6 (informational): 13 * 8 + 6.
_SYSLOG_PRI = 110


class Witness:
    """Sends signed checkpoints to an HTTP endpoint and/or syslog, in the background."""

    def __init__(self, *, url: str = "", syslog: str = "", timeout_s: float = 2.0) -> None:
        if not url and not syslog:
            raise ValueError("a witness needs an HTTP URL or a syslog address")
        if url and not url.startswith(("http://", "https://")):
            raise ValueError(f"witness URL must be http(s): {url!r}")
        self._url = url
        self._syslog = syslog
        self._timeout = timeout_s
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue(maxsize=_QUEUE_SIZE)
        self._idle = threading.Condition()
        self._pending = 0
        self.failures = 0
        self.sent = 0
        self._socket: socket.socket | None = None
        self._thread = threading.Thread(target=self._run, name="audit-witness", daemon=True)
        self._thread.start()

    def send(self, record: Mapping[str, Any]) -> None:
        """Queue one signed checkpoint record; never blocks (a full queue drops and logs)."""
        with self._idle:
            self._pending += 1
        try:
            self._queue.put_nowait(dict(record))
        except queue.Full:
            with self._idle:
                self._pending -= 1
                self.failures += 1
                self._idle.notify_all()
            logger.error("audit witness queue full: checkpoint %s not sent", record.get("id"))

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until everything queued was sent or failed; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout=timeout_s)

    def close(self) -> None:
        """Flush briefly and stop the sender thread."""
        self.flush(self._timeout * 2)
        self._queue.put(None)
        self._thread.join(timeout=self._timeout)
        if self._socket is not None:
            self._socket.close()

    def _run(self) -> None:
        while True:
            record = self._queue.get()
            if record is None:
                return
            ok = True
            if self._url:
                ok = self._post(record) and ok
            if self._syslog:
                ok = self._log(record) and ok
            with self._idle:
                self._pending -= 1
                if ok:
                    self.sent += 1
                else:
                    self.failures += 1
                self._idle.notify_all()

    def _post(self, record: Mapping[str, Any]) -> bool:
        body = json.dumps(record, sort_keys=True).encode("ascii")
        request = urllib.request.Request(  # noqa: S310 (scheme checked in __init__)
            self._url, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310
                if 200 <= response.status < 300:
                    return True
                logger.error("audit witness %s answered HTTP %s", self._url, response.status)
        except OSError as exc:  # URLError, HTTPError and timeouts are OSErrors
            logger.error("audit witness %s unreachable: %s", self._url, exc)
        return False

    def _log(self, record: Mapping[str, Any]) -> bool:
        line = f"<{_SYSLOG_PRI}>1 - - guidecite-audit - checkpoint - " + json.dumps(
            record, sort_keys=True, separators=(",", ":")
        )
        try:
            sock, address = self._syslog_target()
            sock.sendto(line.encode("ascii"), address)
            return True
        except OSError as exc:
            logger.error("audit witness syslog %s failed: %s", self._syslog, exc)
            if self._socket is not None:
                self._socket.close()
                self._socket = None
            return False

    def _syslog_target(self) -> tuple[socket.socket, Any]:
        if self._syslog.startswith("/"):
            if self._socket is None:
                self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            return self._socket, self._syslog
        host, _, port = self._syslog.rpartition(":")
        if self._socket is None:
            self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        return self._socket, (host or "127.0.0.1", int(port or 514))

"""Files served over HTTP on 127.0.0.1 (a folder, or one packed as ``.tar.gz``), for the
download tests."""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import tarfile
import threading
from functools import partial
from pathlib import Path


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve_folder(www: Path):
    """Serve the files of ``www`` on a free port.

    Yields
    ------
    str
        The base URL (``http://127.0.0.1:PORT``, no trailing slash). The server stops
        when the block ends.
    """
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(_QuietHandler, directory=str(www)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextlib.contextmanager
def serve_archive(source: Path, www: Path, name: str = "sc.tar.gz"):
    """Pack the entries of ``source`` into ``www/name`` and serve ``www`` on a free port.

    Yields
    ------
    (str, str)
        The archive's URL and its SHA-256. The server stops when the block ends.
    """
    archive = www / name
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(source.iterdir()):
            tar.add(path, arcname=f"./{path.name}")
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    with serve_folder(www) as base:
        yield f"{base}/{name}", digest

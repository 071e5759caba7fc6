"""pycsw's repository kept in step with the exported ISO 19139 records while ``sporbar serve --csw`` runs.

``sporbar export-metadata`` (after a ``publish``) adds, rewrites and removes records in the
records folder. :meth:`RecordsWatch.check` runs on CSW requests, at most every :data:`CHECK_S`
seconds: it compares the folder's records (name, modification time, size) with those of the
last load, and when they differ loads them into a new SQLite repository in a thread of its own,
then moves it over the one pycsw reads (a rename, atomic). pycsw opens the file anew for
every request (SQLAlchemy's ``NullPool`` for SQLite files), so the next request sees the new
records; requests meanwhile are answered from the old repository. The records of data that is
not open stay out, as at start (``sporbar.serve.csw.open_records``).
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final

from sporbar.errors import SporbarError

log = logging.getLogger(__name__)

#: seconds between two looks at the records folder
CHECK_S: Final = 2.0

Signature = tuple[tuple[str, int, int], ...]


def records_signature(records_dir: Path) -> Signature:
    """(name, modification time in ns, size) of every ``*.xml`` in ``records_dir``; () when there is none."""
    out: list[tuple[str, int, int]] = []
    try:
        paths = sorted(records_dir.glob("*.xml"))
    except OSError:
        return ()
    for path in paths:
        try:
            st = path.stat()
        except OSError:
            continue  # removed between the listing and the stat: the next look sees it gone
        out.append((path.name, st.st_mtime_ns, st.st_size))
    return tuple(out)


class RecordsWatch:
    """Reloads the repository of a running pycsw when the records folder changes.

    Attributes:
        records: records in the repository pycsw reads now.
        loads: repositories loaded since start (the first one included).
    """

    def __init__(
        self, records_dir: Path, database: Path, load: Callable[[Path], tuple[Path, int]], *, records: int,
        check_s: float = CHECK_S,
    ) -> None:  # fmt: skip
        """Watch ``records_dir``; the running pycsw reads ``database``, loaded just now with ``records``.

        Args:
            records_dir: the exported ISO 19139 records.
            database: the SQLite repository pycsw reads.
            load: loads the open records of ``records_dir`` into a new repository in the empty
                folder it is given; returns (that repository's file, records loaded).
            records: records in the repository loaded at start.
            check_s: seconds between two looks at the folder.
        """
        self.records_dir, self.database, self.load, self.check_s = records_dir, database, load, check_s
        self.records, self.loads = records, 1
        self._signature = records_signature(records_dir)
        self._checked_at = time.monotonic()
        self._lock = threading.Lock()
        self._loading = False

    def check(self) -> None:
        """Start a reload when the records changed since the last load (at most one look per ``check_s``)."""
        now = time.monotonic()
        with self._lock:
            if self._loading or now - self._checked_at < self.check_s:
                return
            self._checked_at = now
        signature = records_signature(self.records_dir)
        with self._lock:
            if signature == self._signature or self._loading:
                return
            self._loading = True
        threading.Thread(target=self._reload, args=(signature,), name="csw-reload", daemon=True).start()

    def _reload(self, signature: Signature) -> None:
        stage = self.database.parent / f"reload-{self.loads}"
        try:
            shutil.rmtree(stage, ignore_errors=True)
            stage.mkdir()
            database, loaded = self.load(stage)
            database.replace(self.database)  # atomic: pycsw opens either the old file or the new one
            self.records, self.loads = loaded, self.loads + 1
            log.info("%s: %d ISO 19139 record(s) reloaded into pycsw", self.records_dir, loaded)
        except (SporbarError, OSError) as err:
            # the old repository stays; the next change of the folder tries again
            log.error("%s: the CSW keeps its records, the changed ones could not be loaded: %s", self.records_dir, err)
        finally:
            shutil.rmtree(stage, ignore_errors=True)
            with self._lock:
                self._signature, self._loading = signature, False

"""pycsw as `sporbar serve --csw` runs it: the repository loader and the WSGI app (gunicorn).

Runs in pycsw's own virtualenv (services/csw/requirements.txt), never in sporbar's: it imports
pycsw, which sporbar's environment cannot hold.

    python sporbar_csw.py load RECORDS_DIR      # create the repository of $PYCSW_CONFIG, load *.xml
    gunicorn sporbar_csw:application            # serve it

Both keep bounding boxes at full precision: pycsw 2.6 writes every box, stored or asked for,
as WKT with two decimals (``pycsw.core.util.bbox2wktpolygon``), about 1 km, so a search box
inside one 640 m map tile also found its neighbour. Differences from ``pycsw.wsgi.application``:

* the configuration is the file named by ``PYCSW_CONFIG``, read once; a ``config=`` request
  parameter (which pycsw.wsgi obeys, reading any file the client names) is ignored;
* the service URL in the capabilities is the public one the proxy in front states
  (``X-Forwarded-Proto``/``-Host``/``-Prefix``), so harvesters follow links to ``/csw`` of
  the server they asked, not to this loopback port;
* an OGC ExceptionReport, which pycsw 2.6 answers with HTTP 200, gets the HTTP status that
  OGC Web Services Common 2.0 (table 28) gives its exception code: 400 for a bad request
  (an unknown property, a bad filter, a missing or invalid parameter), 501 for an operation
  or option not supported; ``NoApplicableCode`` is 400 unless pycsw failed on its own
  repository (500).
"""

from __future__ import annotations

import configparser
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pycsw import server
from pycsw.core import repository, util


def _bbox2wktpolygon(bbox: str) -> str:
    """``pycsw.core.util.bbox2wktpolygon`` without rounding the coordinates to 0.01 degree."""
    if bbox.startswith("ENVELOPE"):
        bbox = util.wktenvelope2bbox(bbox)
    minx, miny, maxx, maxy = (float(c) for c in bbox.split(","))
    ring = ((minx, miny), (minx, maxy), (maxx, maxy), (maxx, miny), (minx, miny))
    return "POLYGON((" + ", ".join(f"{x!r} {y!r}" for x, y in ring) + "))"


util.bbox2wktpolygon = _bbox2wktpolygon  # every caller looks it up as util.bbox2wktpolygon


class _Repository(repository.Repository):  # type: ignore[misc]
    """pycsw's SQLite repository, with the table reflected once per process, not per request.

    pycsw 2.6 reflects the records table (SQLAlchemy autoload) in every request, about 40 ms
    of each; the table never changes while the server runs (loaded before it starts).
    """

    _datasets: dict[tuple[str, str], Any] = {}

    def __init__(self, database: str, context: Any, app_root: Any = None, table: str = "records",
                 repo_filter: Any = None) -> None:  # fmt: skip
        dataset = self._datasets.get((database, table))
        if dataset is None:
            super().__init__(database, context, app_root, table, repo_filter)
            self._datasets[(database, table)] = self.dataset
            return
        # what repository.Repository.__init__ does for SQLite, less the reflection
        self.context, self.filter, self.fts = context, repo_filter, False
        self.engine = repository.Repository.create_engine(database)
        self.dataset = dataset
        self.postgis_geometry_column = None
        self.dbtype = self.engine.name
        self.session = repository.create_session(self.engine)
        typenames = context.model["typenames"]
        self.queryables = {q: dict(v) for t in typenames.values() for q, v in t["queryables"].items()}
        merged: dict[str, Any] = {}
        for values in self.queryables.values():
            merged.update(values)
        merged.update(context.md_core_model["mappings"])
        self.queryables["_all"] = merged


repository.Repository = _Repository  # pycsw.server looks it up as repository.Repository

#: OGC Web Services Common 2.0, table 28: exception code -> HTTP status
EXCEPTION_STATUS = {
    "OperationNotSupported": "501 Not Implemented",
    "OptionNotSupported": "501 Not Implemented",
    "MissingParameterValue": "400 Bad Request",
    "InvalidParameterValue": "400 Bad Request",
    "VersionNegotiationFailed": "400 Bad Request",
    "InvalidUpdateSequence": "400 Bad Request",
    "NoApplicableCode": "400 Bad Request",
}
_EXCEPTION_CODE = re.compile(rb'<(?:\w+:)?ExceptionReport\b.*?exceptionCode="(\w+)"', re.S)
#: pycsw's own words when its repository fails (not the client's fault)
_SERVER_FAULTS = (b"Repository error", b"Could not load repository", b"Could not load configuration")


def _read_config(path: str) -> dict[str, dict[str, str]]:
    parser = configparser.ConfigParser(interpolation=None)
    with Path(path).open(encoding="utf-8") as fh:
        parser.read_file(fh)
    return {section: dict(parser.items(section)) for section in parser.sections()}


_CONFIG = _read_config(os.environ["PYCSW_CONFIG"])


def load(records_dir: str) -> int:
    """Create the repository of ``$PYCSW_CONFIG`` and load every ``*.xml`` of ``records_dir``.

    Returns:
        The number of files loaded (pycsw logs why it skipped the others).
    """
    from pycsw.core import admin, config

    database, table = _CONFIG["repository"]["database"], _CONFIG["repository"]["table"]
    admin.setup_db(database, table, _CONFIG["server"]["home"])
    return len(admin.load_records(config.StaticContext(), database, table, records_dir))


def _public_url(env: dict[str, Any]) -> str:
    """The service URL as the client sees it (stated by sporbar's proxy), else the configured one."""
    host = env.get("HTTP_X_FORWARDED_HOST")
    if not host:
        return _CONFIG["server"]["url"]
    proto = env.get("HTTP_X_FORWARDED_PROTO", "http")
    return f"{proto}://{host}{env.get('HTTP_X_FORWARDED_PREFIX', '')}"


def _status(body: bytes, pycsw_status: str) -> str:
    match = _EXCEPTION_CODE.search(body[:4000])
    if match is None:
        return pycsw_status
    if any(fault in body for fault in _SERVER_FAULTS):
        return "500 Internal Server Error"
    return EXCEPTION_STATUS.get(match.group(1).decode(), "400 Bad Request")


def application(env: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """WSGI entry point: one pycsw ``Csw`` per request, on a fresh copy of the configuration."""
    config = configparser.ConfigParser(interpolation=None)
    config.read_dict(_CONFIG)
    config.set("server", "url", _public_url(env))
    env = dict(env)
    env["QUERY_STRING"] = "&".join(
        kvp for kvp in env.get("QUERY_STRING", "").split("&") if kvp.split("=", 1)[0].lower() != "config"
    )
    csw = server.Csw(config, env)
    status, body = csw.dispatch_wsgi()
    headers = [("Content-Type", str(csw.contenttype)), ("Content-Length", str(len(body)))]
    start_response(_status(body, status), headers)
    return [body]


if __name__ == "__main__":
    import logging
    import sys

    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(message)s")
    if len(sys.argv) != 3 or sys.argv[1] != "load":
        sys.exit("usage: python sporbar_csw.py load RECORDS_DIR")
    print(load(sys.argv[2]))

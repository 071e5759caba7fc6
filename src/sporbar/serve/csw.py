"""The CSW for Geonorge's harvester: pycsw in its own virtualenv, behind ``/csw`` of ``sporbar serve``.

pycsw 2.6.2 (the newest release) needs OWSLib<0.29 and SQLAlchemy 1.x, which sporbar's
environment cannot hold (OWSLib 0.35; snakemake needs SQLAlchemy 2). So it runs in
``.venv-csw`` (``make install``, from ``services/csw/requirements.txt``) as a process of
its own, and sporbar only talks to it over HTTP:

1. :func:`start_csw` writes a pycsw configuration and a fresh SQLite repository into a
   temporary folder, loads every ISO 19139 record of open data that ``sporbar export-metadata``
   wrote (the CSW is public: records of restricted and closed collections stay out)
   (``services/csw/sporbar_csw.py load``: pycsw's loader, boxes at full precision), and
   starts gunicorn with pycsw's WSGI app (the same module) on a free loopback port;
2. :func:`csw_routes` forwards ``/csw`` (GET and POST) to it, stating the public URL in
   ``X-Forwarded-*`` so the capabilities link back to ``/csw`` of this server.

The repository follows the records folder while the server runs: records exported, rewritten or
removed later are served as they are within seconds (``sporbar.serve.csw_records``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sporbar.errors import MissingInputError, ServiceError
from sporbar.serve.csw_records import RecordsWatch

log = logging.getLogger(__name__)

CSW_PREFIX: Final = "/csw"
#: pycsw's virtualenv; default ``.venv-csw`` in the repository (``make install`` creates it)
CSW_VENV_ENV: Final = "SPORBAR_CSW_VENV"
_REPO: Final = Path(__file__).resolve().parents[3]
_WSGI_DIR: Final = _REPO / "services" / "csw"
_WSGI_FILE: Final = "sporbar_csw.py"
_WSGI_APP: Final = "sporbar_csw:application"
_TABLE: Final = "records"
#: the SQLite repository pycsw reads, in its working folder
REPOSITORY_FILE: Final = "records.db"
CONFIG_FILE: Final = "pycsw.cfg"
_CAPABILITIES: Final = "?service=CSW&request=GetCapabilities"
_NS: Final = {"gmd": "http://www.isotc211.org/2005/gmd", "gmx": "http://www.isotc211.org/2005/gmx",
               "xlink": "http://www.w3.org/1999/xlink"}  # fmt: skip
_ACCESS_HREFS: Final = "//gmd:resourceConstraints//gmd:otherConstraints/gmx:Anchor/@xlink:href"
#: INSPIRE LimitationsOnPublicAccess of open data (``sporbar.metadata.iso_codes.ACCESS_LIMITS``; no sibling import)
_OPEN_ACCESS: Final = "/LimitationsOnPublicAccess/noLimitations"
#: request headers passed on to pycsw (the rest, cookies and credentials included, stay here)
_FORWARDED_HEADERS: Final = ("content-type", "accept", "accept-language", "soapaction")


def csw_venv() -> Path:
    """The pycsw virtualenv: ``$SPORBAR_CSW_VENV``, else ``.venv-csw`` in the repository.

    Raises:
        MissingInputError: it has no pycsw (``make install`` was not run).
    """
    venv = Path(os.environ.get(CSW_VENV_ENV) or _REPO / ".venv-csw")
    if not (venv / "bin" / "pycsw-admin.py").is_file() or not (venv / "bin" / "gunicorn").is_file():
        raise MissingInputError(
            f"{venv}: no pycsw virtualenv there; run `make install` (creates .venv-csw from "
            f"services/csw/requirements.txt) or set {CSW_VENV_ENV}"
        )
    return venv


def pycsw_config(
    *, database: Path, url: str, title: str, max_records: int = 100, contact_email: str | None = None
) -> str:
    """The pycsw 2.6 configuration (INI) of a read-only CSW over the SQLite ``database``.

    Args:
        database: the SQLite repository file.
        url: the public service URL written into the capabilities.
        title: the service title.
        contact_email: the service contact's e-mail in the capabilities (the config's
            ``metadata.contact_email``, the records' metadata contact); empty when None.
        max_records: the most records one GetRecords returns, and what it returns when the
            client does not say (pycsw uses the one setting for both).
    """
    one_line = " ".join(title.split()).replace("%", "%%")
    return f"""[server]
home={_WSGI_DIR}
url={url}
mimetype=application/xml; charset=UTF-8
encoding=UTF-8
language=en-US
maxrecords={max_records}
loglevel=WARNING
logfile=
pretty_print=false
domainquerytype=list
domaincounts=false
profiles=apiso

[manager]
transactions=false
allowed_ips=127.0.0.1

[metadata:main]
identification_title={one_line}
identification_abstract=ISO 19139 records (Norwegian profile) of the land-ecology products of sporbar
identification_keywords=land ecology,landøkologi,Norge,Norway
identification_keywords_type=theme
identification_fees=None
identification_accessconstraints=None
provider_name={one_line}
provider_url=
contact_name=
contact_position=
contact_address=
contact_city=
contact_stateorprovince=
contact_postalcode=
contact_country=Norway
contact_phone=
contact_fax=
contact_email={(contact_email or "").replace("%", "%%")}
contact_url=
contact_hours=
contact_instructions=
contact_role=pointOfContact

[repository]
database=sqlite:///{database}
table={_TABLE}

[metadata:inspire]
enabled=false
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _child_env(config: Path) -> dict[str, str]:
    # sporbar's PYTHONPATH must not leak into pycsw's interpreter
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    return {**env, "PYCSW_CONFIG": str(config), "PYTHONWARNINGS": "ignore::FutureWarning"}


def is_open_record(path: Path) -> bool:
    """True when the ISO 19139 record at ``path`` states INSPIRE's ``noLimitations`` (open data).

    Anything else (restricted, closed, no constraint, not an XML record) is False.
    """
    from lxml import etree

    try:
        hrefs = etree.parse(str(path)).getroot().xpath(_ACCESS_HREFS, namespaces=_NS)
    except (OSError, etree.XMLSyntaxError) as err:
        log.warning("%s: not an XML record (%s): treated as not open", path, err)
        return False
    return any(str(h).endswith(_OPEN_ACCESS) for h in hrefs)


def open_records(records_dir: Path, dest: Path) -> tuple[int, int]:
    """Link the records of open data in ``records_dir`` into ``dest``; (linked, withheld).

    The CSW is public, so it holds only records whose access constraint is INSPIRE's
    ``noLimitations`` (``sporbar:access: open``, as ``sporbar export-metadata`` writes it); the
    records of restricted and closed collections, and files that are not such a record, stay out.
    """
    dest.mkdir(parents=True, exist_ok=True)
    linked = withheld = 0
    for path in sorted(records_dir.glob("*.xml")):
        if is_open_record(path):
            (dest / path.name).symlink_to(path.resolve())
            linked += 1
        else:
            withheld += 1
    return linked, withheld


def load_repository(
    records_dir: Path,
    workdir: Path,
    *,
    url: str,
    title: str,
    venv: Path,
    allow_empty: bool = False,
    contact_email: str | None = None,
) -> tuple[Path, int]:
    """Write the configuration into ``workdir``, create the repository and load the open records.

    Args:
        records_dir: the ISO 19139 records (``<results>/metadata/iso19139``).
        workdir: an empty folder for the configuration, the SQLite file and links to the records.
        url: the public service URL.
        title: the service title.
        venv: pycsw's virtualenv.
        allow_empty: an empty repository when ``records_dir`` holds no record (a reload after
            the last one was removed), not an error.
        contact_email: the service contact's e-mail (:func:`pycsw_config`).

    Returns:
        (configuration file, records in the repository).

    Raises:
        MissingInputError: ``records_dir`` holds no ``*.xml`` (and not ``allow_empty``).
        ServiceError: pycsw could not create the repository or load the records.
    """
    if not allow_empty and (not records_dir.is_dir() or not any(records_dir.glob("*.xml"))):
        raise MissingInputError(
            f"{records_dir}: no ISO 19139 records to serve in the CSW; run `sporbar export-metadata` "
            "(the pipeline's export_metadata rule) first"
        )
    served, withheld = open_records(records_dir, workdir / "records") if records_dir.is_dir() else (0, 0)
    if withheld:
        log.warning("%s: %d record(s) of restricted or closed data not served in the CSW", records_dir, withheld)
    config = workdir / CONFIG_FILE
    database = workdir / REPOSITORY_FILE
    config.write_text(
        pycsw_config(database=database, url=url, title=title, contact_email=contact_email), encoding="utf-8"
    )
    cmd = [str(venv / "bin" / "python"), str(_WSGI_DIR / _WSGI_FILE), "load", str(workdir / "records")]
    proc = subprocess.run(cmd, env=_child_env(config), capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        raise ServiceError(
            f"{records_dir}: pycsw could not load the records ({proc.returncode}): {proc.stderr[-2000:]}"
        )
    with contextlib.closing(sqlite3.connect(database)) as db:
        loaded = int(db.execute(f"SELECT count(*) FROM {_TABLE}").fetchone()[0])  # noqa: S608 - a constant
    if loaded < served:
        log.warning("%s: pycsw loaded %d of %d ISO 19139 records: %s", records_dir, loaded, served, proc.stderr[-2000:])
    return config, loaded


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    # gunicorn must not outlive `sporbar serve` killed with SIGKILL (Linux: PR_SET_PDEATHSIG)
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


@dataclass
class CswProcess:
    """A running pycsw (gunicorn) on loopback.

    Attributes:
        url: its loopback URL (what :func:`csw_routes` forwards to).
        records: records in its repository at start.
        proc: the gunicorn process.
        workdir: its configuration, repository and log; removed by :meth:`stop`.
        watch: reloads the repository when the records folder changes (:meth:`RecordsWatch.check`).
    """

    url: str
    records: int
    proc: subprocess.Popen[bytes]
    workdir: Path
    watch: RecordsWatch | None = None

    def stop(self) -> None:
        """Stop gunicorn (SIGTERM, then SIGKILL) and remove the working folder."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=20)
        shutil.rmtree(self.workdir, ignore_errors=True)


def start_csw(
    records_dir: Path,
    *,
    public_url: str,
    title: str = "sporbar",
    contact_email: str | None = None,
    workers: int = 2,
    timeout: float = 60,
) -> CswProcess:
    """Load the ISO 19139 records into a fresh repository and start pycsw on a free loopback port.

    Args:
        records_dir: the ISO 19139 records (``<results>/metadata/iso19139``).
        public_url: the URL clients reach it at (``http://host:port/csw``), for the capabilities.
        title: the service title.
        contact_email: the service contact's e-mail in the capabilities.
        workers: gunicorn worker processes.
        timeout: seconds to wait for its first GetCapabilities.

    Returns:
        The running process; call ``stop()`` when done.

    Raises:
        MissingInputError: no pycsw virtualenv, or no records.
        ServiceError: pycsw failed to load the records or to start.
    """
    venv = csw_venv()
    workdir = Path(tempfile.mkdtemp(prefix="sporbar-csw-"))

    def load(folder: Path, allow_empty: bool = True) -> tuple[Path, int]:
        _, loaded = load_repository(
            records_dir,
            folder,
            url=public_url,
            title=title,
            venv=venv,
            allow_empty=allow_empty,
            contact_email=contact_email,
        )
        return folder / REPOSITORY_FILE, loaded

    try:
        config = workdir / CONFIG_FILE
        _, records = load(workdir, allow_empty=False)
        url = f"http://127.0.0.1:{_free_port()}"
        log_path = workdir / "gunicorn.log"
        cmd = [
            str(venv / "bin" / "python"), str(venv / "bin" / "gunicorn"),
            "--bind", url.removeprefix("http://"), "--workers", str(workers), "--no-control-socket",
            "--pythonpath", str(_WSGI_DIR), "--log-level", "warning", "--error-logfile", str(log_path), _WSGI_APP,
        ]  # fmt: skip
        proc = subprocess.Popen(
            cmd, env=_child_env(config), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - no threads yet: called before the server starts
        )  # fmt: skip
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    watch = RecordsWatch(records_dir, workdir / REPOSITORY_FILE, load, records=records)
    csw = CswProcess(url=url, records=records, proc=proc, workdir=workdir, watch=watch)
    try:
        if _answers(url, proc, timeout):
            return csw
        tail = log_path.read_text(errors="replace")[-2000:] if log_path.is_file() else ""
        raise ServiceError(
            f"{records_dir}: pycsw (gunicorn) did not answer GetCapabilities at {url} in {timeout:.0f} s: {tail}"
        )
    except BaseException:
        csw.stop()
        raise


def _answers(url: str, proc: subprocess.Popen[bytes], timeout: float) -> bool:
    """True once GetCapabilities at ``url`` answers 200; False when ``proc`` exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(url + "/" + _CAPABILITIES, timeout=5) as r:
                if r.status == 200:
                    return True
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    return False


def csw_routes(upstream: str, check_records: Callable[[], None] | None = None) -> list[Any]:
    """Routes that forward ``/csw`` (GET, POST; KVP and XML requests) to pycsw at ``upstream``.

    pycsw's status and body are passed back unchanged (its wrapper gives an ExceptionReport
    its 4xx status); an unreachable pycsw is a 502. ``check_records`` (:meth:`RecordsWatch.check`)
    runs before each request is forwarded.
    """
    import anyio.to_thread
    import httpx2

    client = httpx2.AsyncClient(base_url=upstream, timeout=120)

    async def forward(request: Request) -> Response:
        if check_records is not None:
            await anyio.to_thread.run_sync(check_records)
        headers = {k: v for k, v in request.headers.items() if k.lower() in _FORWARDED_HEADERS}
        headers["x-forwarded-host"] = request.url.netloc
        headers["x-forwarded-proto"] = request.url.scheme
        headers["x-forwarded-prefix"] = CSW_PREFIX
        try:
            query = request.url.query
            upstream_response = await client.request(
                request.method, "/?" + query if query else "/", headers=headers, content=await request.body()
            )
        except httpx2.TransportError as err:
            log.error("CSW at %s unreachable: %s", upstream, err)
            return Response(f"the CSW (pycsw at {upstream}) does not answer: {err}\n", 502, media_type="text/plain")
        media_type = upstream_response.headers.get("content-type", "application/xml")
        return Response(upstream_response.content, upstream_response.status_code, media_type=media_type)

    return [
        Route(CSW_PREFIX, forward, methods=["GET", "POST"], name="csw"),
        Route(CSW_PREFIX + "/", forward, methods=["GET", "POST"], include_in_schema=False),
    ]

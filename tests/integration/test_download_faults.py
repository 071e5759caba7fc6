# ruff: noqa: F811  (the `server` fixture is imported from _loopback; tests/unit owns `conftest`)
"""The downloader against a real loopback server with injected faults."""

from __future__ import annotations

import hashlib
import io
import os
import time
import zipfile
from pathlib import Path

import pytest
from _loopback import Loopback, Route, server  # noqa: F401

from sporbar.errors import InputDataError
from sporbar.fetch.archives import check_zip, safe_extract
from sporbar.fetch.checksums import Checksum
from sporbar.fetch.credentials import Credentials
from sporbar.fetch.download import Download, Policy, download, download_all
from sporbar.fetch.errors import AuthError, DownloadError, IntegrityError
from sporbar.redaction import redact_url

DATA = os.urandom(3 * 1024 * 1024 + 17)
MD5 = hashlib.md5(DATA).hexdigest()
SHA = hashlib.sha256(DATA).hexdigest()
FAST = Policy(tries=3, retries=3, backoff=0.01, max_backoff=2.0, timeout=10, progress=False)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_plain_download_md5_and_multihash(server: Loopback, tmp_path: Path) -> None:
    server.routes["/p.zip"] = Route(body=DATA)
    out = download(Download(server.url("/p.zip"), tmp_path / "p.zip", checksum=Checksum("md5", MD5)), FAST)
    assert out.read_bytes() == DATA
    out2 = download(Download(server.url("/p.zip"), tmp_path / "q.zip",
                             checksum=Checksum.parse("1220" + SHA), size=len(DATA)), FAST)
    assert out2.read_bytes() == DATA
    assert _leftovers(tmp_path) == ["p.zip", "q.zip"]
    # already there and verified: no new request
    n = len(server.log)
    download(Download(server.url("/p.zip"), tmp_path / "p.zip", checksum=Checksum("md5", MD5)), FAST)
    assert len(server.log) == n


def test_checksum_parse() -> None:
    assert Checksum.parse("1220" + SHA) == Checksum("sha256", SHA)
    assert Checksum.parse("d50110" + MD5) == Checksum("md5", MD5)
    assert Checksum.parse(MD5.upper()) == Checksum("md5", MD5)
    assert Checksum.parse("sha256:" + SHA) == Checksum("sha256", SHA)


def test_429_with_retry_after_then_503(server: Loopback, tmp_path: Path) -> None:
    server.routes["/p"] = Route(body=DATA, faults=[("status", 429, {"Retry-After": "1"}), ("status", 503)])
    t0 = time.monotonic()
    download(Download(server.url("/p"), tmp_path / "p", checksum=Checksum("md5", MD5)), FAST)
    assert time.monotonic() - t0 >= 0.9  # Retry-After honoured, not the 0.01 s backoff
    assert len(server.requests_to("/p")) == 3
    assert _leftovers(tmp_path) == ["p"]


def test_503_forever_gives_up_and_leaves_nothing(server: Loopback, tmp_path: Path) -> None:
    server.routes["/p"] = Route(body=DATA, faults=[("status", 503)] * 10)
    with pytest.raises(DownloadError, match=r"^prod-x: giving up after 4 requests .*HTTP 503"):
        download(Download(server.url("/p"), tmp_path / "p", name="prod-x"), FAST)
    assert _leftovers(tmp_path) == []


def test_connection_cut_resumes_with_range(server: Loopback, tmp_path: Path) -> None:
    server.routes["/p"] = Route(body=DATA, faults=[("cut", 1_000_000)])
    download(Download(server.url("/p"), tmp_path / "p", checksum=Checksum("sha256", SHA)), FAST)
    assert (tmp_path / "p").read_bytes() == DATA
    reqs = server.requests_to("/p")
    assert len(reqs) == 2 and reqs[1]["Range"].startswith("bytes=") and int(reqs[1]["Range"][6:-1]) > 0
    assert _leftovers(tmp_path) == ["p"]


def test_connection_cut_without_range_support_restarts(server: Loopback, tmp_path: Path) -> None:
    server.routes["/p"] = Route(body=DATA, ranges=False, faults=[("cut", 500_000)])
    download(Download(server.url("/p"), tmp_path / "p", checksum=Checksum("md5", MD5)), FAST)
    assert (tmp_path / "p").read_bytes() == DATA


def test_wrong_checksum_refetched_then_clear_error(server: Loopback, tmp_path: Path) -> None:
    server.routes["/p"] = Route(body=DATA, faults=[("corrupt",)])
    download(Download(server.url("/p"), tmp_path / "p", checksum=Checksum("md5", MD5)), FAST)
    assert len(server.requests_to("/p")) == 2 and (tmp_path / "p").read_bytes() == DATA

    server.routes["/bad"] = Route(body=DATA)
    with pytest.raises(IntegrityError, match=r"^S2B_PRODUCT: download .* still corrupted after 3 tries \(md5"):
        download(Download(server.url("/bad"), tmp_path / "bad", name="S2B_PRODUCT",
                          checksum=Checksum("md5", "0" * 32)), FAST)
    assert len(server.requests_to("/bad")) == 3
    assert _leftovers(tmp_path) == ["p"]


def test_body_shorter_than_its_content_length_is_never_kept(server: Loopback, tmp_path: Path) -> None:
    """Issue 12.7: with no size or checksum known, HTTP Content-Length still decides: a body cut short
    every time is retried, then refused naming the file; nothing is left at the destination."""
    server.routes["/p"] = Route(body=DATA, ranges=False, faults=[("cut", 1000)] * 20)
    dest = tmp_path / "band.jp2"
    with pytest.raises(DownloadError, match=r"^band.jp2: giving up after 4 requests"):
        download(Download(server.url("/p"), dest), FAST)
    assert _leftovers(tmp_path) == []


def test_truncated_size_refetched(server: Loopback, tmp_path: Path) -> None:
    server.routes["/p"] = Route(body=DATA[:-5])
    with pytest.raises(IntegrityError, match="size"):
        download(Download(server.url("/p"), tmp_path / "p", size=len(DATA)), FAST)
    assert _leftovers(tmp_path) == []


def test_bad_zip_refetched(server: Loopback, tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("A.SAFE/x.txt", "hello" * 1000)
    good = buf.getvalue()
    server.routes["/z.zip"] = Route(body=good, faults=[("corrupt",)])
    download(Download(server.url("/z.zip"), tmp_path / "z.zip", validate=check_zip), FAST)
    assert len(server.requests_to("/z.zip")) == 2


def test_401_fails_at_once_naming_the_credential(server: Loopback, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.netrc
    monkeypatch.setenv("DHUS_USER", "alice")
    monkeypatch.setenv("DHUS_PASSWORD", "wrong-s3cret")
    server.routes["/p"] = Route(body=DATA, auth=("alice", "right"))
    creds = Credentials(user_env="DHUS_USER", password_env="DHUS_PASSWORD", netrc_host="127.0.0.1")
    out = tmp_path / "out"
    with pytest.raises(AuthError) as err:
        download(Download(server.url("/p"), out / "p", credentials=creds), FAST)
    msg = str(err.value)
    assert "HTTP 401" in msg and "$DHUS_USER and $DHUS_PASSWORD" in msg and "machine 127.0.0.1" in msg
    assert "wrong-s3cret" not in msg
    assert len(server.requests_to("/p")) == 1
    assert _leftovers(out) == []


def test_netrc_credentials(server: Loopback, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine 127.0.0.1 login bob password n3trc-pw\n")
    netrc.chmod(0o600)
    server.routes["/p"] = Route(body=DATA, auth=("bob", "n3trc-pw"))
    creds = Credentials(user_env="NOPE_USER", password_env="NOPE_PW", netrc_host="127.0.0.1")
    download(Download(server.url("/p"), tmp_path / "p", credentials=creds), FAST)
    assert (tmp_path / "p").read_bytes() == DATA


def test_parallel_downloads(server: Loopback, tmp_path: Path) -> None:
    for i in range(6):
        server.routes[f"/f{i}"] = Route(body=DATA[i:])
    ds = [Download(server.url(f"/f{i}"), tmp_path / f"f{i}", size=len(DATA) - i) for i in range(6)]
    paths = download_all(ds, FAST, workers=3)
    assert [p.stat().st_size for p in paths] == [len(DATA) - i for i in range(6)]


def test_redact() -> None:
    u = "https://user:pa55@host.example/a/b?token=abc&se=2024&sig=XYZ&collection=s2"
    r = redact_url(u)
    assert "pa55" not in r and "abc" not in r and "XYZ" not in r and "user" not in r
    assert "collection=s2" in r and r.startswith("https://host.example/a/b?")


def test_safe_extract_refuses_traversal(tmp_path: Path) -> None:
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("X.SAFE/ok.txt", "fine")
        zf.writestr("X.SAFE/../../escaped.txt", "bad")
    target = tmp_path / "target"
    with pytest.raises(InputDataError, match=r"escaped.txt' would be written outside"):
        safe_extract(evil, target)
    assert not (tmp_path / "escaped.txt").exists()
    assert _leftovers(target) == []
    absolute = tmp_path / "abs.zip"
    with zipfile.ZipFile(absolute, "w") as zf:
        zf.writestr("/etc/evil", "bad")
    with pytest.raises(InputDataError, match="outside"):
        safe_extract(absolute, target)
    ok = tmp_path / "ok.zip"
    with zipfile.ZipFile(ok, "w") as zf:
        zf.writestr("Y.SAFE/GRANULE/a.txt", "fine")
    assert safe_extract(ok, target) == [target / "Y.SAFE"]
    assert (target / "Y.SAFE/GRANULE/a.txt").read_text() == "fine"

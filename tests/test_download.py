"""asr.download against a local HTTP server (127.0.0.1 only): full and resumed
downloads, checksums, servers that ignore Range, and safe, idempotent unpacking."""

import hashlib
import json
import io
import tarfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from asr import download as dl
from asr.errors import AsrError

TIMEOUT = 5.0  # seconds, for every request


class RangeHandler(BaseHTTPRequestHandler):
    """Serves files from `server.root`, honouring `Range: bytes=N-` unless
    `server.ignore_range`; records (path, Range header, body bytes sent)
    before replying."""

    def do_GET(self) -> None:
        path = self.server.root / self.path.lstrip("/")
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        wanted = self.headers.get("Range")
        start = int(wanted[len("bytes="):].rstrip("-")) if wanted and not self.server.ignore_range else 0
        if start >= len(data) and wanted and not self.server.ignore_range:
            self.server.log.append((self.path, wanted, 0))
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{len(data)}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = data[start:]
        self.server.log.append((self.path, wanted, len(body)))  # before replying: the client may be quicker
        self.send_response(206 if start else 200)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "served"
    root.mkdir()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), RangeHandler)
    httpd.root, httpd.ignore_range, httpd.log = root, False, []
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(TIMEOUT)


def make_tar(path: Path, files: dict[str, bytes], top: str = "corpus") -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def archive(server) -> Path:
    files = {"a.txt": b"alpha\n" * 2000, "sub/b.txt": bytes(range(256)) * 40}
    return make_tar(server.root / "corpus.tar.gz", files)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_full_download_with_checksum(server, archive, tmp_path):
    dest = tmp_path / "got" / "corpus.tar.gz"
    lines = []
    out = dl.download(f"{server.url}/corpus.tar.gz", dest, sha(archive), log=lines.append, timeout=TIMEOUT)
    assert out == dest and dest.read_bytes() == archive.read_bytes()
    assert not dest.with_name(dest.name + ".part").exists() and lines
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    dl.download(f"{server.url}/corpus.tar.gz", dest, sha(archive), md5=md5, timeout=TIMEOUT)
    assert len(server.log) == 1  # the finished, matching file is not fetched again


def test_resume_requests_only_the_rest(server, archive, tmp_path):
    dest = tmp_path / "corpus.tar.gz"
    data = archive.read_bytes()
    half = len(data) // 2
    dest.with_name(dest.name + ".part").write_bytes(data[:half])
    dl.download(f"{server.url}/corpus.tar.gz", dest, sha(archive), timeout=TIMEOUT)
    assert server.log == [("/corpus.tar.gz", f"bytes={half}-", len(data) - half)]
    assert dest.read_bytes() == data


def test_complete_part_is_not_fetched_again(server, archive, tmp_path):
    dest = tmp_path / "corpus.tar.gz"
    dest.with_name(dest.name + ".part").write_bytes(archive.read_bytes())
    dl.download(f"{server.url}/corpus.tar.gz", dest, sha(archive), timeout=TIMEOUT)
    assert server.log[0][2] == 0 and dest.read_bytes() == archive.read_bytes()


def test_server_ignoring_range_restarts(server, archive, tmp_path):
    server.ignore_range = True
    dest = tmp_path / "corpus.tar.gz"
    dest.with_name(dest.name + ".part").write_bytes(b"garbage" * 10)
    dl.download(f"{server.url}/corpus.tar.gz", dest, sha(archive), timeout=TIMEOUT)
    assert dest.read_bytes() == archive.read_bytes()


def test_checksum_mismatch(server, archive, tmp_path):
    dest = tmp_path / "corpus.tar.gz"
    wrong = "0" * 64
    with pytest.raises(AsrError) as e:
        dl.download(f"{server.url}/corpus.tar.gz", dest, wrong, timeout=TIMEOUT)
    message = str(e.value)
    assert "corpus.tar.gz" in message and wrong in message and sha(archive) in message
    assert not dest.exists() and not dest.with_name(dest.name + ".part").exists()


def test_http_errors_and_schemes(server, tmp_path):
    with pytest.raises(AsrError, match="404"):
        dl.download(f"{server.url}/missing.tar.gz", tmp_path / "x", timeout=TIMEOUT)
    with pytest.raises(AsrError, match="http"):
        dl.download(f"file://{tmp_path}/x", tmp_path / "y", timeout=TIMEOUT)


def test_extract_and_idempotent(archive, tmp_path):
    dest = tmp_path / "out"
    paths = dl.extract(archive, dest)
    assert (dest / "corpus" / "sub" / "b.txt").read_bytes() == bytes(range(256)) * 40
    assert dest / "corpus" / "a.txt" in paths
    (dest / "corpus" / "a.txt").write_text("changed")
    assert dl.extract(archive, dest) == paths
    assert (dest / "corpus" / "a.txt").read_text() == "changed"  # not unpacked again


def evil_tar(path: Path, kind: str) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo("ok.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"ok"))
        if kind == "dotdot":
            info = tarfile.TarInfo("../evil")
        elif kind == "absolute":
            info = tarfile.TarInfo(str(path.parent / "abs-evil"))
        elif kind == "symlink":
            info = tarfile.TarInfo("link")
            info.type, info.linkname = tarfile.SYMTYPE, "../.."
        elif kind == "through-link":
            link = tarfile.TarInfo("inner")
            link.type, link.linkname = tarfile.SYMTYPE, "."
            tar.addfile(link)
            info = tarfile.TarInfo("inner/../../evil")
        elif kind == "hardlink":
            info = tarfile.TarInfo("hard")
            info.type, info.linkname = tarfile.LNKTYPE, "../../etc/passwd"
        info.size = 0 if info.type in (tarfile.SYMTYPE, tarfile.LNKTYPE) else 4
        tar.addfile(info, io.BytesIO(b"evil") if info.size else None)
    return path


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "symlink", "through-link", "hardlink"])
def test_malicious_tar_refused(tmp_path, kind):
    archive = evil_tar(tmp_path / f"{kind}.tar.gz", kind)
    dest = tmp_path / "deep" / "out"
    with pytest.raises(AsrError, match="refused"):
        dl.extract(archive, dest)
    assert not (tmp_path / "deep" / "evil").exists() and not (tmp_path / "abs-evil").exists()
    assert not dl.is_extracted(archive, dest)


def test_malicious_zip_refused(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("../evil", "x")
    with pytest.raises(AsrError, match="refused"):
        dl.extract(archive, tmp_path / "out")
    good = tmp_path / "good.zip"
    with zipfile.ZipFile(good, "w") as z:
        z.writestr("d/f.txt", "x")
    assert dl.extract(good, tmp_path / "out") == [tmp_path / "out" / "d" / "f.txt"]


def test_fetch_from_base_url(server, tmp_path, monkeypatch):
    make_tar(server.root / "tiny.tar.gz", {"x.wav": b"RIFF"}, top="tiny")
    source = dl.Source("test corpus", {"all": dl.Archive("https://example.invalid/tiny.tar.gz",
                                                         sha256=sha(server.root / "tiny.tar.gz"))}, "tiny", ("all",))
    monkeypatch.setitem(dl.SOURCES, "tiny", source)
    root = tmp_path / "downloads"
    assert dl.fetch("tiny", root, base_url=server.url, timeout=TIMEOUT) == root / "tiny"
    assert (root / "tiny" / "x.wav").read_bytes() == b"RIFF"
    assert dl.fetch("tiny", root, base_url=server.url, timeout=TIMEOUT) == root / "tiny"
    assert len(server.log) == 1
    with pytest.raises(AsrError, match="unknown subset"):
        dl.fetch("tiny", root, ["nope"], base_url=server.url)


def test_sources_table():
    assert set(dl.SOURCES) == {"an4", "yesno", "librispeech"}
    libri = dl.SOURCES["librispeech"].archives
    assert libri["dev-clean"].url == "https://www.openslr.org/resources/12/dev-clean.tar.gz"
    assert all(a.sha256 is None or len(a.sha256) == 64 for s in dl.SOURCES.values() for a in s.archives.values())


def test_cli_prep_downloads_from_a_mirror_then_prepares(server, tmp_path):
    """`asr prep an4 OUT --download --mirror URL`: fetch, unpack, import, as a user with internet would."""
    from typer.testing import CliRunner

    from asr_cli.main import app
    from test_importers import an4_tree

    tree = an4_tree(tmp_path / "tree" / "an4", ".wav")
    with tarfile.open(server.root / "an4_sphere.tar.gz", "w:gz") as tar:
        tar.add(tree, arcname="an4")
    result = CliRunner().invoke(app, ["prep", "an4", str(tmp_path / "data"), "--download", "--src", str(tmp_path / "dl"),
                                      "--mirror", server.url, "-q"])
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "dl" / "an4" / "etc" / "an4_train.transcription").is_file()
    rows = [json.loads(l) for l in (tmp_path / "data" / "test.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == ["an406-fcaw-b"]
    assert "train\t" in result.stdout

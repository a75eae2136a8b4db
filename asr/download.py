"""Downloading corpora: resumable, checksum-verified HTTP(S) and safe unpacking.

    folder = fetch("yesno", Path("downloads"), log=print)   # -> downloads/waves_yesno
    corpora.prepare("yesno", "data/yesno", folder)

`download()` writes to `<dest>.part`, resumes it with a Range request on the
next call (restarting when the server ignores Range), verifies the checksum
and only then renames the file into place. `extract()` refuses any archive
member that would land outside the destination and leaves a marker so that
a second call does nothing. No proxy settings are read from the environment;
pass `proxies` (e.g. `urllib.request.getproxies()`) to use one.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import tarfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from asr.errors import AsrError, ConfigError
from asr.manifest import atomic_write_text

CHUNK = 1 << 20  # bytes per read
Log = Callable[[str], None]


def _silent(message: str) -> None:
    pass


@dataclass(frozen=True)
class Archive:
    """One downloadable file and its published checksums (hex digests)."""

    url: str
    sha256: str | None = None
    md5: str | None = None

    @property
    def filename(self) -> str:
        return self.url.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Source:
    """A corpus: its archives by subset, the ones fetched by default, and the
    folder (under the download root) to give `asr prep` as --src."""

    description: str
    archives: dict[str, Archive]
    folder: str
    default: tuple[str, ...] = field(default=())


_SLR12 = "https://www.openslr.org/resources/12"
# SHA-256 digests of LibriSpeech and yesno as published in torchaudio.datasets
# (librispeech.py _CHECKSUMS, yesno.py _RELEASE_CONFIGS). AN4 has none we can
# vouch for: it is fetched unverified (pass a digest to download() to check it).
_LIBRISPEECH_SHA256 = {
    "dev-clean": "76f87d090650617fca0cac8f88b9416e0ebf80350acb97b343a85fa903728ab3",
    "dev-other": "12661c48e8c3fe1de2c1caa4c3e135193bfb1811584f11f569dd12645aa84365",
    "test-clean": "39fde525e59672dc6d1551919b1478f724438a95aa55f874b576be21967e6c23",
    "test-other": "d09c181bba5cf717b3dee7d4d592af11a3ee3a09e08ae025c5506f6ebe961c29",
    "train-clean-100": "d4ddd1d5a6ab303066f14971d768ee43278a5f2a0aa43dc716b0e64ecbbbf6e2",
    "train-clean-360": "146a56496217e96c14334a160df97fffedd6e0a04e66b9c5af0d40be3c792ecf",
    "train-other-500": "ddb22f27f96ec163645d53215559df6aa36515f26e01dd70798188350adcb6d2",
}

SOURCES: dict[str, Source] = {
    "an4": Source(
        "CMU AN4, NIST SPHERE edition (64 MB)",
        {"an4": Archive("https://dldata-public.s3.us-east-2.amazonaws.com/an4_sphere.tar.gz")},
        folder="an4", default=("an4",),
    ),
    "yesno": Source(
        "OpenSLR SLR1 yesno (5 MB)",
        {"yesno": Archive("https://www.openslr.org/resources/1/waves_yesno.tar.gz",
                          sha256="c3f49e0cca421f96b75b41640749167b52118f232498667ca7a5f9416aef8e73")},
        folder="waves_yesno", default=("yesno",),
    ),
    "librispeech": Source(
        "OpenSLR SLR12 LibriSpeech (dev/test ~350 MB each, train-clean-100 6.3 GB, -360 23 GB, -other-500 30 GB)",
        {name: Archive(f"{_SLR12}/{name}.tar.gz", sha256=digest) for name, digest in _LIBRISPEECH_SHA256.items()},
        folder="LibriSpeech", default=("dev-clean", "test-clean", "train-clean-100"),
    ),
}


def download(
    url: str, dest: Path, sha256: str | None = None, *, md5: str | None = None, log: Log = _silent,
    timeout: float = 30.0, proxies: dict[str, str] | None = None,
) -> Path:
    """Fetch `url` to `dest`, resuming `dest.part`, verifying the checksum(s).

    Args:
        url: http:// or https:// address.
        dest: final path; an existing file is kept if it matches the checksum(s).
        sha256, md5: expected hex digests (None: not checked).
        timeout: seconds each connect or read may wait.
        proxies: {"https": "http://proxy:3128", ...}; None connects directly.

    Raises:
        AsrError naming the file and both digests on a checksum mismatch (the
        partial file is removed), or saying what failed (the partial file is
        kept so that the next call resumes).
    """
    dest = Path(dest)
    if not re.match(r"https?://", url, re.IGNORECASE):
        raise AsrError(f"{url}: only http:// and https:// downloads are supported")
    expected = {k: v.lower() for k, v in (("sha256", sha256), ("md5", md5)) if v}
    if dest.is_file():
        if not expected or _digests(dest, expected) == expected:
            log(f"{dest}: already downloaded")
            return dest
        log(f"{dest}: checksum differs from the expected one; downloading again")
        dest.unlink()
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler(proxies or {}))
    got = _fetch(opener, url, part, expected, timeout, log)
    if got != expected:
        part.unlink(missing_ok=True)
        shown = "; ".join(f"{k} expected {expected[k]}, got {got[k]}" for k in expected if got[k] != expected[k])
        raise AsrError(f"{dest.name}: checksum mismatch ({shown}); the download was removed "
                       "(run again; if it persists the source or the published digest changed)")
    os.replace(part, dest)
    log(f"{dest}: done")
    return dest


def _fetch(opener, url: str, part: Path, expected: dict[str, str], timeout: float, log: Log,
           retried: bool = False) -> dict[str, str]:
    """Download into `part` (appending when the server honours Range); return its digests."""
    start = part.stat().st_size if part.is_file() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={start}-"} if start else {})
    try:
        with opener.open(request, timeout=timeout) as response:
            resumed = bool(start) and response.status == 206 and _range_start(response) == start
            if start and not resumed:
                log(f"{url}: the server does not resume downloads; starting again")
            return _copy(response, part, start if resumed else 0, expected, log, url)
    except urllib.error.HTTPError as e:
        if e.code == 416 and start and not retried:
            # Range not satisfiable: the part is complete (or longer than the file).
            total = _total_of(e.headers.get("Content-Range", ""))
            if total == start:
                return _digests(part, expected)
            part.unlink()
            return _fetch(opener, url, part, expected, timeout, log, retried=True)
        raise AsrError(f"{url}: HTTP {e.code} {e.reason}") from None
    except (urllib.error.URLError, http.client.HTTPException, OSError) as e:
        reason = getattr(e, "reason", None) or e
        raise AsrError(f"{url}: download failed ({reason}); run again to resume from {part}") from None


def _copy(response, part: Path, start: int, expected: dict[str, str], log: Log, url: str) -> dict[str, str]:
    """Stream the response body into `part` from byte `start`, hashing as it goes."""
    hashers = {name: hashlib.new(name) for name in expected}
    if start:
        _hash_file(part, hashers)
        log(f"{url}: resuming at {start / 1e6:.1f} MB")
    length = response.headers.get("Content-Length")
    total = start + int(length) if length and length.isdigit() else None
    done, shown = start, -1
    with open(part, "ab" if start else "wb") as f:
        while chunk := response.read(CHUNK):
            f.write(chunk)
            for h in hashers.values():
                h.update(chunk)
            done += len(chunk)
            if total and int(10 * done / total) > shown:
                shown = int(10 * done / total)
                log(f"{part.name}: {done / 1e6:.1f} of {total / 1e6:.1f} MB")
    if total is not None and done < total:
        raise AsrError(f"{url}: the connection closed after {done} of {total} bytes; run again to resume")
    return {name: h.hexdigest() for name, h in hashers.items()}


def _range_start(response) -> int | None:
    found = re.match(r"bytes (\d+)-", response.headers.get("Content-Range", ""))
    return int(found.group(1)) if found else None


def _total_of(content_range: str) -> int | None:
    found = re.search(r"/(\d+)$", content_range.strip())
    return int(found.group(1)) if found else None


def _hash_file(path: Path, hashers: dict) -> None:
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            for h in hashers.values():
                h.update(chunk)


def _digests(path: Path, expected: dict[str, str]) -> dict[str, str]:
    hashers = {name: hashlib.new(name) for name in expected}
    _hash_file(path, hashers)
    return {name: h.hexdigest() for name, h in hashers.items()}


def marker_path(archive: Path, dest: Path) -> Path:
    """The file `extract()` leaves in `dest` once `archive` is fully unpacked."""
    return Path(dest) / f".{Path(archive).name}.extracted"


def extract(archive: Path, dest: Path) -> list[Path]:
    """Unpack a tar (.tar, .tar.gz, .tar.bz2, .tar.xz) or zip archive into `dest`.

    Members that would land outside `dest` (absolute paths, `..`, links to
    outside, writes through a link) and device files are refused with
    AsrError. A second call after a success reads the marker and returns
    the same paths without unpacking again.

    Returns:
        The paths of the archive's members under `dest`, in archive order.
    """
    archive, dest = Path(archive), Path(dest)
    marker = marker_path(archive, dest)
    if marker.is_file():
        return [dest / name for name in json.loads(marker.read_text(encoding="utf-8"))["members"]]
    if not archive.is_file():
        raise AsrError(f"{archive}: no such archive")
    dest.mkdir(parents=True, exist_ok=True)
    try:
        if zipfile.is_zipfile(archive):
            names = _extract_zip(archive, dest)
        elif tarfile.is_tarfile(archive):
            names = _extract_tar(archive, dest)
        else:
            raise AsrError(f"{archive}: not a tar or zip archive")
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as e:
        raise AsrError(f"{archive}: cannot be unpacked ({type(e).__name__}: {e}); download it again") from None
    atomic_write_text(marker, json.dumps({"archive": archive.name, "members": names}))
    return [dest / name for name in names]


def _extract_tar(archive: Path, dest: Path) -> list[str]:
    """Check and unpack members one by one: one pass over a compressed stream."""
    root, links, names = dest.resolve(), set(), []
    with tarfile.open(archive, "r:*") as tar:
        for member in tar:
            _check_member(archive, member.name, root, links)
            if member.issym() or member.islnk():
                base = root / member.name if member.issym() else root / "_"
                _check_link(archive, member.name, member.linkname, base.parent, root)
                links.add(os.path.normpath(member.name))
            elif not (member.isfile() or member.isdir()):
                raise AsrError(f"{archive}: refused member {member.name!r}: not a file, folder or link")
            if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4: a second line of defence
                tar.extract(member, dest, filter="data")
            else:
                tar.extract(member, dest)
            names.append(os.path.normpath(member.name))
    return names


def _extract_zip(archive: Path, dest: Path) -> list[str]:
    # zipfile never creates links (a link entry becomes a file holding its target).
    root, names = dest.resolve(), []
    with zipfile.ZipFile(archive) as z:
        for info in z.infolist():
            _check_member(archive, info.filename, root, set())
            z.extract(info, dest)
            names.append(os.path.normpath(info.filename))
    return names


def _check_member(archive: Path, name: str, root: Path, links: set[str]) -> None:
    """Refuse an absolute name, one that resolves outside `root`, or one written through a link."""
    if os.path.isabs(name) or name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:[\\/]", name):
        raise AsrError(f"{archive}: refused member {name!r}: absolute path")
    if not _inside(root / name, root):
        raise AsrError(f"{archive}: refused member {name!r}: it would be written outside {root}")
    parts = Path(os.path.normpath(name)).parts
    for i in range(1, len(parts)):
        if os.path.join(*parts[:i]) in links:
            raise AsrError(f"{archive}: refused member {name!r}: it would be written through a link")


def _check_link(archive: Path, name: str, target: str, base: Path, root: Path) -> None:
    if os.path.isabs(target) or not _inside(base / target, root):
        raise AsrError(f"{archive}: refused link {name!r} -> {target!r}: it points outside {root}")


def _inside(path: Path, root: Path) -> bool:
    return Path(os.path.abspath(path)).resolve().is_relative_to(root)


def is_extracted(archive: Path, dest: Path) -> bool:
    return marker_path(archive, dest).is_file()


def fetch(
    corpus: str, root: Path, subsets: Sequence[str] | None = None, *, base_url: str | None = None,
    log: Log = _silent, timeout: float = 30.0, proxies: dict[str, str] | None = None,
    keep_archives: bool = True,
) -> Path:
    """Download and unpack `corpus` (a key of SOURCES) into `root`.

    Args:
        subsets: archives to fetch (LibriSpeech: dev-clean, ...); None: the
            corpus's defaults.
        base_url: fetch the archives from here instead (same file names), e.g.
            a mirror or a local test server.
        keep_archives: False deletes each archive once unpacked.

    Returns:
        The folder to give `asr prep` as --src (e.g. root/waves_yesno).
    """
    if corpus not in SOURCES:
        raise ConfigError(f"no download for corpus {corpus!r} (known: {', '.join(SOURCES)})")
    source, root = SOURCES[corpus], Path(root)
    names = list(subsets) if subsets else list(source.default)
    unknown = [n for n in names if n not in source.archives]
    if unknown:
        raise ConfigError(f"{corpus}: unknown subset(s) {', '.join(unknown)} (known: {', '.join(source.archives)})")
    for name in names:
        a = source.archives[name]
        path = root / a.filename
        if is_extracted(path, root):
            log(f"{corpus} {name}: already unpacked in {root}")
            continue
        url = f"{base_url.rstrip('/')}/{a.filename}" if base_url else a.url
        download(url, path, a.sha256, md5=a.md5, log=log, timeout=timeout, proxies=proxies)
        extract(path, root)
        log(f"{corpus} {name}: unpacked into {root}")
        if not keep_archives:
            path.unlink()
    folder = root / source.folder
    if not folder.is_dir():
        raise AsrError(f"{folder}: not found after unpacking {corpus} (the archive layout changed?)")
    return folder

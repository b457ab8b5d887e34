#!/usr/bin/python3
"""A tiny token service for docker-registry's `auth.token` (tests only).

Usage: oci_token_server.py PORTFILE KEY.pem CERT.pem ISSUER USER:PASS

Listens on 127.0.0.1 (a free port, written to PORTFILE), checks HTTP basic
credentials against USER:PASS and answers GET /token?service=S&scope=...
with a JWT (RS256, the signing certificate in the x5c header) granting the
requested actions.  Every request is logged to stderr as "token <scopes>".
"""
import base64
import http.server
import json
import os
import sys
import time
import urllib.parse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

PORTFILE, KEYFILE, CERTFILE, ISSUER, CREDS = sys.argv[1:6]
with open(KEYFILE, "rb") as f:
    KEY = serialization.load_pem_private_key(f.read(), password=None)
with open(CERTFILE, "rb") as f:
    CERT_DER = x509.load_pem_x509_certificate(f.read()).public_bytes(serialization.Encoding.DER)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_token(service, scopes, subject):
    access = []
    for scope in scopes:
        parts = scope.split(":")
        if len(parts) >= 3 and parts[0] == "repository":
            access.append({"type": "repository", "name": ":".join(parts[1:-1]),
                           "actions": parts[-1].split(",")})
    now = int(time.time())
    header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(CERT_DER).decode()]}
    claims = {"iss": ISSUER, "sub": subject, "aud": service, "exp": now + 300,
              "nbf": now - 10, "iat": now, "jti": os.urandom(8).hex(), "access": access}
    signing_input = (b64url(json.dumps(header).encode()) + "." +
                     b64url(json.dumps(claims).encode())).encode()
    sig = KEY.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return signing_input.decode() + "." + b64url(sig)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        query = urllib.parse.parse_qs(url.query)
        scopes = query.get("scope", [])
        sys.stderr.write("token %s\n" % " ".join(scopes))
        sys.stderr.flush()
        auth = self.headers.get("Authorization", "")
        user = None
        if auth.startswith("Basic "):
            try:
                pair = base64.b64decode(auth[6:]).decode()
            except ValueError:
                pair = ""
            if pair == CREDS:
                user = pair.split(":", 1)[0]
        if url.path != "/token" or user is None:
            body = json.dumps({"errors": [{"code": "UNAUTHORIZED",
                                           "message": "invalid username or password"}]})
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body.encode())
            return
        token = make_token(query.get("service", [""])[0], scopes, user)
        body = json.dumps({"token": token, "access_token": token, "expires_in": 300})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, fmt, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(PORTFILE + ".tmp", PORTFILE)
server.serve_forever()

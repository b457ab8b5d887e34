#!/usr/bin/env python3
"""state_secrets.py STATE: print every secret the state file holds, one a
line: the string values under each resource's "secrets", and, with
HOIST_STATE_KEY (64 hex characters) set, those of "secrets_sealed", opened
here independently of hoist (AES-256-GCM; base64 of IV(12) | tag(16) |
ciphertext, after the "aes-256-gcm:" prefix).  Exit 1 when a sealed field
does not open."""
import base64
import json
import os
import sys


def leaves(v):
    if isinstance(v, dict):
        for x in v.values():
            yield from leaves(x)
    elif isinstance(v, list):
        for x in v:
            yield from leaves(x)
    elif isinstance(v, str) and v:
        yield v


def main():
    doc = json.load(open(sys.argv[1]))
    key = os.environ.get("HOIST_STATE_KEY")
    for r in doc.get("resources", {}).values():
        yield_from = list(leaves(r.get("secrets", {})))
        sealed = r.get("secrets_sealed")
        if sealed:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM
            raw = base64.b64decode(sealed[len("aes-256-gcm:"):])
            plain = AESGCM(bytes.fromhex(key)).decrypt(raw[:12], raw[28:] + raw[12:28], None)
            yield_from += list(leaves(json.loads(plain)))
        for s in yield_from:
            print(s)


main()

"""Compare hoist's SigV4 with botocore's on random requests.

Usage: sigv4_botocore.py SIGV4_TOOL [COUNT] [SEED]
Generates COUNT requests from a seeded RNG (methods, paths with unicode and
reserved characters and dot segments, repeated and unsorted query keys,
folded whitespace in headers, repeated headers, empty/text/binary bodies,
with and without a session token, S3 and non-S3, presigned URLs, EKS
tokens), signs each with botocore and with hoist (through SIGV4_TOOL), and
prints one TAP line per comparison group plus a diagnostic per mismatch.
"""
import base64
import datetime
import json
import random
import subprocess
import sys
from urllib.parse import quote, urlsplit, parse_qsl

from botocore.auth import SigV4Auth, S3SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

tool = sys.argv[1]
count = int(sys.argv[2]) if len(sys.argv) > 2 else 250
rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 20240601)

PATH_CHARS = list("abcXYZ019-_.~") + list("!$&'()*+,;=:@ %") + ["é", "ሴ", "日本", "ü"]
QUERY_CHARS = list("abcXYZ019-_.~") + list("!$'()*+,;:@/? =&%") + ["é", "ሴ", "€"]
HEADER_NAMES = ["X-Amz-Meta-Color", "Content-Type", "x-custom", "My-Header1", "X-Amz-Target",
                "Accept", "x-amz-meta-ÿ".encode("ascii", "ignore").decode() or "x-m"]


def rand_str(chars, lo, hi):
    return "".join(rng.choice(chars) for _ in range(rng.randint(lo, hi)))


def rand_path(s3):
    segs = []
    for _ in range(rng.randint(0, 5)):
        r = rng.random()
        if not s3 and r < 0.1:
            segs.append(rng.choice([".", "..", ""]))
        else:
            segs.append(rand_str(PATH_CHARS, 1, 8))
    p = "/" + "/".join(segs)
    if rng.random() < 0.2:
        p += "/"
    if s3:  # S3 paths are sent encoded; botocore signs them as given
        p = quote(p, safe="/~")
    return p


def rand_query():
    pairs = []
    keys = [rand_str(QUERY_CHARS, 1, 6) for _ in range(rng.randint(0, 3))]
    for _ in range(rng.randint(0, 6)):
        if not keys:
            break
        k = rng.choice(keys)  # repeated keys, unsorted
        v = "" if rng.random() < 0.2 else rand_str(QUERY_CHARS, 1, 8)
        pairs.append((k, v))
    return pairs


def rand_headers():
    hs = []
    for _ in range(rng.randint(0, 4)):
        name = rng.choice(HEADER_NAMES)
        if rng.random() < 0.3:
            name = name.upper()
        v = rand_str(list("abc XYZ 1-/=;,\t"), 0, 12)
        if rng.random() < 0.3:
            v = "  " + v + "   "
        hs.append((name, v))
    return hs


def ts_of(t):
    return datetime.datetime.utcfromtimestamp(t).strftime("%Y%m%dT%H%M%SZ")


def sign_botocore(r, presign=False):
    creds = Credentials(r["ak"], r["sk"], r.get("token"))
    if presign:
        auth = SigV4QueryAuth(creds, r["service"], r["region"], expires=r["expires"])
    elif r.get("s3"):
        auth = S3SigV4Auth(creds, r["service"], r["region"])
    else:
        auth = SigV4Auth(creds, r["service"], r["region"])
    req = AWSRequest(method=r["method"], url=r["base_url"], data=bytes.fromhex(r["body_hex"]),
                     params=r["params"])
    for n, v in r["headers"]:
        req.headers[n] = v  # HTTPHeaders appends: repeated names stay repeated
    req.context["timestamp"] = ts_of(r["time"])
    auth._modify_request_before_signing(req)
    creq = auth.canonical_request(req)
    sts = auth.string_to_sign(req, creq)
    sig = auth.signature(sts, req)
    auth._inject_signature_to_request(req, sig)
    return creq, sig, req


def make(i):
    s3 = rng.random() < 0.25
    method = rng.choice(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"])
    host = rng.choice(["example.amazonaws.com", "EC2.us-east-1.AmazonAWS.com",
                       "bucket.s3.eu-west-3.amazonaws.com:8443", "sts.amazonaws.com:443"])
    params = rand_query()
    qs = "&".join(quote(k, safe="-_.~") + "=" + quote(v, safe="-_.~") for k, v in params)
    base = "https://" + host + rand_path(s3)
    body = rng.choice([b"", b"Action=DescribeVpcs&Version=2016-11-15",
                       bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))])
    r = {"method": method, "base_url": base, "url": base + ("?" + qs if qs else ""),
         "params": params, "headers": rand_headers(), "body_hex": body.hex(),
         "ak": "AKID" + str(i), "sk": "secret/" + rand_str(list("abcXYZ+/0"), 10, 30),
         "service": "s3" if s3 else rng.choice(["ec2", "iam", "eks", "service"]),
         "region": rng.choice(["us-east-1", "eu-west-3", "ap-southeast-2"]),
         "time": rng.randint(1420070400, 1893456000), "s3": s3}
    if rng.random() < 0.5:
        r["token"] = "tok/" + rand_str(list("abcXYZ+/=0"), 20, 60)
    return r


def run_tool(reqs):
    lines = "".join(json.dumps({k: v for k, v in r.items() if k not in ("params", "base_url")})
                    + "\n" for r in reqs)
    out = subprocess.run([tool], input=lines.encode(), stdout=subprocess.PIPE, check=False)
    got = [json.loads(l) for l in out.stdout.decode().splitlines()]
    if out.returncode != 0 or len(got) != len(reqs):
        print("not ok - %s exited %d after %d of %d answers" % (tool, out.returncode, len(got), len(reqs)))
        sys.exit(1)
    return got


n_test = 0
failed_any = False


def report(name, bad, total):
    global n_test, failed_any
    n_test += 1
    print(("ok" if not bad else "not ok") + " %d - %s: %d/%d agree" % (n_test, name, total - bad, total))
    failed_any |= bool(bad)


# 1. Header signing.
reqs = [make(i) for i in range(count)]
got = run_tool(reqs)
bad = 0
for r, g in zip(reqs, got):
    creq, sig, _ = sign_botocore(r)
    if g.get("creq") != creq or g.get("sig") != sig:
        bad += 1
        if bad <= 3:
            print("# mismatch for %s %r\n# botocore creq:\n# %s\n# hoist creq:\n# %s" % (
                r["method"], r["url"], creq.replace("\n", "\n# "),
                str(g.get("creq", g)).replace("\n", "\n# ")))
report("header signing (%d with session token, %d S3)" % (
    sum(1 for r in reqs if "token" in r), sum(1 for r in reqs if r["s3"])), bad, len(reqs))

# 2. Presigned URLs: GET, unique query keys, no body (botocore's query
#    signer folds parameters into a dict).
pre = []
for i in range(60):
    r = make(count + i)
    r.update(method="GET", body_hex="", s3=False, expires=rng.randint(1, 604800))
    seen, params = set(), []
    for k, v in r["params"]:
        if k not in seen:
            seen.add(k)
            params.append((k, v))
    r["params"] = params
    r["url"] = r["base_url"] + ("?" + "&".join(quote(k, safe="-_.~") + "=" + quote(v, safe="-_.~")
                                               for k, v in params) if params else "")
    pre.append(r)
got = run_tool(pre)
bad = 0
for r, g in zip(pre, got):
    r2 = dict(r)
    r2["params"] = {}
    r2["base_url"] = r["url"]
    creq, sig, _ = sign_botocore(r2, presign=True)
    if g.get("sig") != sig:
        bad += 1
        if bad <= 3:
            print("# presign mismatch for %r\n# botocore:\n# %s\n# hoist:\n# %s" % (
                r["url"], creq.replace("\n", "\n# "), str(g.get("creq", g)).replace("\n", "\n# ")))
report("presigned URLs", bad, len(pre))

# 3. EKS tokens: hoist's token decodes to a URL whose signature botocore
#    reproduces for the STS GetCallerIdentity request with x-k8s-aws-id.
eks = []
for i in range(20):
    r = make(count + 100 + i)
    r.update(service="sts", eks_cluster="cluster-" + str(i))
    eks.append(r)
got = run_tool(eks)
bad = 0
for r, g in zip(eks, got):
    tok = g.get("token", "")
    ok = tok.startswith("k8s-aws-v1.") and "=" not in tok
    url = base64.urlsafe_b64decode(tok[11:] + "=" * (-len(tok[11:]) % 4)).decode() if ok else ""
    q = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    sts_url = "https://sts.%s.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15" % r["region"]
    b = {"method": "GET", "base_url": sts_url, "params": {}, "headers": [("x-k8s-aws-id", r["eks_cluster"])],
         "body_hex": "", "ak": r["ak"], "sk": r["sk"], "token": r.get("token"), "service": "sts",
         "region": r["region"], "time": r["time"], "expires": 60}
    _, sig, _ = sign_botocore(b, presign=True)
    if not ok or q.get("X-Amz-Signature") != sig or q.get("X-Amz-Expires") != "60" \
            or not url.startswith(sts_url + "&"):
        bad += 1
        if bad <= 3:
            print("# EKS token mismatch: %s" % url)
report("EKS tokens", bad, len(eks))

print("1..%d" % n_test)
sys.exit(1 if failed_any else 0)

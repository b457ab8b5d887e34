#!/usr/bin/env python3
"""storm_orphans.py STATE RESOURCES: print every resource hoist-sim holds
that the state file does not know, one per line (nothing: no orphan).

A simulated resource is known when it, or a resource it belongs to (its
parent chain), is named in the state by id or name, or carries the
ownership tag hoist:resource=<key> (any separator) of a resource the state
records: that is how the drivers find their objects again.  An id also
counts when the state holds it inside a longer string (an EKS cluster's
Kubernetes API is known by its endpoint URL, .../kube/<id>)."""
import json
import os
import sys


def strings(v, out):
    if isinstance(v, dict):
        for k, x in v.items():
            out.add(k)
            strings(x, out)
    elif isinstance(v, list):
        for x in v:
            strings(x, out)
    elif isinstance(v, str):
        out.add(v)


def main():
    try:
        state = json.load(open(sys.argv[1]))
    except FileNotFoundError:
        state = {"resources": {}}
    keys = set(state.get("resources", {}))
    known = set()
    strings(state, known)
    text = open(sys.argv[1]).read() if os.path.exists(sys.argv[1]) else ""
    res = json.load(open(sys.argv[2]))["resources"]
    by_id = {r["id"]: r for r in res}

    # the tag's value is the resource's key or (AWS) its name
    names = keys | {k.split("/", 1)[-1] for k in keys}

    def tagged(r):
        for t in r.get("tags") or []:
            if isinstance(t, str) and t.startswith("hoist:resource") and t[15:] in names:
                return True
        return False

    for r in res:
        chain, cur, seen = [], r, set()
        while cur is not None and cur["id"] not in seen:
            seen.add(cur["id"])
            chain.append(cur)
            cur = by_id.get(cur.get("parent"))
        if not any(c["id"] in known or c.get("name") in known or tagged(c) or
                   (len(c["id"]) >= 8 and c["id"] in text) for c in chain):
            print("%s/%s/%s" % (r["cloud"], r["type"], r.get("name") or r["id"]))


main()

#!/usr/bin/env python3
"""The daemon's layers, checked (HACKING.md): every file calls only downward.

    layers.py SRCDIR BUILDDIR

1. Includes: a file includes headers of its own layer and the layers below only, and core and
   engine include nothing of libevent, libcurl, sockets or systemd.
2. Calls: from the object files' symbols (nm), every reference from one daemon file to another
   goes to the same layer or a lower one, and the references among files form no cycle.
   Backends and the engine meet only through the ops table: function pointers, not symbols.
3. Every header has an include guard of its own: two headers sharing one hide each other.
Prints TAP; each violation is named with the file and what it reaches.
"""
import os
import re
import subprocess
import sys

# What each layer may include and call, itself included.
BELOW = {
    "proto": {"proto"},
    "core": {"proto", "core"},
    "engine": {"proto", "core", "engine"},
    "io": {"proto", "core", "io"},
    "backend": {"proto", "core", "engine", "io", "backend"},
    "rpc": {"proto", "core", "engine", "io", "rpc"},
    "main": {"proto", "core", "engine", "io", "backend", "rpc", "main"},
}
# The model's layers have no I/O of their own: no event loop, no HTTP, no sockets.
NO_IO = {"core", "engine", "proto"}
IO_HEADERS = re.compile(r"^(event2/|curl/|systemd/|sys/socket\.h|sys/epoll\.h|poll\.h)")
IO_CALLS = re.compile(r"^(event_|evbuffer_|bufferevent_|evconnlistener_|evtimer_|evutil_|curl_|sd_"
                      r"|socket$|connect$|bind$|listen$|accept4?$|send|recv|poll$|ppoll$|epoll_)")
PROTO_HEADERS = {"proto.h", "wire.h"}


def layer_of_path(rel):
    """'daemon/engine/stop.c' -> 'engine'; 'proto/reader.c' -> 'proto'."""
    parts = rel.split("/")
    if parts[0] == "proto":
        return "proto"
    if parts[0] == "daemon":
        return "main" if len(parts) == 2 else parts[1]
    return None


def layer_of_include(name):
    if name in PROTO_HEADERS:
        return "proto"
    if "/" not in name and os.path.exists(os.path.join(SRC, "daemon", name)):
        return "main"   # the wiring's own headers, beside main.c
    first = name.split("/")[0]
    return first if first in BELOW and "/" in name else None


def sources(src):
    for top in ("proto", "daemon"):
        for dirpath, _, files in os.walk(os.path.join(src, top)):
            for f in sorted(files):
                if f.endswith((".c", ".h")):
                    yield os.path.relpath(os.path.join(dirpath, f), src)


def check_includes(src):
    bad = []
    for rel in sources(src):
        layer = layer_of_path(rel)
        text = open(os.path.join(src, rel), encoding="utf-8").read()
        for m in re.finditer(r'^#include\s+([<"])([^>"]+)[>"]', text, re.M):
            kind, name = m.groups()
            if kind == "<":
                if layer in NO_IO and IO_HEADERS.match(name):
                    bad.append("%s includes <%s>: %s has no I/O" % (rel, name, layer))
                continue
            if layer == "proto":
                if name not in PROTO_HEADERS and "/" in name:
                    bad.append("%s includes \"%s\": proto includes only proto" % (rel, name))
                continue
            target = layer_of_include(name)
            if target is None:
                bad.append("%s includes \"%s\": name the layer (core/..., engine/...)" % (rel, name))
            elif target not in BELOW[layer]:
                bad.append("%s (%s) includes \"%s\" of %s, a layer above or beside it"
                           % (rel, layer, name, target))
    return bad


def objects(build):
    """{object path: source rel path} for the proto and daemon libraries and main."""
    out = {}
    for sub in ("proto", "daemon"):
        base = os.path.join(build, sub)
        for dirpath, _, files in os.walk(base):
            if not dirpath.endswith(".p"):
                continue
            for f in files:
                if not f.endswith(".c.o"):
                    continue
                # meson names objects after the source path with '/' as '_'.
                stem = f[:-4]
                for cand in (stem.replace("_", "/", 1), stem):
                    rel = os.path.join(sub, cand + ".c")
                    if os.path.exists(os.path.join(SRC, rel)):
                        out[os.path.join(dirpath, f)] = rel
                        break
    return out


def nm(path, *flags):
    res = subprocess.run(["nm", *flags, path], capture_output=True, text=True, check=True)
    return [line.split()[-1] for line in res.stdout.splitlines() if line.strip()]


def check_calls(build):
    objs = objects(build)
    defined = {}
    for obj, rel in objs.items():
        for sym in nm(obj, "-g", "--defined-only"):
            defined.setdefault(sym, rel)
    edges = {}
    bad = []
    for obj, rel in objs.items():
        layer = layer_of_path(rel)
        for sym in nm(obj, "-u"):
            target = defined.get(sym)
            if target is None and layer in NO_IO and IO_CALLS.match(sym):
                bad.append("%s (%s) calls %s: %s has no I/O" % (rel, layer, sym, layer))
            if target is None or target == rel:
                continue
            edges.setdefault(rel, set()).add(target)
            if layer_of_path(target) not in BELOW[layer]:
                bad.append("%s (%s) calls %s of %s (%s), a layer above or beside it"
                           % (rel, layer, sym, target, layer_of_path(target)))
    return bad, cycles(edges), len(objs), sum(len(v) for v in edges.values())


def cycles(edges):
    """Strongly connected components with more than one file (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def check_guards(src):
    """Headers without a guard, and guards two headers share."""
    seen, bad = {}, []
    for top in ("proto", "daemon", "client", "tests", "bench"):
        for dirpath, _, files in os.walk(os.path.join(src, top)):
            for f in sorted(files):
                if not f.endswith(".h"):
                    continue
                rel = os.path.relpath(os.path.join(dirpath, f), src)
                m = re.search(r"^#ifndef\s+(\w+)\s*\n#define\s+\1\b",
                              open(os.path.join(src, rel), encoding="utf-8").read(), re.M)
                if m is None:
                    bad.append("%s has no include guard" % rel)
                elif m.group(1) in seen:
                    bad.append("%s and %s share the guard %s" % (seen[m.group(1)], rel, m.group(1)))
                else:
                    seen[m.group(1)] = rel
    return bad, len(seen)


def tap(n, ok, desc, details):
    print("%s %d - %s" % ("ok" if ok else "not ok", n, desc))
    for d in details:
        print("# " + d)


if __name__ == "__main__":
    SRC, BUILD = sys.argv[1], sys.argv[2]
    print("1..4")
    inc = check_includes(SRC)
    tap(1, not inc, "every file includes only its own layer's headers and those below", inc)
    calls, cyc, nobj, nedges = check_calls(BUILD)
    tap(2, nobj > 20 and not calls,
        "every call between files goes to the same layer or below (%d files, %d edges)"
        % (nobj, nedges), calls)
    tap(3, nobj > 20 and not cyc, "no cycle of calls among the files",
        ["cycle: " + " -> ".join(c) for c in cyc])
    guards, nguards = check_guards(SRC)
    tap(4, nguards > 20 and not guards, "every header has an include guard of its own (%d)" % nguards,
        guards)

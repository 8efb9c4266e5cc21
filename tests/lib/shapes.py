"""The shapes PROTOCOL.md gives in its ```shapes blocks, and a checker for decoded messages.

    from shapes import Shapes
    s = Shapes("proto/PROTOCOL.md")
    s.check("status.result", value)   # [] or a list of what does not match, with paths

Grammar: type = alt ("|" alt)*; alt = str | int | bool | nil | "literal" | [type] | [type, type...]
(a tuple) | {key: type, key?: type, ...} (no other key may appear) | a name defined in a block.
"""
import re

TOKEN = re.compile(r'\s*(?:("(?:[^"\\]|\\.)*")|([A-Za-z_][A-Za-z0-9_.]*)|(.))')


class Shapes:
    def __init__(self, path):
        self.defs = {}
        text = open(path, encoding="utf-8").read()
        for block in re.findall(r"```shapes\n(.*?)```", text, re.S):
            for line in block.strip().splitlines():
                name, _, body = line.partition("=")
                self.toks = [t for t in TOKEN.findall(body)]
                self.pos = 0
                self.defs[name.strip()] = self._type()
                if self.pos != len(self.toks):
                    raise ValueError("shape %s: trailing text" % name.strip())

    # Parsing.
    def _peek(self):
        if self.pos >= len(self.toks):
            return None
        lit, word, ch = self.toks[self.pos]
        return lit or word or ch

    def _next(self):
        t = self._peek()
        self.pos += 1
        return t

    def _expect(self, ch):
        if self._next() != ch:
            raise ValueError("expected %r in a shape" % ch)

    def _type(self):
        alts = [self._alt()]
        while self._peek() == "|":
            self._next()
            alts.append(self._alt())
        return ("union", alts) if len(alts) > 1 else alts[0]

    def _alt(self):
        t = self._next()
        if t is None:
            raise ValueError("a shape ends early")
        if t.startswith('"'):
            return ("lit", t[1:-1])
        if t == "[":
            items = [self._type()]
            while self._peek() == ",":
                self._next()
                items.append(self._type())
            self._expect("]")
            return ("array", items[0]) if len(items) == 1 else ("tuple", items)
        if t == "{":
            fields = {}
            while self._peek() != "}":
                key = self._next()
                optional = self._peek() == "?"
                if optional:
                    self._next()
                self._expect(":")
                fields[key] = (optional, self._type())
                if self._peek() == ",":
                    self._next()
            self._expect("}")
            return ("map", fields)
        if t in ("str", "int", "bool", "nil"):
            return (t,)
        return ("ref", t)

    # Checking.
    def check(self, name, value):
        errors = []
        self._check(self.defs[name], value, name, errors)
        return errors

    def _check(self, shape, v, path, errors):
        kind = shape[0]
        if kind == "ref":
            return self._check(self.defs[shape[1]], v, path, errors)
        if kind == "union":
            best = None
            for alt in shape[1]:
                sub = []
                self._check(alt, v, path, sub)
                if not sub:
                    return
                if best is None or len(sub) < len(best):
                    best = sub
            errors.extend(best)
            return
        ok = {
            "str": lambda: isinstance(v, str),
            "int": lambda: isinstance(v, int) and not isinstance(v, bool),
            "bool": lambda: isinstance(v, bool),
            "nil": lambda: v is None,
            "lit": lambda: v == shape[1],
            "array": lambda: isinstance(v, list),
            "tuple": lambda: isinstance(v, list) and len(v) == len(shape[1]),
            "map": lambda: isinstance(v, dict),
        }[kind]()
        if not ok:
            errors.append("%s: %r is not %s" % (path, v, kind if kind != "lit" else repr(shape[1])))
            return
        if kind == "array":
            for i, item in enumerate(v):
                self._check(shape[1], item, "%s[%d]" % (path, i), errors)
        elif kind == "tuple":
            for i, (sub, item) in enumerate(zip(shape[1], v)):
                self._check(sub, item, "%s[%d]" % (path, i), errors)
        elif kind == "map":
            for key, (optional, sub) in shape[1].items():
                if key in v:
                    self._check(sub, v[key], "%s.%s" % (path, key), errors)
                elif not optional:
                    errors.append("%s: no %s" % (path, key))
            for key in v:
                if key not in shape[1]:
                    errors.append("%s: %s is not in PROTOCOL.md" % (path, key))

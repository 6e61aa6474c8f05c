"""Arguments resolved over (id, name) pairs already read: the one rule the CLI's fast pre-check and the
ORM path share (this module imports nothing heavy until a name, not an id, has to be looked up)."""


def _looks_like_id(text: str) -> bool:
    return text.isascii() and not text.isalpha()


def resolve_pairs(what: str, arguments: list[str], pairs: list[tuple[str, str]]) -> list[tuple[str, str | None]]:
    """Each argument as (id, how it was understood or None for an id given as such). An argument that is
    a stored id, or that looks like an id (E999) and matches nothing, passes through unchanged so the
    command reports it exactly as before; a name that is ambiguous or matches nothing raises LookupError.
    ``what``: the kind's Chinese word (企业, 需求 …) for the messages."""
    ids = {id_ for id_, _ in pairs}
    if all(a in ids for a in arguments):
        return [(a, None) for a in arguments]
    from matcher.lookup.names import NameIndex

    index, names = NameIndex(pairs), dict(pairs)
    out = []
    for argument in arguments:
        if argument in ids:
            out.append((argument, None))
            continue
        try:
            found = index.resolve(argument, what)
        except LookupError:
            if _looks_like_id(argument.strip()) and not index.search(argument, limit=1):
                out.append((argument, None))
                continue
            raise
        out.append((found, f"{what}「{argument}」→ {names[found]} ({found})"))
    return out

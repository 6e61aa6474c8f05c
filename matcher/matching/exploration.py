"""The exploration slot: teams (or enterprises) with no outcome history yet still get shown.

Feedback only ever learns about pairs that were shown, so a list made purely of proven names would
starve newcomers. Each list reserves ``slots`` places for candidates with no recorded outcome at all:
when the list does not already hold that many, its last places go to the most relevant newcomers that
pass the same filters and are still clearly relevant (raw score >= MIN_RAW). Lists shorter than
MIN_LIST are left alone. Those entries are marked
in their explanation; newcomers that earned their place are not.
"""

from collections.abc import Callable, Sequence

MIN_RAW = 1.0  # the weakest newcomer worth a slot (display score about 0.42)
MIN_LIST = 5  # shorter lists are a pick of the very best; they are left as they are
NOTE = "探索位：该{what}尚无对接记录，在同样没有记录的候选中相关度最高，留一个位置给新{what}"


def explore(chosen: Sequence[str], ranked: Sequence[tuple[str, float]], is_new: Callable[[str], bool], top: int,
            slots: int, min_raw: float = MIN_RAW) -> tuple[list[str], set[str]]:
    """``chosen``: the list as made (keys in order); ``ranked``: every passing candidate (key, raw score)
    best first. Returns the list with newcomers placed last, and the keys placed by exploration."""
    chosen = list(chosen)
    wanted = slots - sum(1 for k in chosen if is_new(k))
    if slots <= 0 or wanted <= 0 or top < MIN_LIST:
        return chosen, set()
    newcomers = [k for k, raw in ranked if raw >= min_raw and k not in chosen and is_new(k)][:wanted]
    if not newcomers:
        return chosen, set()
    room = max(0, top - len(chosen))
    drop = max(0, len(newcomers) - room)
    for i in range(len(chosen) - 1, -1, -1):  # give up the lowest proven entries
        if drop and not is_new(chosen[i]):
            del chosen[i]
            drop -= 1
    return chosen + newcomers, set(newcomers)

"""Keep one institution from dominating a list.

Two policies, chosen by a string so that it can travel through CLI options, HTTP parameters and
settings alike: ``cap:N`` (at most N results per institution; the default, cap:3) and ``mmr:L``
(each further result from an institution already listed loses L points of raw score per earlier
one: a softer cap that still lets a clearly better team through). ``none`` keeps the raw order.
"""

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

DEFAULT_DIVERSITY = "cap:3"


@dataclass(frozen=True)
class Policy:
    kind: str  # "cap" | "mmr" | "none"
    amount: float

    @classmethod
    def parse(cls, text: str | None) -> "Policy":
        text = (text or DEFAULT_DIVERSITY).strip().lower()
        if text == "none":
            return cls("none", 0.0)
        kind, _, amount = text.partition(":")
        try:
            value = float(amount)
        except ValueError:
            value = -1.0
        if (kind not in ("cap", "mmr") or not math.isfinite(value) or value < 0 or value > 1000
                or (kind == "cap" and (value < 1 or value != int(value)))):
            raise ValueError(f"多样性设置 {text} 无效：可用 cap:N（每个单位最多 N 个，N≥1）、mmr:L（0≤L≤1000）或 none")
        return cls(kind, value)


def diversify(items: Sequence[tuple[str, str, float]], top: int, policy: Policy) -> tuple[list[str], dict[str, str]]:
    """Pick ``top`` of (key, group, raw score) items, best first (items come sorted by score).

    Returns the chosen keys in order and, for items passed over because of the policy while they would
    otherwise have made the list, the reason (for ``--why``).
    """
    if policy.kind == "none":
        return [k for k, _, _ in items[:top]], {}
    if policy.kind == "cap":
        chosen, held, counts = [], {}, Counter()
        for key, group, _ in items:
            if len(chosen) == top:
                break
            if counts[group] >= policy.amount:
                held[key] = f"已有 {int(policy.amount)} 个同单位团队在列表中（多样性上限 cap:{int(policy.amount)}）"
                continue
            counts[group] += 1
            chosen.append(key)
        return chosen, held
    remaining, chosen, counts, held = list(items), [], Counter(), {}
    while remaining and len(chosen) < top:
        best = max(range(len(remaining)), key=lambda i: remaining[i][2] - policy.amount * counts[remaining[i][1]])
        if best != 0:
            key, group, _ = remaining[0]
            held.setdefault(key, f"同单位已有 {counts[group]} 个团队入选，按 mmr:{policy.amount:g} 降权")
        key, group, _ = remaining.pop(best)
        held.pop(key, None)
        counts[group] += 1
        chosen.append(key)
    return chosen, held

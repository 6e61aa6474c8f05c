"""Build the blind dev set files from the writer's source files. Plain python (csv/json/openpyxl) only."""
import csv, json, os, re, sys
from collections import defaultdict

sys.path.insert(0, os.path.dirname(__file__))
from industries import IND, ENT_IND, team_fields
from needs_src import N

ROOT = "/work/main/data"
OUT = os.path.join(ROOT, "blind")

teams = {r["id"]: r for r in csv.DictReader(open(f"{ROOT}/sample/teams.csv", encoding="utf-8-sig"))}
ach = defaultdict(list)
for l in open(f"{ROOT}/sample/achievements.jsonl", encoding="utf-8"):
    a = json.loads(l)
    ach[a["team_id"]].append(a)

# --- sanity
missing = [t for t in teams if not team_fields(t)]
assert not missing, missing
for f, ts in IND.items():
    for t in ts:
        assert t in teams, (f, t)
ids = [n["id"] for n in N]
assert len(ids) == len(set(ids))
for n in N:
    assert n["e"] in ENT_IND, n["id"]
    assert ENT_IND[n["e"]] == n["inds"][0], (n["id"], ENT_IND[n["e"]], n["inds"])
    for t, g in n["g"].items():
        assert t in teams and g in (0, 1, 2, 3), (n["id"], t)


def team_text(t):
    r = teams[t]
    s = r["name"] + r["description"]
    for a in ach[t]:
        s += a["title"] + a["abstract"] + a["keywords"]
    return s


PUNCT = re.compile(r"[\s，。、；：！？（）()“”\"'《》,.;:!?/\-—～~%·]")


def shared(a, b, k=5):
    """substrings of length >=k of a (no punctuation) found in b"""
    out = set()
    segs = [s for s in PUNCT.split(a) if len(s) >= k]
    for s in segs:
        i = 0
        while i <= len(s) - k:
            j = i + k
            if s[i:j] in b:
                while j < len(s) and s[i:j + 1] in b:
                    j += 1
                out.add(s[i:j])
                i = j
            else:
                i += 1
    return out


def need_grades(n):
    judged = {}
    for f in n["inds"]:
        for t in IND[f]:
            judged[t] = 0
    for t, g in n["g"].items():
        judged[t] = g
    return judged


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    # needs.csv
    with open(f"{OUT}/needs.csv", "w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(["编号", "企业编号", "需求名称", "需求描述", "关键词", "预算（万元）", "截止日期"])
        for n in N:
            w.writerow([n["id"], n["e"], n["name"], n["desc"], n["kw"], n["budget"], n["dl"]])
    # need_teams.jsonl
    judged_ind = {}
    cnt = defaultdict(int)
    good = 0
    with open(f"{OUT}/need_teams.jsonl", "w", encoding="utf-8") as f:
        for n in N:
            jg = need_grades(n)
            for t in sorted(jg):
                f.write(json.dumps({"need_id": n["id"], "team_id": t, "grade": jg[t], "judged": "exhaustive"}, ensure_ascii=False) + "\n")
                cnt[jg[t]] += 1
            if max(jg.values()) >= 2:
                good += 1
            extra = sorted(t for t in n["g"] if not any(t in IND[x] for x in n["inds"]))
            judged_ind[n["id"]] = {"industries": n["inds"], "extra_teams_judged": extra}
    json.dump(judged_ind, open(f"{OUT}/_src/need_judged.json", "w", encoding="utf-8"), ensure_ascii=False, indent=1)
    print("needs", len(N), "pairs", sum(cnt.values()), dict(sorted(cnt.items())), "needs with >=2:", good)
    # overlap check
    bad = 0
    for n in N:
        txt = n["name"] + "，" + n["desc"] + "，" + n["kw"]
        for t, g in n["g"].items():
            if g >= 2:
                s = shared(txt, team_text(t))
                if s:
                    bad += 1
                    print("OVERLAP", n["id"], t, g, sorted(s, key=len, reverse=True))
    print("overlaps:", bad)


def build_reverse():
    from rev_fields import TEAMS_REV
    from rev_src import B_EXTRA, SAMPLE
    S = list(csv.DictReader(open(f"{ROOT}/sample/needs.csv", encoding="utf-8-sig")))
    sid = {r["编号"]: r for r in S}
    cnt = defaultdict(int)
    out = {}
    with open(f"{OUT}/team_needs.jsonl", "w", encoding="utf-8") as f:
        for t, fs in TEAMS_REV.items():
            for k in list(B_EXTRA.get(t, {})) + list(SAMPLE.get(t, {})):
                assert k in sid or k in {n["id"] for n in N}, (t, k)
            for n in N:
                jg = need_grades(n)
                if t in jg:
                    g = jg[t]
                    assert t not in B_EXTRA or n["id"] not in B_EXTRA[t], (t, n["id"], "already judged")
                else:
                    g = B_EXTRA.get(t, {}).get(n["id"], 0)
                f.write(json.dumps({"team_id": t, "need_id": n["id"], "grade": g, "judged": "exhaustive"}, ensure_ascii=False) + "\n")
                cnt[g] += 1
            pool = [r["编号"] for r in S if ENT_IND[r["企业编号"]] in fs]
            for k in SAMPLE.get(t, {}):
                assert k in pool, (t, k, "not in pool")
            for k in pool:
                g = SAMPLE.get(t, {}).get(k, 0)
                f.write(json.dumps({"team_id": t, "need_id": k, "grade": g, "judged": "exhaustive"}, ensure_ascii=False) + "\n")
                cnt[g] += 1
            out[t] = {"industries_for_sample_needs": fs, "b_needs": "all", "n_sample_needs_judged": len(pool)}
    print("team_needs pairs", sum(cnt.values()), dict(sorted(cnt.items())))
    return out


if __name__ == "__main__":
    rev = build_reverse()
    ji = json.load(open(f"{OUT}/_src/need_judged.json", encoding="utf-8"))
    json.dump({"note": "need_teams: every team listed under these fields in _src/industries.py (plus extra_teams_judged) was graded; team_needs: every B need plus every sample need whose enterprise is in the listed fields was graded. Pairs absent from the jsonl files are unjudged.",
               "fields_team_sets": IND, "needs": ji, "teams": rev},
              open(f"{OUT}/judged_industries.json", "w", encoding="utf-8"), ensure_ascii=False, indent=1)

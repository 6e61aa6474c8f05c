# Candidate team sets per industry/field, written by the blind writer from teams.csv + achievements.jsonl.
# A team may sit in several fields (cross-cutting capability teams: vision, control/MES, kilns, waste heat...).
# "Judging a need exhaustively over field X" = every team listed under X got an explicit grade.

def _r(a, b, prefix="T"):
    return [f"{prefix}{i}" for i in range(a, b + 1)]

IND = {
    "工业陶瓷": ["T101", "T102", "T107", "T108", "T109", "T112", "T119", "T122", "T126", "T214", "T301", "T312", "T321", "T324"],
    "先进陶瓷": ["T101", "T103", "T104", "T105", "T106", "T109", "T110", "T111", "T113", "T115", "T116", "T117", "T118", "T121", "T213"],
    "节能环保": ["T103", "T107", "T108", "T112", "T119", "T120", "T123", "T124", "T214", "T224"] + _r(301, 315) + ["T322", "T326", "T626"],
    "电瓷电气": _r(201, 216) + ["T426"],
    "空压机": _r(217, 225),
    "建筑陶瓷": ["T102", "T124", "T209"] + _r(316, 325),
    "电子电路": ["T106", "T115"] + _r(401, 413),
    "数字经济": ["T114", "T125", "T207", "T221", "T225", "T226", "T326"] + _r(414, 426) + ["T609"],
    "锂电": ["T116", "T122", "T325"] + _r(501, 513) + ["T522"],
    "稀土": _r(514, 521),
    "新材料": ["T204", "T212", "T216", "T409"] + _r(522, 526),
    "航空制造": ["T105"] + _r(601, 610),
    "生物医药": _r(611, 618),
    "食品": ["T422", "T617"] + _r(619, 626),
}

# industry of each enterprise (from enterprises.xlsx)
ENT_IND = {}
for e in ["E101", "E102", "E104", "E107", "E110", "E113"]:
    ENT_IND[e] = "工业陶瓷"
for e in ["E103", "E105", "E106", "E108", "E109", "E111", "E112", "E114"]:
    ENT_IND[e] = "先进陶瓷"
for i in range(201, 209):
    ENT_IND[f"E{i}"] = "电瓷电气"
for i in range(209, 215):
    ENT_IND[f"E{i}"] = "空压机"
for i in range(301, 308):
    ENT_IND[f"E{i}"] = "节能环保"
for i in range(308, 315):
    ENT_IND[f"E{i}"] = "建筑陶瓷"
for i in range(401, 409):
    ENT_IND[f"E{i}"] = "电子电路"
for i in range(409, 415):
    ENT_IND[f"E{i}"] = "数字经济"
for i in range(501, 508):
    ENT_IND[f"E{i}"] = "锂电"
for i in range(508, 511):
    ENT_IND[f"E{i}"] = "稀土"
for i in range(511, 515):
    ENT_IND[f"E{i}"] = "新材料"
for i in range(601, 605):
    ENT_IND[f"E{i}"] = "航空制造"
for i in range(605, 610):
    ENT_IND[f"E{i}"] = "生物医药"
for i in range(610, 615):
    ENT_IND[f"E{i}"] = "食品"


def team_fields(t):
    return [k for k, v in IND.items() if t in v]

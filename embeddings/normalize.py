"""One normal form for every text before it is encoded or tokenised.

Traditional -> simplified character by character (OpenCC tw2s). Text that contained traditional
characters also gets Taiwan technical vocabulary mapped to the mainland word (雷射 -> 激光,
感測器 -> 传感器), so a 台资 need meets a 简体 capability on equal terms. OpenCC's own phrase mode
(tw2sp) is not used: it rewrites ordinary simplified words too (批次 -> 批量, 元件 -> 组件).
NFKC folds full-width letters, digits and punctuation (ＰＣＢ，５Ｇ -> PCB,5G); whitespace runs
become one space. Case is kept: the encoder's vocabulary is cased; lexical tokenisers lower-case.
"""

import re
import unicodedata
from functools import cache

from opencc import OpenCC

_SPACE = re.compile(r"\s+")
# Dashes, tildes and quotes that differ only in shape.
_PUNCT = str.maketrans({"—": "-", "–": "-", "―": "-", "～": "~", "〜": "~", "“": '"', "”": '"', "‘": "'", "’": "'"})
# Taiwan -> mainland technical words (after character conversion), longest first.
TAIWAN_TERMS = {
    "积体电路": "集成电路", "记忆体": "内存", "伺服器": "服务器", "感测器": "传感器", "侦测": "检测",
    "雷射": "激光", "镭射": "激光", "软体": "软件", "硬体": "硬件", "韧体": "固件", "资讯": "信息",
    "网路": "网络", "程式": "程序", "晶片": "芯片", "电浆": "等离子体", "奈米": "纳米", "影像辨识": "图像识别",
    "数位": "数字", "类比": "模拟", "演算法": "算法", "资料库": "数据库", "资料": "数据", "品管": "质量管理",
    "制程": "工艺", "模组": "模块", "介面": "接口", "萤幕": "屏幕", "锂电池芯": "锂电芯",
    "塑胶": "塑料", "透过": "通过",
}
_TAIWAN = re.compile("|".join(sorted(map(re.escape, TAIWAN_TERMS), key=len, reverse=True)))


@cache
def _converter() -> OpenCC:
    return OpenCC("tw2s")


def to_simplified(text: str) -> str:
    simplified = _converter().convert(text)
    if simplified == text:
        return text  # already simplified: leave its wording alone
    return _TAIWAN.sub(lambda m: TAIWAN_TERMS[m[0]], simplified)


def normalize_text(text: str | None) -> str:
    """Simplified, half-width, single-spaced text; None and blank become ""."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text).translate(_PUNCT)
    return _SPACE.sub(" ", to_simplified(text)).strip()

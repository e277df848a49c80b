"""Shape-alike characters (形近字): a clerk who misreads handwriting writes 玮 for 伟, 钢 for 刚.

The character data is rules/reference/char_shapes.tsv: four-corner codes (四角号码), radicals
(部首) and components (拆字) of 20,902 characters, selected from the data files of the
char-similar package (its PyPI release pins old versions of tqdm and a segmenter, so the data is
copied rather than the package installed; license beside the file). Nothing here comes from the
sample generator's confusion table.

Two different characters are shape-alike when

- they share a component that is neither one's radical (伟 = 亻+韦 and 玮 = 王+韦; 刚 = 冈+刂 and
  钢 = 钅+冈), so a shared 亻 alone (伟, 何) does not count; or
- one is a component of the other (建, 健); or
- their four-corner codes agree in all four corners (己 and 已, 未 and 末, 王 and 玉).
"""

from __future__ import annotations

from functools import cache

from pipeline.settings import PROJECT_ROOT

SHAPES_FILE = PROJECT_ROOT / "rules" / "reference" / "char_shapes.tsv"

#: A radical's forms as a component: 亻 is written 人 in the components, 钅 is 金, and so on.
_RADICAL_FORMS = {
    "亻": "人",
    "钅": "金",
    "刂": "刀",
    "氵": "水",
    "扌": "手",
    "忄": "心",
    "犭": "犬",
    "纟": "糸",
    "讠": "言",
    "饣": "食",
    "艹": "草",
    "礻": "示",
    "衤": "衣",
    "王": "玉",
    "灬": "火",
    "攵": "攴",
    "罒": "网",
    "阝": "阜",
    "⺼": "肉",
}


@cache
def _table() -> dict[str, tuple[str, frozenset[str], frozenset[str]]]:
    """char -> (four-corner code, its radical's forms, its components)."""
    out: dict[str, tuple[str, frozenset[str], frozenset[str]]] = {}
    with SHAPES_FILE.open(encoding="utf-8") as f:
        for line in f:
            if line.startswith("#"):
                continue
            char, four, radical, parts = (line.rstrip("\n").split("\t") + ["", "", ""])[:4]
            forms = frozenset(x for x in (radical, _RADICAL_FORMS.get(radical, "")) if x)
            out[char] = (four[:4], forms, frozenset(parts.split()))
    return out


@cache
def shape_alike(a: str, b: str) -> bool:
    """Whether two characters look alike (see the module's rules).

    >>> [shape_alike(*p) for p in ["伟玮", "刚钢", "建健", "己已", "伟何", "张章", "伟伟"]]
    [True, True, True, True, False, False, False]
    """
    if a == b:
        return False
    t = _table()
    if a not in t or b not in t:
        return False
    fa, ra, ca = t[a]
    fb, rb, cb = t[b]
    if a in cb or b in ca:
        return True
    if len(fa) == 4 and fa == fb:
        return True
    return bool((ca & cb) - ra - rb)


def one_shape_alike(x: str, y: str) -> bool:
    """Two names of one length that differ in exactly one character, the two characters alike.

    >>> one_shape_alike("张伟", "张玮"), one_shape_alike("张伟", "张何"), one_shape_alike("王伟明", "玉玮明")
    (True, False, False)
    """
    if len(x) != len(y) or x == y:
        return False
    diff = [(p, q) for p, q in zip(x, y, strict=True) if p != q]
    return len(diff) == 1 and shape_alike(*diff[0])

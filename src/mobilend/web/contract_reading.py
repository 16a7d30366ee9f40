"""The contract in one language, for reading on the page.

The signed contract (``LoanContract.body``) is one bilingual text — each clause in
Simplified Chinese with its English beside it — and its SHA-256 and the PDF are of that
text, unchanged. A phone page in one language shows only that language's part: this
module splits the signed text line by line, keeping the words as signed and dropping the
other language. It knows the layouts ``render_contract`` writes; a line it does not
recognise makes it give up (``None``), and the page then shows the signed text whole
rather than a reading copy that could leave something out.
"""

from __future__ import annotations

import re

#: Chinese characters and full-width punctuation (，。：（）【】“” …).
_CJK = r"\u3000-\u303f\u3400-\u9fff\uff00-\uffef\u201c\u201d"
_HAS_CJK = re.compile(f"[{_CJK}]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")

#: ``中文 English`` (a title, an article heading, a table header cell).
_PAIR = re.compile(rf"^(?P<zh>[^A-Za-z]*[{_CJK}]) (?P<en>[A-Za-z][^{_CJK}]*)$")
#: ``中文 English: value`` (a field of the contract's head).
_FIELD = re.compile(rf"^(?P<zh>[^A-Za-z:]*[{_CJK}]) (?P<en>[A-Za-z][^{_CJK}:]*): (?P<value>.*)$")
#: ``★ 中文标签 English label: 中文值`` — the English value follows on an indented line
#: unless it reads the same (a rate).
_KEY_TERM = re.compile(rf"^★ (?P<zh>.*[{_CJK}]) (?P<en>[A-Za-z][^{_CJK}]*?): (?P<value>.*)$")
#: ``中文句子。 English sentence.`` on one line.
_SENTENCES = re.compile(rf"^(?P<zh>.*[。！？]) (?P<en>[A-Z][^{_CJK}]*)$")
#: ``value (English value)``: a name given in both languages (the lender).
_NAME_PAIR = re.compile(rf"^(?P<zh>.*[{_CJK}].*) \((?P<en>[^{_CJK}]*)\)$")
_BORROWER = re.compile(
    r"^借款人 Borrower: (?P<name>.*)（身份证号 ID (?P<id>[^，]*)，客户号 customer (?P<cid>.*)）$"
)
_PRODUCT = re.compile(
    r"^产品 Product: (?P<name>.*) \((?P<code>[^()]*)\)；放款日 start (?P<start>\S+)；"
    r"实际到账 paid out CNY (?P<paid>[\d,.]+)"
    r"（费用不从借款中扣除 (?P<fee_en>[^）]*)）。$"
)
_KEY_TERMS_HEADING = re.compile(
    r"^【(?P<zh1>\S+) (?P<en1>[A-Z ]+) — (?P<zh2>\S+) (?P<en2>[a-z ]+)】$"
)
#: A schedule row: numbers, dates and separators read the same in both languages.
_NEUTRAL = re.compile(r"^[\d.,:|\- ]*$")

Split = tuple[str, str]  # (中文, English) of one line


def _is_chinese(line: str) -> bool:
    """Chinese text, whose only Latin words are abbreviations in capitals (IP, APR)."""
    return bool(_HAS_CJK.search(line)) and all(w.isupper() for w in _LATIN_WORD.findall(line))


def _pair(text: str) -> Split | None:
    found = _PAIR.match(text)
    return (found["zh"], found["en"]) if found else None


def _value(value: str) -> Split:
    """A field's value in each language: a name given as ``中文 (English)`` is split."""
    found = _NAME_PAIR.match(value)
    if found:
        return found["zh"], found["en"]
    return value, value


def _name(name: str) -> Split:
    """A product name reads ``中文 / English``."""
    zh, sep, en = name.partition(" / ")
    return (zh, en) if sep and zh and en else (name, name)


def _line(line: str) -> Split | None:
    if _NEUTRAL.match(line):
        return line, line
    if found := _BORROWER.match(line):
        name, rid, cid = found["name"], found["id"], found["cid"]
        return f"借款人：{name}（身份证号 {rid}，客户号 {cid}）", (
            f"Borrower: {name} (ID {rid}, customer {cid})"
        )
    if found := _PRODUCT.match(line):
        zh, en = _name(found["name"])
        start, paid = found["start"], found["paid"]
        return (
            f"产品：{zh}；放款日 {start}；实际到账 {paid}元（费用不从借款中扣除）。",
            f"Product: {en}; start {start}; paid out CNY {paid} ({found['fee_en']}).",
        )
    if found := _KEY_TERMS_HEADING.match(line):
        return f"【{found['zh1']}——{found['zh2']}】", f"[{found['en1']} — {found['en2']}]"
    if " | " in line:  # the schedule's header: one pair per column
        cells = [_pair(cell) for cell in line.split(" | ")]
        if all(cells):
            return (
                " | ".join(c[0] for c in cells if c),
                " | ".join(c[1] for c in cells if c),
            )
        return None
    if found := _FIELD.match(line):
        zh_value, en_value = _value(found["value"])
        return f"{found['zh']}：{zh_value}", f"{found['en']}: {en_value}"
    if found := _SENTENCES.match(line):
        return found["zh"], found["en"]
    return _pair(line)


def split_contract(body: str) -> tuple[list[tuple[str, bool]], list[tuple[str, bool]]] | None:
    """The signed text as (Chinese lines, English lines), each line flagged when it is a
    key term (★); ``None`` when a line is not in a layout this module knows."""
    zh: list[tuple[str, bool]] = []
    en: list[tuple[str, bool]] = []
    lines = body.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.strip():
            zh.append(("", False))
            en.append(("", False))
            continue
        if found := _KEY_TERM.match(line):
            value_en = found["value"]
            if i < len(lines) and lines[i].startswith("  "):
                value_en = lines[i].strip()
                i += 1
            if _HAS_CJK.search(value_en):
                return None  # a Chinese value with no English beside it
            zh.append((f"★ {found['zh']}：{found['value']}", True))
            en.append((f"★ {found['en']}: {value_en}", True))
            continue
        split = _line(line)
        if split is not None:
            zh.append((split[0], False))
            en.append((split[1], False))
        elif _is_chinese(line):
            zh.append((line, False))
        elif not _HAS_CJK.search(line):
            en.append((line, False))
        else:
            return None
    return zh, en


def contract_in(body: str, lang: str) -> list[tuple[str, bool]] | None:
    """The lines of the signed text in ``lang`` ("zh" / "en"), or ``None`` (see above)."""
    split = split_contract(body)
    if split is None:
        return None
    return split[0] if lang == "zh" else split[1]

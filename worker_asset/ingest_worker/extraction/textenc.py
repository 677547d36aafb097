"""Decode bytes of unknown encoding: BOM, UTF-8, UTF-16/32, then the East Asian multi-byte
encodings, and a single-byte fallback only when none of them reads the bytes plausibly.

Windows tools in Japan write CP932 (Shift_JIS), older Unix systems EUC-JP, mail ISO-2022-JP;
Korean text is CP949/EUC-KR; Chinese GB18030/GB2312 or Big5. Their byte ranges overlap, so a
strict decode often succeeds in several of them. Each successful decode is scored by how
natural its characters are for the language it implies: kana for Japanese, common Hangul
syllables for Korean, common Han characters for Chinese; characters a wrong decode produces
(half-width katakana, compatibility jamo, rare Han, private use, controls) cost points.
"""
from __future__ import annotations

import codecs
import re
from typing import Optional, Tuple

# The most frequent characters of each script (from public frequency lists): a correct decode
# is mostly made of these, a wrong one draws from the whole code table.
_COMMON_HANGUL = set(
    "이다는의에하고을가로한지기서사리자대어나도정들해수그있인것시를으부보과만전적주게아성내일여"
    "상제라요구면우경원소거연중회동계세화관국위실미방문야무장조위학생분발민산선신간용감개결공"
    "다르통합된되었니까습니다입니습했다또한더때문에저희우리여러분모든같은없는있는하는되는위한에서"
    "으로부터까지보다처럼및등년월일시간오늘내일어제사람회사업무자료보고서관리시스템서비스운영개발"
    "확인요청처리결과문제해결방법내용사용자정보데이터설정변경추가삭제작업진행예정완료담당팀회의록")
_COMMON_JA_KANJI = set(
    "日一国人年大十二本中長出三時行見月分後前生五間上東四今金九入学高円子外八六下来気小七山話女北"
    "午百書先名川千水半男西電校語土木聞食車何南万毎白天母火右読友左休父雨会社議事録資料報告管理"
    "者部長課担当確認作業予定完了対応問題発生原因結果方法内容連絡開始終了期間場所以上以下必要"
    "場合情報設定変更追加削除登録利用使用機能運用開発試験環境本番障害手順実施次回参加議題決定"
    "検討説明提出承認依頼送付受領契約書類番号関係全体今後状況目的説明会議室様御願致申")
_COMMON_ZH_HANS = set(
    "的一是不了在人有我他这个们中来上大为和国地到以说时要就出会可也你对生能而子那得于着下自之年过"
    "发后作里用道行所然家种事成方多经么去法学如都同现当没动面起看定天分还进好小部其些主样理心她本"
    "前开但因只从想实日军者意无力它与长把机十民第公此已工使情明性知全三又关点正业外将两高间由问很"
    "最重并物手应战向头文体政美相见被利什二等产或新己制身果加西斯月话合回特代内信表化老给世位次度"
    "门任常先海通教儿原东声提立及比员解水名真论处走义各入几口认条平系气题活尔更别打女变四神总何电"
    "数安少报才结反受目太量再感建务做接必场件计管期市直德资命山金指克许统区保至队形社便空决治展")
_COMMON_ZH_HANT = set(
    "的一是不了在人有我他這個們中來上大為和國地到以說時要就出會可也你對生能而子那得於著下自之年過"
    "發後作裡用道行所然家種事成方多經麼去法學如都同現當沒動面起看定天分還進好小部其些主樣理心她本"
    "前開但因只從想實日軍者意無力它與長把機十民第公此已工使情明性知全三又關點正業外將兩高間由問很"
    "最重並物手應戰向頭文體政美相見被利什二等產或新己制身果加西斯月話合回特代內信表化老給世位次度"
    "門任常先海通教兒原東聲提立及比員解水名真論處走義各入幾口認條平系氣題活爾更別打女變四神總何電"
    "數安少報才結反受目太量再感建務做接必場件計管期市直德資命山金指克許統區保至隊形社便空決治展臺灣")
_COMMON_HAN = _COMMON_JA_KANJI | _COMMON_ZH_HANS | _COMMON_ZH_HANT

# Tried in this order; on equal scores the earlier wins. CP932 and CP949 are the Windows
# supersets of Shift_JIS and EUC-KR (what Windows tools actually write).
CJK_CANDIDATES = ("cp932", "euc_jp", "cp949", "gb18030", "big5",
                  # supersets with extra characters, for text the others cannot read
                  "shift_jis_2004", "euc_jis_2004", "big5hkscs",
                  # Korean Johab (KS X 1001 annex 3): its trail bytes 0x5b-0x60/0x7b-0x7e are
                  # invalid in CP949, so it only wins where CP949 cannot read the text.
                  "johab")
_ISO2022 = (("iso2022_jp_2", (b"\x1b$B", b"\x1b$@", b"\x1b(J", b"\x1b(I", b"\x1b$(D")),
            ("iso2022_kr", (b"\x1b$)C",)))
_SAMPLE = 64 * 1024  # bytes scored; decoding always covers the whole input
_LATIN_WORD = re.compile(r"[A-Za-z\u00c0-\u024f]+")


def _char_score(ch: str) -> float:
    o = ord(ch)
    if o < 0x80:
        return 0.0 if (o >= 0x20 or ch in "\t\r\n\f") else -3.0
    if 0x3040 <= o <= 0x30ff:               # hiragana, katakana
        return 1.5
    if 0xac00 <= o <= 0xd7a3:               # Hangul syllables
        return 1.5 if ch in _COMMON_HANGUL else -0.2
    if 0x4e00 <= o <= 0x9fff:               # CJK unified ideographs
        return 1.5 if ch in _COMMON_HAN else -0.2
    if 0x3000 <= o <= 0x303f or 0xff01 <= o <= 0xff5e:   # CJK punctuation, full-width ASCII
        return 0.5
    if 0xff61 <= o <= 0xff9f:               # half-width katakana: typical of a wrong CP932 read
        return -1.0
    if 0x3130 <= o <= 0x318f:               # compatibility jamo: typical of a wrong EUC-KR read
        return -1.0
    if 0xe000 <= o <= 0xf8ff or 0x80 <= o <= 0x9f or 0xf900 <= o <= 0xfaff:
        return -3.0                         # private use, C1 controls, compatibility ideographs
    if 0x3400 <= o <= 0x4dbf or o >= 0x20000:
        return -1.0                         # rare ideograph extensions
    if 0x0370 <= o <= 0x052f or 0x2500 <= o <= 0x257f:
        return -0.5                         # Greek, Cyrillic, box drawing inside a CJK read
    return 0.0


def _score(text: str) -> float:
    return sum(_char_score(c) for c in text)


def _strict(data: bytes, encoding: str) -> Optional[str]:
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _sample_decode(sample: bytes, encoding: str, whole: bool) -> Optional[str]:
    """Strict decode of the sample; a multi-byte character cut at its end is forgiven."""
    text = _strict(sample, encoding)
    if text is None and not whole:
        for cut in (1, 2, 3):
            text = _strict(sample[:-cut], encoding)
            if text is not None:
                break
    return text


def _utf16_without_bom(data: bytes) -> Optional[str]:
    """UTF-16 without a BOM: one byte of most pairs is NUL (ASCII-range text)."""
    sample = data[:4096] if len(data) % 2 == 0 else data[:4095]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    half = len(sample) // 2
    if odd > 0.3 * half and even < 0.05 * half:
        return "utf-16-le"
    if even > 0.3 * half and odd < 0.05 * half:
        return "utf-16-be"
    return None


def detect(data: bytes) -> str:
    """The encoding to read `data` with (a Python codec name)."""
    for bom, enc in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                     (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                     (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return enc
    utf16 = _utf16_without_bom(data)
    if utf16:
        return utf16
    if b"\x1b" in data:
        for enc, markers in _ISO2022:
            if any(m in data for m in markers) and _strict(data, enc) is not None:
                return enc
    try:
        data.decode("ascii")
        # HZ (RFC 1843): GB2312 in 7-bit ASCII between ~{ and ~}, as old Usenet and mail used.
        if b"~{" in data:
            text = _strict(data, "hz")
            if text is not None and text != data.decode("ascii") and _score(text) > 0:
                return "hz"
        return "ascii"
    except UnicodeDecodeError:
        pass
    if _strict(data, "utf-8") is not None:
        return "utf-8"
    best: Tuple[float, str] = (float("-inf"), "")
    sample = data[:_SAMPLE]
    whole = len(sample) == len(data)
    for enc in CJK_CANDIDATES:
        text = _sample_decode(sample, enc, whole)
        if text is None:
            continue
        score = _score(text)
        if score > best[0]:
            best = (score, enc)
    if best[1] == "cp949" and _strict(data, "euc_kr") not in (None, _strict(data, "cp949")):
        # KS X 1001:1998 make-up sequences (8 bytes per syllable outside the 2,350): EUC-KR
        # composes them, CP949 reads them as jamo.
        return "euc_kr"
    if best[1] and best[0] > 0:
        return best[1]
    # Western single-byte text: cp1252 reads what latin-1 would and maps 0x80-0x9f to
    # punctuation. Bytes cp1252 leaves undefined (0x81, 0x8d, 0x8f, 0x90, 0x9d) are not
    # Western text: a CJK reading that decodes strictly (e.g. only rare Big5-HKSCS
    # characters, which score below zero) is taken before latin-1.
    if _strict(data, "cp1252") is not None:
        return "cp1252"
    return best[1] or "latin-1"


def decode(data: bytes) -> Tuple[str, str]:
    """(text, encoding). Bytes the detected encoding cannot read become U+FFFD (never lost
    silently: the status stays ok, but the encoding is stored for inspection)."""
    enc = detect(data)
    text = data.decode(enc, errors="replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    return text, {"utf-8-sig": "utf-8", "utf-16-le": "utf-16le", "utf-16-be": "utf-16be",
                  "iso2022_jp_2": "iso2022_jp"}.get(enc, enc)


def looks_binary(data: bytes) -> bool:
    """NUL bytes in text that is not UTF-16/32: a binary file under a text extension."""
    head = data[:8192]
    if b"\x00" not in head:
        return False
    return detect(head).split("-")[0] not in ("utf", "utf_16", "utf_32") and \
        not detect(head).startswith(("utf-16", "utf-32"))

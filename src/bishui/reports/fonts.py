"""Fonts of the PDF reports, found at run time and embedded as TrueType subsets.

A report needs two faces: a CJK face for the Chinese text and a face that *draws* the Roman
numerals of the water classes (Ⅰ–Ⅴ, U+2160…U+2164) and the units (µg/m³). WenQuanYi Micro Hei
(Debian ``fonts-wqy-microhei``) has the CJK text but maps U+2164 (Ⅴ) to an empty glyph, so a
report set in it alone would print "类" for "Ⅴ类". The text face is therefore the first font of
:data:`TEXT_FONTS` that draws every character of :data:`MUST_DRAW` (checked on the glyph outlines
with fontTools, not just the character map); the CJK face is the fallback for every character the
text face lacks (``fpdf2``'s fallback fonts).

Debian packages (both free licences, see docs/reports.md): ``fonts-dejavu-core`` (DejaVu Sans,
Bitstream Vera licence) and ``fonts-wqy-microhei`` (Apache-2.0 or GPLv3 with font exception).
Speed: reading a whole CJK font (WQY Micro Hei: about 30,000 glyphs) costs about a second per
document. :func:`cjk_subset` prepares, once per process, a copy of the CJK face holding only the
characters of GB 2312 and the common punctuation, number and full-width forms (about 7,500
glyphs; a file in a private temporary directory removed at exit), which loads in about a tenth
of the time; a report with a character outside it is set with the whole font. The embedded
subset (and so the PDF) is the same either way.

:func:`find_fonts` takes other files (``path`` or ``path#index``; the CLI's ``--font-cjk`` and
``--font-text``).
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from bishui.errors import ConfigError

#: Candidate CJK fonts, in order (path, index in a collection).
CJK_FONTS: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),
)
#: Candidate text fonts (Latin, digits, units, Roman numerals).
TEXT_FONTS: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 0),
    ("/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf", 0),
    ("/usr/share/fonts/truetype/freefont/FreeSans.ttf", 0),
)
#: Characters the text face must draw with a visible outline (the class numerals, units).
MUST_DRAW = "ⅠⅡⅢⅣⅤ0123456789µ³"
#: Characters the CJK face must draw.
CJK_PROBE = "荆门市空气质量日报类"


@dataclass(frozen=True)
class FontSet:
    """The two faces of a report (file, index in a collection)."""

    text: tuple[Path, int]
    cjk: tuple[Path, int]


def draws(path: str | Path, chars: str, index: int = 0) -> bool:
    """Whether the font maps every character of *chars* to a glyph with an outline."""
    from fontTools.pens.boundsPen import BoundsPen
    from fontTools.ttLib import TTFont

    try:
        font = TTFont(str(path), fontNumber=index, lazy=True)
    except Exception:  # not a font we can read
        return False
    try:
        cmap = font.getBestCmap() or {}
        glyphs = font.getGlyphSet()
        for ch in chars:
            name = cmap.get(ord(ch))
            if name is None:
                return False
            pen = BoundsPen(glyphs)
            glyphs[name].draw(pen)
            if pen.bounds is None:  # mapped, but empty (WQY Micro Hei's Ⅴ)
                return False
        return True
    finally:
        font.close()


def _pick(
    configured: str | None, candidates: tuple[tuple[str, int], ...], probe: str, what: str
) -> tuple[Path, int]:
    tried = []
    options = [(configured, 0)] if configured else list(candidates)
    for path, index in options:
        assert path is not None
        file, _, sub = path.partition("#")
        idx = int(sub) if sub.isdigit() else index
        tried.append(file)
        if Path(file).is_file() and draws(file, probe, idx):
            return Path(file), idx
    raise ConfigError(
        "font",
        f"a {what} font that draws {probe!r}: on Debian install fonts-wqy-microhei and "
        "fonts-dejavu-core, or name a TrueType file (file.ttc#index for a collection)",
        tried,
    )


@functools.lru_cache(maxsize=8)
def find_fonts(cjk: str | None = None, text: str | None = None) -> FontSet:
    """The report faces: *cjk* / *text* when given (``path`` or ``path#index``), else the
    first candidate that draws the probe characters. :class:`ConfigError` when none does."""
    return FontSet(
        text=_pick(text, TEXT_FONTS, MUST_DRAW, "text (Latin, Ⅰ–Ⅴ)"),
        cjk=_pick(cjk, CJK_FONTS, CJK_PROBE, "Chinese"),
    )


def _prepared_unicodes() -> frozenset[int]:
    """GB 2312's characters, ASCII, Latin-1, general punctuation, letterlike and number forms
    (Ⅰ–Ⅻ), arrows and maths, CJK punctuation and the full-width forms."""
    out = set(range(0x20, 0x7F)) | set(range(0xA0, 0x100)) | set(range(0x2000, 0x2070))
    out |= set(range(0x2100, 0x2200)) | set(range(0x2460, 0x2500)) | set(range(0x3000, 0x3040))
    out |= set(range(0xFF00, 0xFFF0))
    for hi in range(0xA1, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                out.add(ord(bytes((hi, lo)).decode("gb2312")))
            except UnicodeDecodeError:
                continue
    return frozenset(out)


_DIR: list[Path] = []


def _private_dir() -> Path:
    if not _DIR:
        d = Path(tempfile.mkdtemp(prefix="bishui-fonts-"))  # mode 0700, this process's own
        atexit.register(shutil.rmtree, d, True)
        _DIR.append(d)
    return _DIR[0]


_LOCK = threading.Lock()


def cjk_subset(path: str, index: int = 0) -> tuple[Path, frozenset[int]]:
    """The prepared subset of a CJK font (module doc) and the characters it maps; built once
    per process (the web's threads and the platform's scheduler may ask at the same time)."""
    with _LOCK:
        return _cjk_subset(path, index)


@functools.lru_cache(maxsize=4)
def _cjk_subset(path: str, index: int) -> tuple[Path, frozenset[int]]:
    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(path, fontNumber=index, recalcTimestamp=False)
    opts = subset.Options()
    opts.notdef_outline = True
    opts.recommended_glyphs = True
    opts.name_IDs = ["*"]
    opts.name_languages = ["*"]
    opts.layout_features = []
    opts.drop_tables += ["FFTM"]
    sub = subset.Subsetter(opts)
    sub.populate(unicodes=sorted(_prepared_unicodes()))
    sub.subset(font)
    out = _private_dir() / f"cjk-{abs(hash((path, index)))}.ttf"
    font.save(str(out))
    have = frozenset((font.getBestCmap() or {}).keys())
    font.close()
    return out, have

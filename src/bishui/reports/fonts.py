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
:func:`find_fonts` takes other files (``path`` or ``path#index``; the CLI's ``--font-cjk`` and
``--font-text``).
"""

from __future__ import annotations

import functools
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

"""The report's charts as pictures for the Word document (Word has no SVG without a PNG
beside it, and python-docx draws no charts): horizontal bars drawn with Pillow, each bar's
label above it and its number after it, as the console's SVG charts show them."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

# Fonts that hold Vietnamese, the decree's Times New Roman first; the first found is used.
FONT_FILES = (
    "times.ttf",
    "Times New Roman.ttf",
    "LiberationSerif-Regular.ttf",
    "NotoSerif-Regular.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSans.ttf",
)
FONT_FOLDERS = (
    Path("/usr/share/fonts"),
    Path("/usr/local/share/fonts"),
    Path.home() / ".fonts",
    Path("C:/Windows/Fonts"),
    Path("/Library/Fonts"),
    Path("/System/Library/Fonts/Supplemental"),
)
WIDTH = 1600  # pixels, for 16 cm in the document: about 250 dots per inch
MARGIN, ROW, BAR, TEXT = 20, 84, 30, 30
TITLE = 36
LABEL_CHARS = 70
COLOUR, INK, FAINT = (122, 31, 31), (20, 20, 20), (90, 90, 90)

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@cache
def font_file() -> Path | None:
    """The first of FONT_FILES under the usual font folders, or None."""
    for name in FONT_FILES:
        for folder in FONT_FOLDERS:
            if folder.is_dir():
                found = next(folder.rglob(name), None)
                if found:
                    return found
    return None


@cache
def _font(size: int) -> Font:
    path = font_file()
    if path is not None:
        return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size)  # Pillow's own; may lack some Vietnamese letters


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


def bar_chart(
    title: str, bars: Sequence[tuple[str, int]], shown: Callable[[int], str], none: str
) -> bytes:
    """A PNG: the title, then for each bar its label, the bar and its number."""
    rows = max(len(bars), 1)
    height = MARGIN * 2 + TITLE + 24 + ROW * rows
    picture = Image.new("RGB", (WIDTH, height), "white")
    draw = ImageDraw.Draw(picture)
    draw.text((MARGIN, MARGIN), title, font=_font(TITLE), fill=INK)
    top = MARGIN + TITLE + 24
    text = _font(TEXT)
    if not bars:
        draw.text((MARGIN, top), none, font=text, fill=FAINT)
    biggest = max((value for _, value in bars), default=0)
    room = WIDTH - 2 * MARGIN - 260  # the longest bar leaves space for its number
    for index, (label, value) in enumerate(bars):
        y = top + ROW * index
        draw.text((MARGIN, y), _short(label), font=text, fill=INK)
        length = round(room * value / biggest) if biggest else 0
        if value and length < 2:
            length = 2
        bar_top = y + TEXT + 10
        if length:
            draw.rectangle((MARGIN, bar_top, MARGIN + length, bar_top + BAR), fill=COLOUR)
        draw.text((MARGIN + length + 12, bar_top - 2), shown(value), font=text, fill=INK)
    out = io.BytesIO()
    picture.save(out, format="PNG", optimize=True)
    return out.getvalue()

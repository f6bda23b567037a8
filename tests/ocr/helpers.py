"""Synthetic documents for the OCR tests (rendered text, hand-made PDFs)."""

from __future__ import annotations

import io
import shutil
import stat
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Pack my box with five dozen liquor jugs today.",
    "Sphinx of black quartz, judge my solemn vow.",
    "How vexingly quick daft zebras jump at night.",
    "Bright vixens jump; dozy fowl quack loudly.",
    "Waltz, bad nymph, for quick jigs vex the crowd.",
]

_DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if _DEJAVU.exists():
        return ImageFont.truetype(str(_DEJAVU), size)
    return ImageFont.load_default(size=size)


def text_page(lines: list[str] | None = None, *, size: tuple[int, int] = (1275, 1650),
              font_size: int = 30, repeat: int = 3, top: int = 120) -> Image.Image:
    """A white page (~150 dpi letter by default) with black text lines."""
    lines = lines if lines is not None else SENTENCES * repeat
    img = Image.new("L", size, 255)
    draw = ImageDraw.Draw(img)
    f = font(font_size)
    y = top
    for line in lines:
        draw.text((100, y), line, font=f, fill=0)
        y += int(font_size * 1.6)
    return img


def encode(img: Image.Image, fmt: str, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def multipage(images: list[Image.Image], fmt: str, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    images[0].save(buf, format=fmt, save_all=True, append_images=images[1:], **kwargs)
    return buf.getvalue()


def text_pdf(pages: list[str | None], *, invisible: bool = False) -> bytes:
    """A hand-made PDF: one Letter page per entry, with that text drawn in Helvetica
    (render mode 3 = invisible when ``invisible``), or an empty page for None."""
    objects: list[bytes] = []
    n = len(pages)
    font_id = 3 + 2 * n
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(n))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {n} >>".encode())
    for i, text in enumerate(pages):
        content_id = 4 + 2 * i
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {content_id} 0 R "
            f"/Resources << /Font << /F1 {font_id} 0 R >> >> >>".encode()
        )
        body = b""
        if text is not None:
            mode = 3 if invisible else 0
            safe = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            body = f"BT /F1 24 Tf {mode} Tr 72 700 Td ({safe}) Tj ET".encode()
        objects.append(b"<< /Length %d >>\nstream\n" % len(body) + body + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    return serialize_pdf(objects)


def serialize_pdf(objects: list[bytes]) -> bytes:
    """A PDF file of ``objects`` (object 1 the catalog), with its xref table and trailer."""
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + obj + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
              % (len(objects) + 1, xref))
    return out.getvalue()


def words_of(text: str) -> set[str]:
    return {w.strip(".,;:!?").lower() for w in text.split() if w.strip(".,;:!?")}


_KILLING = """#!/bin/sh
# The real tesseract, except that the recognition calls (not --version, --list-langs)
# listed in {kills} kill themselves with SIGKILL (a line "all": every call).
case "$1" in --*) exec "{real}" "$@" ;; esac
n=$(( $(cat "{count}") + 1 ))
echo "$n" > "{count}"
if grep -qx -e "$n" -e all "{kills}"; then kill -9 $$; fi
exec "{real}" "$@"
"""


class KillingTesseract:
    """A script that runs the real Tesseract but kills itself (SIGKILL) on chosen calls:
    what a Tesseract process killed while reading a page (a stopped job, the OOM killer)
    looks like to pytesseract. Put it in place with :meth:`command`, e.g.
    ``monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", killer.command)``."""

    def __init__(self, root: Path, tesseract: str = "tesseract") -> None:
        real = shutil.which(tesseract)
        assert real is not None, f"{tesseract} is not installed"
        root.mkdir(parents=True, exist_ok=True)
        self._count = root / "count"
        self._kills = root / "kills"
        self.command = str(root / "tesseract")
        self.kill_on()
        script = Path(self.command)
        script.write_text(_KILLING.format(real=real, count=self._count, kills=self._kills))
        script.chmod(script.stat().st_mode | stat.S_IXUSR)

    def kill_on(self, *calls: int, every: bool = False) -> None:
        """Kill the recognition calls numbered ``calls`` (1-based, counted from now), or
        ``every`` one; none when neither is given."""
        self._count.write_text("0\n")
        lines = ["all"] if every else [str(n) for n in calls]
        self._kills.write_text("".join(f"{line}\n" for line in lines))

    @property
    def calls(self) -> int:
        """The recognition calls made since the last :meth:`kill_on`."""
        return int(self._count.read_text())

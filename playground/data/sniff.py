"""Identify an image file by its content (magic bytes), never by its name, and read its size.

Only PNG, JPEG, BMP, GIF and WebP are accepted; their headers also give the pixel count, so an
image bomb (a small file declaring a huge canvas, or a GIF with thousands of frames) is refused
before any decoder allocates memory for it. Files are opened without blocking and checked to be
regular files after opening, so a FIFO or a device named ``x.png`` is never read from. Nothing
here hands a file to another program: PostScript, PDF or SVG named ``.png`` are recognised and
refused by name. Pure Python (no Pillow, no TensorFlow) so a whole folder is scanned quickly.
"""

from __future__ import annotations

import os
import stat
import struct
from dataclasses import dataclass

FORMATS = ("PNG", "JPEG", "BMP", "GIF", "WebP")
# Pillow's own warning threshold (~89.5 megapixels), counted over all frames of an animation.
MAX_PIXELS = 89_478_485
HEAD = 64 * 1024  # bytes read at first; JPEG markers further on are reached by seeking

# Formats we recognise only to name them in the refusal (never decoded).
KNOWN_OTHERS = (
    (b"%!PS", "PostScript"),
    (b"\xc5\xd0\xd3\xc6", "EPS (PostScript)"),
    (b"%PDF", "PDF"),
    (b"<?xml", "XML/SVG"),
    (b"<svg", "SVG"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"PK\x03\x04", "ZIP"),
    (b"\x00\x00\x01\x00", "ICO"),
    (b"8BPS", "Photoshop"),
    (b"\x89HDF", "HDF5"),
    (b"{", "JSON or text"),
    (b"[", "JSON or text"),
)


# One wording of each refusal, for training (folders, CSV indexes) and predict/inspect alike
# (inspect/images.py): the same bad file reads the same wherever it is met.
SUPPORTED_TEXT = ", ".join(FORMATS)
NO_SUCH_FILE = "no such file"
EMPTY = "is empty (0 bytes)"


def unsupported(kind: str | None = None) -> str:
    """A file whose content is no format we read; ``kind`` names it where recognised."""
    if kind:
        return f"is {kind}, not an image this app reads ({SUPPORTED_TEXT})"
    return (f"is not an image this app reads ({SUPPORTED_TEXT}); its content matches none "
            "of them")


def corrupt(reason: str) -> str:
    """A file of a supported format that cannot be decoded (header, truncation, decoder)."""
    return f"corrupt or unreadable image: {reason}"


def not_regular(mode: int) -> str:
    """A path that is not a regular file (``st_mode``): never read from."""
    if stat.S_ISDIR(mode):
        return "is a folder, not an image"
    return f"is not a regular file ({_kind(mode)})"


def refusal(exc: Exception) -> str:
    """The reason for a file refused by :func:`identify`, in the one wording (a broken header
    is "corrupt or unreadable image: ..."; bombs and non-images say what they are)."""
    text = str(exc)
    if isinstance(exc, BadImage) and not text.startswith(("image bomb", EMPTY)):
        return corrupt(text)
    return text


def _recognise(head: bytes) -> str | None:
    """The name of a format we only recognise to refuse it (PostScript, PDF...), or None."""
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    for magic, name in KNOWN_OTHERS:
        if stripped.startswith(magic):
            return name
    return None


class NotAnImage(Exception):
    """The file's content is not one of the supported formats (or not a regular file)."""


class BadImage(Exception):
    """The file claims a supported format but its header is broken or declares a bomb."""


@dataclass(frozen=True)
class ImageInfo:
    format: str
    width: int
    height: int
    frames: int = 1


TAIL = 4096  # JPEG files may carry padding after their end marker


def read_head(path: str, size: int = HEAD) -> tuple[bytes, int]:
    """The first ``size`` bytes of a regular file and its length; FIFOs/devices are refused
    without blocking (O_NONBLOCK, then fstat on the opened descriptor)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if isinstance(exc, FileNotFoundError) and not os.path.lexists(path):
            raise NotAnImage(NO_SUCH_FILE) from None   # (a dangling link "cannot be opened")
        raise NotAnImage(f"cannot be opened ({exc.strerror or exc})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotAnImage(not_regular(info.st_mode))
        data = os.pread(fd, size, 0)
        return data, info.st_size
    except OSError as exc:
        raise NotAnImage(f"cannot be read ({exc.strerror or exc})") from None
    finally:
        os.close(fd)


def read_tail(path: str, length: int, size: int = TAIL) -> bytes:
    """The last ``size`` bytes of a file already checked to be regular."""
    with open(path, "rb") as f:
        f.seek(max(0, length - size))
        return f.read(size)


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a regular file"


def identify(path: str, max_pixels: int = MAX_PIXELS) -> ImageInfo:
    """The format and size of the image at ``path``; raises NotAnImage or BadImage (reason)."""
    head, length = read_head(path)
    if length == 0:
        raise BadImage(EMPTY)
    info = _parse(path, head, length)
    _check_complete(path, info.format, head, length)
    if info.width <= 0 or info.height <= 0:
        raise BadImage(f"{info.format} header declares {info.width} x {info.height} pixels")
    pixels = info.width * info.height * max(1, info.frames)
    if pixels > max_pixels:
        frames = f" x {info.frames} frames" if info.frames > 1 else ""
        raise BadImage(f"image bomb: the {info.format} header declares {info.width} x "
                       f"{info.height} pixels{frames}, over the limit of {max_pixels:,} pixels")
    return info


def _check_complete(path: str, fmt: str, head: bytes, length: int) -> None:
    """A file cut short (an interrupted copy or download) lacks its end marker."""
    if fmt == "PNG":
        if b"IEND" not in read_tail(path, length, 64):
            raise BadImage("PNG is truncated (no IEND chunk at its end)")
    elif fmt == "JPEG":
        if b"\xff\xd9" not in read_tail(path, length):
            raise BadImage("JPEG is truncated (no end-of-image marker)")
    elif fmt == "BMP":
        offset = struct.unpack("<I", head[10:14])[0]
        if offset >= length:
            raise BadImage("BMP is truncated (its pixel data lies past the end of the file)")
    elif fmt == "WebP":
        declared = struct.unpack("<I", head[4:8])[0] + 8
        if declared > length:
            raise BadImage(f"WebP is truncated ({length} of {declared} bytes)")


def _parse(path: str, head: bytes, length: int) -> ImageInfo:
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        if len(head) < 24 or head[12:16] != b"IHDR":
            raise BadImage("PNG without an IHDR header (truncated or corrupt)")
        w, h = struct.unpack(">II", head[16:24])
        return ImageInfo("PNG", w, h)
    if head.startswith(b"\xff\xd8\xff"):
        w, h = _jpeg_size(path, head)
        return ImageInfo("JPEG", w, h)
    if head.startswith((b"GIF87a", b"GIF89a")):
        if len(head) < 10:
            raise BadImage("GIF header is truncated")
        w, h = struct.unpack("<HH", head[6:10])
        return ImageInfo("GIF", w, h, _gif_frames(path, length))
    if head.startswith(b"BM") and len(head) >= 26:
        header_size = struct.unpack("<I", head[14:18])[0]
        if header_size == 12:
            w, h = struct.unpack("<hh", head[18:22])
        elif header_size >= 40:
            w, h = struct.unpack("<ii", head[18:26])
        else:
            raise BadImage(f"BMP with an unknown header size {header_size}")
        return ImageInfo("BMP", abs(w), abs(h))
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return _webp_info(path, head, length)
    raise NotAnImage(unsupported(_recognise(head)))


def _jpeg_size(path: str, head: bytes) -> tuple[int, int]:
    """Walk the JPEG markers to the first SOF segment (EXIF blocks can be up to 64 KiB)."""
    sof = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
    with open(path, "rb") as f:  # a regular file: checked by read_head
        def at(pos: int, n: int) -> bytes:
            if pos + n <= len(head):
                return head[pos:pos + n]
            f.seek(pos)
            return f.read(n)

        pos = 2
        for _ in range(10_000):
            pair = at(pos, 2)
            if len(pair) < 2 or pair[0] != 0xFF:
                break
            marker = pair[1]
            if marker == 0xFF:  # fill byte
                pos += 1
                continue
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                pos += 2
                continue
            if marker in (0xD9, 0xDA):
                break
            segment = at(pos + 2, 7)
            if len(segment) < 2:
                break
            seg_len = struct.unpack(">H", segment[:2])[0]
            if marker in sof:
                if len(segment) < 7:
                    break
                h, w = struct.unpack(">HH", segment[3:7])
                return w, h
            if seg_len < 2:
                break
            pos += 2 + seg_len
    raise BadImage("JPEG without a frame header (truncated or corrupt)")


def _gif_frames(path: str, length: int) -> int:
    """Count the image descriptors by walking the GIF blocks (sub-blocks skipped by length)."""
    with open(path, "rb") as f:
        data = f.read(length)
    pos = 13
    flags = data[10] if len(data) > 10 else 0
    if flags & 0x80:
        pos += 3 * (2 << (flags & 7))
    frames = 0
    complete = False
    while pos < len(data):
        block = data[pos]
        if block == 0x3B:  # trailer
            complete = True
            break
        if block == 0x21:  # extension: label, then sub-blocks
            pos += 2
        elif block == 0x2C:  # image descriptor, optional local colour table, LZW code size
            frames += 1
            if pos + 10 > len(data):
                break
            local = data[pos + 9]
            pos += 10
            if local & 0x80:
                pos += 3 * (2 << (local & 7))
            pos += 1
        else:
            break
        while pos < len(data) and data[pos] != 0:
            pos += data[pos] + 1
        pos += 1
    if frames == 0:
        raise BadImage("GIF without any image frame (truncated or corrupt)")
    if not complete:
        raise BadImage("GIF is truncated (no trailer after its last frame)")
    return frames


def _webp_info(path: str, head: bytes, length: int) -> ImageInfo:
    chunk = head[12:16]
    if chunk == b"VP8 " and len(head) >= 30:
        w, h = struct.unpack("<HH", head[26:30])
        return ImageInfo("WebP", w & 0x3FFF, h & 0x3FFF)
    if chunk == b"VP8L" and len(head) >= 25:
        bits = struct.unpack("<I", head[21:25])[0]
        return ImageInfo("WebP", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if chunk == b"VP8X" and len(head) >= 30:
        w = int.from_bytes(head[24:27], "little") + 1
        h = int.from_bytes(head[27:30], "little") + 1
        frames = 1
        if head[20] & 0x02:  # animation flag: count ANMF chunks
            frames = 0
            with open(path, "rb") as f:
                pos = 12
                while pos + 8 <= length:
                    f.seek(pos)
                    header = f.read(8)
                    if len(header) < 8:
                        break
                    size = struct.unpack("<I", header[4:8])[0]
                    frames += header[:4] == b"ANMF"
                    pos += 8 + size + (size & 1)
            frames = max(frames, 1)
        return ImageInfo("WebP", w, h, frames)
    raise BadImage("WebP with an unknown or truncated header")

"""Predict and train word the same bad image file the same way: one reason per kind of file
(data/sniff.py), whether a training folder or ``predict``/the Predict dock meets it."""

from __future__ import annotations

import os
import struct
import zlib

import pytest

from playground.data.base import DatasetError
from playground.data.files import Problems, check_image
from playground.inspect.images import ImageFileError, read_image


def _png(width: int, height: int, *, complete: bool = True) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))
    head = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2,
                                                             0, 0, 0))
    return head + (chunk(b"IEND", b"") if complete else b"")


CASES = {
    "postscript": (lambda p: p.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n"),
                   "is PostScript, not an image this app reads (PNG, JPEG, BMP, GIF, WebP)"),
    "pdf": (lambda p: p.write_bytes(b"%PDF-1.7\n"), "is PDF, not an image this app reads"),
    "text": (lambda p: p.write_text("not an image"),
             "is not an image this app reads (PNG, JPEG, BMP, GIF, WebP); its content matches "
             "none of them"),
    "empty": (lambda p: p.write_bytes(b""), "is empty (0 bytes)"),
    "truncated": (lambda p: p.write_bytes(_png(4, 4, complete=False)),
                  "corrupt or unreadable image: PNG is truncated (no IEND chunk at its end)"),
    "folder": (lambda p: p.mkdir(), "is a folder, not an image"),
    "fifo": (lambda p: os.mkfifo(p), "is not a regular file (a FIFO)"),
    "missing": (lambda p: None, "no such file"),
    "bomb": (lambda p: p.write_bytes(_png(60_000, 60_000)),
             "image bomb: the PNG header declares 60000 x 60000 pixels, over the limit of"),
}


def _train_reason(path) -> str:
    with pytest.raises(DatasetError) as info:
        check_image(str(path), "stop", Problems())
    return str(info.value)


def _predict_reason(path) -> str:
    with pytest.raises(ImageFileError) as info:
        read_image(path)
    return str(info.value)


@pytest.mark.parametrize("case", sorted(CASES))
def test_train_and_predict_give_one_reason(tmp_path, case):
    make, reason = CASES[case]
    path = tmp_path / "photo.png"
    make(path)
    train, predict = _train_reason(path), _predict_reason(path)
    prefix = f"{path}: {reason}"
    assert train.startswith(prefix), train
    assert predict.startswith(prefix), predict
    if case != "bomb":   # only the pixel limits differ (training streams; predict decodes whole)
        train_reason = train[len(f"{path}: "):].split(" (to skip such files")[0]
        assert predict[len(f"{path}: "):] == train_reason

"""Reading a user's image: content sniffing, refusals naming the file, training's adaptation."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from playground.inspect.images import (
    ImageFileError,
    adapt,
    adaptation_steps,
    check_image_file,
    read_image,
    sniff_format,
)


def test_formats_are_recognised_by_content_not_name(tmp_path):
    rgb = (np.arange(5 * 7 * 3) % 251).astype(np.uint8).reshape(5, 7, 3)
    for fmt, name in (("PNG", "a.jpg"), ("JPEG", "b.png"), ("BMP", "c.gif"), ("GIF", "d.bmp"),
                      ("WEBP", "e.png")):
        path = tmp_path / name
        Image.fromarray(rgb).save(path, format=fmt)
        assert check_image_file(path) == fmt
        pic = read_image(path)
        assert pic.shape == (5, 7, 3) and pic.format == fmt
    png = read_image(tmp_path / "a.jpg")
    assert np.array_equal(png.pixels, rgb)      # lossless: the exact pixels


@pytest.mark.parametrize("content, words", [
    (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 1 1\n", "is PostScript,"),
    (b"%PDF-1.4\n", "PDF"),
    (b'{"format": "keras-playground-graph"}', "JSON or text"),
    (b"II*\x00\x08\x00\x00\x00", "TIFF"),
    (b"hello", "not an image"),
])
def test_non_images_are_refused_naming_the_file(tmp_path, content, words):
    path = tmp_path / "photo.png"
    path.write_bytes(content)
    with pytest.raises(ImageFileError) as err:
        read_image(path)
    assert str(path) in str(err.value) and words in str(err.value)
    assert "PNG, JPEG, BMP, GIF, WebP" in str(err.value)


def test_eps_never_reaches_ghostscript(tmp_path, monkeypatch):
    import PIL.EpsImagePlugin as eps

    called = []
    monkeypatch.setattr(eps, "Ghostscript", lambda *a, **k: called.append(a))
    path = tmp_path / "x.png"
    path.write_bytes(b"\xc5\xd0\xd3\xc6" + b"\0" * 40)   # binary EPS header
    with pytest.raises(ImageFileError, match=r"is EPS \(PostScript\), not an image this app reads"):
        read_image(path)
    assert called == []


def test_fifo_folder_empty_missing_and_truncated(tmp_path):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    with pytest.raises(ImageFileError, match="not a regular file"):
        read_image(fifo)                       # returns at once: never opened for reading
    with pytest.raises(ImageFileError, match="is a folder"):
        read_image(tmp_path)
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ImageFileError, match=r"is empty \(0 bytes\)"):
        read_image(tmp_path / "empty.png")
    with pytest.raises(ImageFileError, match="no such file"):
        read_image(tmp_path / "missing.png")
    good = tmp_path / "good.png"
    noise = np.random.default_rng(0).integers(0, 256, (40, 40), dtype=np.uint8)
    Image.fromarray(noise).save(good)
    cut = tmp_path / "cut.png"
    cut.write_bytes(good.read_bytes()[:800])
    with pytest.raises(ImageFileError, match=r"cut\.png: corrupt or unreadable image: PNG is truncated"):
        read_image(cut)


def test_modes_follow_the_folder_loader(tmp_path):
    Image.fromarray(np.full((4, 4), 9, np.uint8)).save(tmp_path / "l.png")
    assert read_image(tmp_path / "l.png").shape == (4, 4, 1)
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0] = 200
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    pic = read_image(tmp_path / "rgba.png")
    assert pic.shape == (4, 4, 3) and pic.pixels[0, 0, 0] == 200
    deep = np.full((3, 3), 65535, np.uint16)
    Image.fromarray(deep).save(tmp_path / "deep.png")
    assert read_image(tmp_path / "deep.png").pixels.max() == 255


def test_a_dark_16_bit_png_reads_as_training_reads_it(tmp_path):
    """Every value <= 255 in a 16-bit PNG: the training pipeline (TensorFlow's decoder) keeps
    the top byte (x // 256, nearly black); predict once stretched it to full brightness."""
    from playground.data.stream import decode_files

    values = np.array([[0, 255, 256, 383, 511, 32768, 65280, 65535]], np.uint16)
    for name, array in (("dark", values[:, :2]), ("wide", values)):
        path = tmp_path / f"{name}.png"
        Image.fromarray(array).save(path)
        predicted = read_image(path).pixels[..., 0]
        trained = decode_files([str(path)], (*array.shape, 1))[0, ..., 0]
        np.testing.assert_array_equal(predicted, trained)
        np.testing.assert_array_equal(predicted, array // 256)


def test_adapt_is_the_training_pipelines_preprocess():
    from playground.data.adapt import preprocess

    rgb = (np.arange(10 * 6 * 3) % 256).astype(np.uint8).reshape(10, 6, 3)
    x = adapt(rgb, (8, 8, 1))
    assert x.shape == (1, 8, 8, 1) and x.dtype == np.float32
    np.testing.assert_array_equal(x, np.asarray(preprocess(rgb[None], (8, 8, 1))))
    assert adaptation_steps((10, 6, 3), (8, 8, 1)) == [
        "resized 10x6 -> 8x8 (bilinear)", "RGB -> grayscale (ITU-R 601 luma)",
        "rescaled 0..255 -> [0, 1]"]
    assert adaptation_steps((8, 8, 1), (8, 8, 1)) == ["rescaled 0..255 -> [0, 1]"]


def test_sniff():
    assert sniff_format(b"RIFF\0\0\0\0WEBPVP8 ") == "WEBP"
    assert sniff_format(b"RIFF\0\0\0\0WAVEfmt ") is None


def test_files_pipeline_adaptation(tmp_path):
    """A run trained on an image folder: RGB, bilinear resize, luma, rounded to uint8, / 255."""
    import tensorflow as tf

    rgb = (np.arange(10 * 6 * 3) * 7 % 256).astype(np.uint8).reshape(10, 6, 3)
    x = adapt(rgb, (8, 8, 1), "files")
    resized = tf.image.resize(rgb[None].astype(np.float32), (8, 8), method="bilinear").numpy()
    grey = np.round(resized @ np.array([0.2989, 0.5870, 0.1140], np.float32))[..., None]
    np.testing.assert_allclose(x, np.clip(grey, 0, 255) / 255.0, atol=1e-6)
    assert np.allclose(x * 255, np.round(x * 255), atol=1e-4)      # whole levels only
    steps = adaptation_steps((10, 6, 3), (8, 8, 1), "files")
    assert "rounded to 0..255 (the file pipeline's uint8 cache)" in steps
    gray = np.full((4, 4, 1), 100, np.uint8)
    assert adapt(gray, (4, 4, 3), "files")[0, 0, 0].tolist() == pytest.approx([100 / 255] * 3)


def test_files_pipeline_matches_the_streamed_training_decoder(tmp_path):
    """Where the streamed file pipeline exists, a file predicted here is what training saw."""
    stream = pytest.importorskip("playground.data.stream")
    import tensorflow as tf

    rng = np.random.default_rng(3)
    for name, pixels, shape in (("rgb.png", rng.integers(0, 256, (13, 9, 3), dtype=np.uint8),
                                 (8, 8, 1)),
                                ("grey.png", rng.integers(0, 256, (7, 11), dtype=np.uint8),
                                 (10, 10, 3))):
        path = tmp_path / name
        Image.fromarray(pixels).save(path)
        trained = stream.decode_resize(tf.io.read_file(str(path)), shape).numpy() / 255.0
        here = adapt(read_image(path).pixels, shape, "files")[0]
        np.testing.assert_allclose(here, trained, atol=1e-6)

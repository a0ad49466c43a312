"""``core.safefile``: regular files only (FIFOs, devices, sockets and folders refused without a
wait), reads capped at a limit whatever size the file system reports."""

from __future__ import annotations

import os
import socket

import pytest

from playground.core import safefile


def test_regular_file_is_read_up_to_the_limit(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"x" * 100)
    assert safefile.read_capped(path, 100) == b"x" * 100
    assert safefile.check_regular(path) == 100
    with pytest.raises(safefile.FileTooLarge) as caught:
        safefile.read_capped(path, 99)
    assert caught.value.size == 100 and "100 bytes; more than 99" in str(caught.value)


def test_links_to_regular_files_are_followed(tmp_path):
    (tmp_path / "real").write_bytes(b"ok")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert safefile.read_capped(tmp_path / "link", 10) == b"ok"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX only")
def test_fifo_device_socket_and_folder_are_refused_at_once(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)                            # no writer: a plain open() would block forever
    zero = tmp_path / "zero"
    zero.symlink_to("/dev/zero")               # getsize says 0, reading never ends
    sock_path = tmp_path / "s"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(sock_path))
    try:
        for path, kind in ((fifo, "a FIFO"), (zero, "a character device")):
            with pytest.raises(safefile.NotARegularFile, match=kind):
                safefile.read_capped(path, 1024)
        with pytest.raises(OSError):            # sockets cannot even be opened as files
            safefile.read_capped(sock_path, 1024)
    finally:
        sock.close()
    with pytest.raises(IsADirectoryError):
        safefile.read_capped(tmp_path, 1024)
    with pytest.raises(FileNotFoundError):
        safefile.read_capped(tmp_path / "missing", 1024)

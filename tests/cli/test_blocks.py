"""``blocks [TYPE]``: one block's params; a type that does not exist is a wrong argument."""

from __future__ import annotations

from playground import cli


def test_blocks_type_lists_its_params(capsys):
    assert cli.main(["blocks", "Conv2D"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Conv2D (convolution") and "kernel_size" in out


def test_blocks_type_ignores_case(capsys):
    assert cli.main(["blocks", "conv2d"]) == 0
    assert capsys.readouterr().out.startswith("Conv2D (convolution")


def test_unknown_block_type_exits_2_on_stderr_with_a_suggestion(capsys):
    assert cli.main(["blocks", "Conv2x"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip() == "error: unknown block type 'Conv2x'; did you mean Conv2D?"
    assert cli.main(["blocks", "Xyzzy"]) == 2
    assert "`playground blocks` lists them" in capsys.readouterr().err

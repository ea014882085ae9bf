"""An uploaded file's text, read as it comes: UTF-8 lines from a byte stream (no Flask in here)."""

from __future__ import annotations

import codecs
import contextlib
import io
from collections.abc import Iterator
from typing import BinaryIO

CHUNK = 64 * 1024


class UnreadableFile(Exception):
    """The file is not CSV text the importer can read; `str()` says what and where, `short` is
    the message under `errors.files.file`. Nothing was written."""

    def __init__(self, message: str, short: str = "Not a readable CSV text file.") -> None:
        super().__init__(message)
        self.short = short


def utf8_lines(stream: BinaryIO) -> Iterator[str]:
    """The lines of `stream` decoded as UTF-8, line endings kept (as csv wants, `newline=""`),
    one at a time: the file is never held whole. A byte that is not UTF-8 or a NUL character
    raises UnreadableFile when the reading reaches it."""
    text = io.TextIOWrapper(stream, encoding="utf-8", newline="")
    try:
        for line in text:
            if "\x00" in line:
                raise UnreadableFile(
                    "The file contains NUL bytes: it is not a CSV text file.", "Contains NUL bytes."
                )
            yield line
    except UnicodeDecodeError as error:
        raise UnreadableFile(
            f"The file is not UTF-8 (byte {_first_bad_byte(stream)}): save it as CSV UTF-8 and try again.",
            "Not UTF-8.",
        ) from error
    finally:
        with contextlib.suppress(ValueError):
            text.detach()  # the stream stays open: it belongs to the caller


def _first_bad_byte(stream: BinaryIO) -> int:
    """The offset of the first byte that is not UTF-8 (TextIOWrapper's error counts within the
    chunk it was decoding): the stream read again, on this error path only."""
    stream.seek(0)
    decoder, offset = codecs.getincrementaldecoder("utf-8")(), 0
    while True:
        chunk = stream.read(CHUNK)
        try:
            decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError as error:
            # The decoder keeps an incomplete sequence from the last chunk in its buffer.
            return offset - len(decoder.getstate()[0]) + error.start
        if not chunk:
            return offset
        offset += len(chunk)

"""The decoder: declared, sniffed and detected charsets, and what is not text at all."""

from __future__ import annotations

import codecs

import pytest

from newslake.tasks.errors import DecodeError
from newslake.tasks.text.decode import decode_html, looks_binary

FRENCH = "<html><body><p>Déjà vu à l'été, garçon: «très» cher — naïve façade.</p></body></html>"
RUSSIAN = "<p>Привет, мир! Съешь же ещё этих мягких французских булок.</p>"


def test_undeclared_latin1_is_detected() -> None:
    body = FRENCH.encode("latin-1", errors="replace")
    assert decode_html(body) == FRENCH.replace("—", "?")


def test_declared_windows_1251_from_meta() -> None:
    html = f'<html><head><meta charset="windows-1251"></head><body>{RUSSIAN}</body></html>'
    assert "Съешь же ещё" in decode_html(html.encode("cp1251"))


def test_header_charset_wins_over_guessing() -> None:
    assert "Съешь" in decode_html(RUSSIAN.encode("cp1251"), "windows-1251")


def test_utf16_with_bom() -> None:
    body = codecs.BOM_UTF16_LE + FRENCH.encode("utf-16-le")
    assert decode_html(body) == FRENCH


def test_utf8_bom_is_dropped() -> None:
    assert decode_html(codecs.BOM_UTF8 + FRENCH.encode()) == FRENCH


def test_wrong_declared_charset_is_not_trusted() -> None:
    html = '<meta charset="ascii">' + RUSSIAN
    assert "Привет" in decode_html(html.encode("utf-8"))


def test_nul_bytes_are_removed_not_fatal() -> None:
    assert decode_html(b"<p>hello\x00 world</p>") == "<p>hello world</p>"


@pytest.mark.parametrize("body", [b"", b"   \n\t  "])
def test_empty_page_is_rejected(body: bytes) -> None:
    with pytest.raises(DecodeError, match="empty"):
        decode_html(body)


def test_binary_data_is_rejected() -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 40
    assert looks_binary(png)
    with pytest.raises(DecodeError, match="binary"):
        decode_html(png)

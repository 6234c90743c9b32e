from triage.cleaning import MAX_CLASSIFY_CHARS, clean, html_to_text, normalise


def test_quoted_replies_and_signatures_are_dropped_but_sign_offs_kept() -> None:
    text = (
        "Hi there,\r\n\r\nNobody rang me back.\r\n\r\nKind regards,\r\nJo (foster carer)\r\n-- \r\n"
        "Jo Bloggs | 07700 900123\r\n\r\nOn Mon, 3 May 2026 at 10:00, J Smith <j@x.org> wrote:\r\n> earlier words\r\n"
    )
    assert clean(text) == "Hi there,\n\nNobody rang me back.\n\nKind regards,\nJo (foster carer)"


def test_an_outlook_header_block_starts_the_quote() -> None:
    assert clean("Thanks for this\nFrom: Bob\nSent: Monday\nTo: x\nold text") == "Thanks for this"


def test_a_from_line_without_a_header_block_is_kept() -> None:
    assert "From: my nan" in clean("Hello\nFrom: my nan, who is worried\nthanks")


def test_html_becomes_text_without_scripts_or_styles() -> None:
    html = "<style>p{color:red}</style><script>alert(1)</script><p>Hello <b>there</b></p><img src=x onerror=alert(1)>"
    assert html_to_text(html).strip() == "Hello there"


def test_invisible_and_control_characters_go_and_emoji_stay() -> None:
    assert normalise("no\u200bbody\x07  rang 😡\r\n\r\n\r\n\r\nme") == "nobody rang 😡\n\nme"


def test_a_megabyte_is_cut_to_what_the_classifier_reads() -> None:
    assert len(clean("word " * 250_000)) == MAX_CLASSIFY_CHARS

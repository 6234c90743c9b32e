"""The checks every route uses on values from URLs and forms (models/values.py)."""

from __future__ import annotations

from datetime import date

import pytest

from models.values import MAX_ID, BadValue, day, optional_id, page_number, pence, plain_words, record_id, short_text, whole_number


@pytest.mark.parametrize("raw", ["²", "٣", "1_000", "+5", "-1", "1e3", "0x10", "", " ", "1.0", "x" * 10_000])
def test_a_number_is_ascii_digits_and_nothing_else(raw: str) -> None:
    with pytest.raises(BadValue, match="is not a whole number"):
        whole_number(raw, "page", low=0, high=10)


def test_a_number_out_of_its_range_is_named_with_the_range() -> None:
    assert whole_number(" 7 ", "page", low=1, high=10) == 7
    with pytest.raises(BadValue, match=r"page: '11' is not between 1 and 10"):
        whole_number("11", "page", low=1, high=10)


@pytest.mark.parametrize("raw", ["0", str(MAX_ID + 1), str(2**63 - 1), "9" * 30])
def test_an_id_no_record_could_have_is_refused_before_the_database_sees_it(raw: str) -> None:
    with pytest.raises(BadValue, match="is not the number of any team"):
        record_id(raw, "team")
    assert record_id(str(MAX_ID), "team") == MAX_ID


def test_an_empty_id_is_none_and_an_empty_page_is_the_first() -> None:
    assert optional_id("  ", "officer") is None
    assert page_number("") == 1
    with pytest.raises(BadValue):
        page_number(str(2**63 - 1))


@pytest.mark.parametrize("raw, expected", [("", 0), ("150", 15000), ("150.5", 15050), ("£1,250.50", 125050), (".5", 50),
                                           ("0.00", 0), ("1000000", 100_000_000)])
def test_pounds_become_pence_without_floats(raw: str, expected: int) -> None:
    assert pence(raw) == expected


@pytest.mark.parametrize("raw", ["1e308", "inf", "nan", "-1", "-0", "1e20", "12.345", "²", ".", "£-5", "1,0.0.0"])
def test_anything_else_is_not_an_amount(raw: str) -> None:
    with pytest.raises(BadValue, match="is not an amount in pounds"):
        pence(raw)


def test_an_implausible_amount_is_refused() -> None:
    with pytest.raises(BadValue, match=r"more than £1,000,000"):
        pence("1000000.01")
    with pytest.raises(BadValue, match=r"more than £1,000,000"):
        pence("9" * 12)


def test_a_date_is_iso_and_from_2000() -> None:
    today = date(2026, 11, 23)
    assert day("", "on", default=today) == today
    assert day("2026-11-20", "on", default=today) == date(2026, 11, 20)
    for raw in ("25/11/2026", "2026-02-30", "20261120", "²026-11-20", "x" * 10_000):
        with pytest.raises(BadValue, match="is not a date"):
            day(raw, "on", default=today)
    with pytest.raises(BadValue, match="before 2000"):
        day("0001-01-01", "on", default=today)


def test_text_for_a_short_column_is_measured() -> None:
    assert short_text("  Sam  ", "the name", 120) == "Sam"
    with pytest.raises(BadValue, match="the name is 121 characters long; the most is 120"):
        short_text("x" * 121, "the name", 120)


def test_validation_errors_read_as_a_sentence() -> None:
    errors = [{"type": "int_parsing", "loc": ("query", "year"), "msg": "Input should be a valid integer", "input": "abc"},
              {"type": "less_than_equal", "loc": ("path", "year"), "msg": "…", "input": "3000", "ctx": {"le": 2200}}]
    assert plain_words(errors) == "year 'abc' is not a whole number; year '3000' is too large (the most is 2200)"


def test_a_number_too_long_for_int_is_out_of_range_not_a_crash() -> None:
    with pytest.raises(BadValue, match="is not the number of any officer"):
        record_id("9" * 10_000, "officer")
    with pytest.raises(BadValue, match="is not between"):
        whole_number("1" * 5_000, "page", low=1, high=10)

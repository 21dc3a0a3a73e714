"""SMS segment counting: what a school pays per message."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.messaging import segments
from chalicelib.messaging.segments import GSM7_BASIC, GSM7_EXTENSION, SegmentCount, count


def test_plain_ascii_fits_160_in_one_segment_then_153_per_part():
    assert count("a" * 160) == SegmentCount("GSM-7", 160, 1)
    assert count("a" * 161) == SegmentCount("GSM-7", 161, 2)
    assert segments.segments("a" * 306) == 2
    assert segments.segments("a" * 307) == 3


def test_extension_characters_count_two_septets():
    assert segments.units("€") == 2
    assert segments.units("{x}") == 5
    assert count("€" * 80) == SegmentCount("GSM-7", 160, 1)
    assert count("€" * 81) == SegmentCount("GSM-7", 162, 2)
    assert count("{" * 81).segments == 2


def test_the_whole_gsm_basic_set_stays_gsm7():
    basic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ÄÖÑÜ§¿äöñüà"
    text = basic + "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    assert len(GSM7_BASIC) == 127  # 128 table positions less the escape
    assert set(text) == GSM7_BASIC
    assert segments.encoding(text) == "GSM-7"
    assert segments.units(text) == len(text)
    assert segments.encoding("\f^{}\\[~]|€") == "GSM-7"
    assert segments.units("\f^{}\\[~]|€") == 2 * len(GSM7_EXTENSION)


def test_characters_outside_gsm_switch_to_ucs2():
    assert segments.encoding("ç") == "UCS-2"  # only the capital Ç is in the table
    assert segments.encoding("`") == "UCS-2"
    assert segments.encoding("Hello “quoted”") == "UCS-2"  # curly quotes from a word processor


def test_chinese_text_is_ucs2_70_in_one_segment_then_67_per_part():
    assert count("中" * 70) == SegmentCount("UCS-2", 70, 1)
    assert count("中" * 71) == SegmentCount("UCS-2", 71, 2)
    assert segments.segments("中" * 134) == 2
    assert segments.segments("中" * 135) == 3


def test_one_emoji_turns_ascii_into_ucs2_and_counts_two_units():
    text = "See you at 5pm " + "🎉"
    assert count(text) == SegmentCount("UCS-2", 15 + 2, 1)
    # 69 ASCII characters and one emoji: 71 units, so the emoji costs a second segment.
    assert count("a" * 69 + "🎉") == SegmentCount("UCS-2", 71, 2)
    assert segments.segments("a" * 160) == 1 and segments.segments("a" * 159 + "🎉") == 3


def test_a_chinese_birthday_greeting_with_a_cake():
    assert count("王小明生日快乐🎂") == SegmentCount("UCS-2", 9, 1)


def test_empty_text_costs_nothing():
    assert count("") == SegmentCount("GSM-7", 0, 0)


sms_text = st.text(
    alphabet=st.one_of(
        st.sampled_from(sorted(GSM7_BASIC)),
        st.sampled_from(sorted(GSM7_EXTENSION)),
        st.sampled_from("王小明生日快乐中文课"),
        st.sampled_from("🎂🎉😀"),
        st.characters(),
    ),
    max_size=400,
)


@given(sms_text, st.one_of(st.sampled_from(sorted(GSM7_BASIC | GSM7_EXTENSION)), st.characters()))
def test_appending_a_character_never_lowers_the_segment_count(text, ch):
    assert segments.segments(text + ch) >= segments.segments(text)


@given(sms_text, sms_text)
def test_units_add_up_when_the_encoding_does_not_change(a, b):
    enc = segments.encoding(a + b)
    if segments.encoding(a) == enc and segments.encoding(b) == enc:
        assert segments.units(a + b) == segments.units(a) + segments.units(b)

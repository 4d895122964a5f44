"""CoPE-A's prompt layout and the window splitting for long transcripts (no torch needed)."""

from __future__ import annotations

import pytest

from audio_sidecar.backends.cope_prompt import (
    SAFETY_MARGIN_TOKENS,
    Verdict,
    build_prompt,
    combine_windows,
    render_policy,
    split_content,
)
from audio_sidecar.policy import PolicyCache


def words(text: str) -> list[str]:
    """A stand-in tokenizer: one token per whitespace-separated word."""
    return text.split()


def join(tokens) -> str:
    return " ".join(tokens)


def test_prompt_layout_matches_the_model_card() -> None:
    assert build_prompt("POLICY TEXT {x}", "said {y}") == (
        "INSTRUCTIONS\n============\n\n"
        'Examine the given POLICY and determine if the given CONTENT meets the criteria for ANY of the LABELS. '
        'Answer "1" if yes, and "0" if no.\n\n\n'
        "POLICY\n======\n\nPOLICY TEXT {x}\n\n\n"
        "CONTENT\n=======\n\nsaid {y}\n\n\n"
        "ANSWER\n======\n\n"
    )


def test_policy_sections_become_markdown_headings(demo_policy_ref) -> None:
    text = render_policy(PolicyCache().get(demo_policy_ref))
    assert text.startswith("# Policy\n\n## Overview\n\n")
    assert "## Definition of Labels\n\n### (VT): Violent Threat" in text


def test_short_content_is_one_window() -> None:
    [window] = split_content("we will attack", "policy", words, join, 200, 10)
    assert window.text == "we will attack"


def test_long_content_is_split_into_windows_that_fit_and_overlap() -> None:
    content = " ".join(f"w{i}" for i in range(1000))
    max_tokens, overlap = 200, 20
    windows = split_content(content, "a short policy", words, join, max_tokens, overlap)
    overhead = len(words(build_prompt("a short policy", ""))) + SAFETY_MARGIN_TOKENS
    assert len(windows) > 1
    for window in windows:
        assert len(words(build_prompt("a short policy", window.text))) + SAFETY_MARGIN_TOKENS <= max_tokens
    for before, after in zip(windows, windows[1:]):
        assert before.end_token - after.start_token == overlap
    assert windows[0].start_token == 0 and windows[-1].end_token == 1000
    assert windows[0].end_token - windows[0].start_token == max_tokens - overhead


def test_a_policy_that_fills_the_window_is_refused() -> None:
    with pytest.raises(ValueError, match="shorten it"):
        split_content("text", "word " * 500, words, join, 256, 10)


def test_flagged_if_any_window_is() -> None:
    assert combine_windows([Verdict(False, 0.1), Verdict(True, 0.9), Verdict(False, 0.2)]) == Verdict(True, 0.9)
    assert combine_windows([Verdict(False, 0.1), Verdict(False, 0.3)]) == Verdict(False, 0.3)
    assert combine_windows([]) == Verdict(False, 0.0)

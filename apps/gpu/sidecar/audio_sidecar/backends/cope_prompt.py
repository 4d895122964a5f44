"""CoPE-A's prompt format and the splitting of long transcripts (pure Python, no torch).

CoPE-A (a LoRA on Gemma-2-9B) was trained on this exact layout: INSTRUCTIONS, the POLICY as
markdown sections, the CONTENT, then an ANSWER header after which the model writes "1" (the
content meets a label of the policy) or "0". Gemma-2's window is 8,192 tokens for policy and
content together, so a longer transcript is split into windows that each fit beside the policy;
the transcript is flagged if any window is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from ..policy import Policy

INSTRUCTIONS = (
    'Examine the given POLICY and determine if the given CONTENT meets the criteria for ANY of the LABELS. '
    'Answer "1" if yes, and "0" if no.'
)

# Tokens kept free besides prompt and content: the BOS token the tokenizer adds, and slack for
# tokens that merge differently at the edges of a decoded window.
SAFETY_MARGIN_TOKENS = 16


def render_policy(policy: Policy) -> str:
    """The POLICY block: one markdown heading per section, as in CoPE's policy template."""
    parts = ["# Policy"]
    for section in policy.sections:
        parts.append(f"## {section.name}\n\n{section.text}")
    return "\n\n".join(parts)


def build_prompt(policy_text: str, content: str) -> str:
    # Concatenation, not str.format: policies and transcripts may contain braces.
    return (
        "INSTRUCTIONS\n============\n\n"
        + INSTRUCTIONS
        + "\n\n\nPOLICY\n======\n\n"
        + policy_text
        + "\n\n\nCONTENT\n=======\n\n"
        + content
        + "\n\n\nANSWER\n======\n\n"
    )


@dataclass(frozen=True)
class ContentWindow:
    start_token: int
    end_token: int
    text: str


def split_content(
    content: str,
    policy_text: str,
    encode: Callable[[str], Sequence[int]],
    decode: Callable[[Sequence[int]], str],
    max_tokens: int,
    overlap_tokens: int,
) -> list[ContentWindow]:
    """Content windows that each fit in ``max_tokens`` together with the prompt around them.

    ``encode`` must not add special tokens. Windows overlap by ``overlap_tokens`` so that a
    sentence cut at a boundary is still seen whole in one of them. Raises ValueError when the
    policy alone leaves no room for content.
    """
    overhead = len(encode(build_prompt(policy_text, ""))) + SAFETY_MARGIN_TOKENS
    budget = max_tokens - overhead
    if budget < 32:
        raise ValueError(
            f"the policy takes {overhead} of the model's {max_tokens} tokens; shorten it to leave room for content"
        )
    tokens = list(encode(content))
    if len(tokens) <= budget:
        return [ContentWindow(0, len(tokens), content)]
    step = max(1, budget - min(overlap_tokens, budget // 2))
    windows = []
    start = 0
    while True:
        end = min(start + budget, len(tokens))
        windows.append(ContentWindow(start, end, decode(tokens[start:end])))
        if end == len(tokens):
            return windows
        start += step


@dataclass(frozen=True)
class Verdict:
    flagged: bool
    score: float


def combine_windows(verdicts: Sequence[Verdict]) -> Verdict:
    """Flagged if any window is; the score is the highest window's probability of "1"."""
    if not verdicts:
        return Verdict(False, 0.0)
    return Verdict(any(v.flagged for v in verdicts), max(v.score for v in verdicts))

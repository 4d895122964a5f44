"""CoPE-A on Gemma-2-9B: the probability that a transcript meets a label of the policy.

Loaded from local directories only: merged weights (COPE_MERGED_DIR) when present, else the
Gemma-2-9B base (COPE_BASE_DIR) with the CoPE-A LoRA adapter (COPE_ADAPTER_DIR) applied by
peft and merged in memory. The score is the probability of "1" against "0" at the first
generated position (the softmax over those two logits: CoPE-A answers with one of them), which one
forward pass gives without running ``generate``; flagged when it is above 0.5. Gemma-2 runs with
eager attention: transformers' sdpa path drops its attention-logit soft-capping. Importing this
module imports torch: only the ``whisperx-cope`` backend does, and only when selected.
"""

from __future__ import annotations

import inspect
import logging
from pathlib import Path
from typing import Sequence

import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer

from ..config import Settings
from ..errors import ItemError
from ..policy import Policy
from .cope_prompt import Verdict, build_prompt, combine_windows, render_policy, split_content

_TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "tokenizer_config.json")


class CopeClassifier:
    def __init__(self, settings: Settings, device: str, log: logging.Logger) -> None:
        self._settings = settings
        self._device = device
        self._log = log
        # Named by the resolved directories: links to versioned model sets name the versions.
        if settings.cope_merged_dir.is_dir():
            model_dir, adapter_dir = settings.cope_merged_dir, None
            self.model_name = f"cope-a:{settings.cope_merged_dir.resolve().name}"
        else:
            model_dir, adapter_dir = settings.cope_base_dir, settings.cope_adapter_dir
            self.model_name = f"cope-a:{adapter_dir.resolve().name}+{model_dir.resolve().name}"
        tokenizer_dir = adapter_dir if adapter_dir and _has_tokenizer(adapter_dir) else model_dir
        self._tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir), local_files_only=True)
        # Left padding: in a batch, every prompt's last token sits at position -1.
        self._tokenizer.padding_side = "left"
        if self._tokenizer.pad_token is None:
            self._tokenizer.pad_token = self._tokenizer.eos_token

        dtype = torch.bfloat16 if device == "cuda" else torch.float32  # Gemma-2 is unstable in fp16
        dtype_argument = "dtype" if _transformers_at_least(4, 56) else "torch_dtype"
        load_kwargs: dict = {dtype_argument: dtype, "local_files_only": True}
        if device == "cuda":
            load_kwargs["device_map"] = device  # straight to the GPU, no full copy in host memory
        load_kwargs["attn_implementation"] = settings.cope_attn_implementation
        log.info("loading CoPE-A", extra={"model": str(model_dir), "adapter": str(adapter_dir), "device": device})
        model = AutoModelForCausalLM.from_pretrained(str(model_dir), **load_kwargs)
        if adapter_dir is not None:
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, str(adapter_dir), is_trainable=False)
            model = model.merge_and_unload()  # same outputs, no LoRA overhead per forward pass
        if device != "cuda":
            model = model.to(device)
        model.eval()
        self._model = model
        # The prompt, policy and content must fit the model's window (8,192 tokens for Gemma-2).
        window = getattr(model.config, "max_position_embeddings", None) or settings.cope_max_tokens
        self._max_tokens = min(settings.cope_max_tokens, window)
        self._one_id = self._single_token_id("1")
        self._zero_id = self._single_token_id("0")
        # Only the last position's logits are needed; the full [batch, length, 256k] tensor of an
        # 8K prompt would need gigabytes. The argument was renamed in transformers 4.50.
        parameters = inspect.signature(model.forward).parameters
        self._logits_kwarg = next((n for n in ("logits_to_keep", "num_logits_to_keep") if n in parameters), None)

    def _single_token_id(self, text: str) -> int:
        ids = self._tokenizer.encode(text, add_special_tokens=False)
        if len(ids) != 1:
            raise RuntimeError(f"the tokenizer splits {text!r} into {len(ids)} tokens; CoPE-A expects one")
        return int(ids[0])

    def classify(self, texts: Sequence[str], policy: Policy) -> list[Verdict | ItemError]:
        """One verdict per text; a text that cannot be scored gets an ItemError instead."""
        policy_text = policy.derived.get("cope")
        if policy_text is None:
            policy_text = policy.derived["cope"] = render_policy(policy)
        prompts: list[tuple[int, str]] = []
        results: list[Verdict | ItemError | None] = [None] * len(texts)
        for index, text in enumerate(texts):
            if not text.strip():
                results[index] = Verdict(False, 0.0)  # silence: nothing to judge
                continue
            try:
                windows = split_content(
                    text,
                    policy_text,
                    lambda s: self._tokenizer.encode(s, add_special_tokens=False),
                    lambda ids: self._tokenizer.decode(ids),
                    self._max_tokens,
                    self._settings.cope_chunk_overlap_tokens,
                )
            except ValueError as error:  # the policy alone fills the window
                results[index] = ItemError(str(error), "classify_error")
                continue
            if len(windows) > 1:
                self._log.info("transcript split for the context window", extra={"windows": len(windows)})
            prompts.extend((index, build_prompt(policy_text, w.text)) for w in windows)

        verdicts_by_text: dict[int, list[Verdict]] = {}
        errors: dict[int, ItemError] = {}
        # Similar lengths batch together: less padding, and long prompts share the memory hit.
        ordered = sorted(prompts, key=lambda p: len(p[1]))
        size = self._settings.cope_batch_size
        for start in range(0, len(ordered), size):
            batch = ordered[start : start + size]
            for (index, _prompt), outcome in zip(batch, self._score([p for _, p in batch])):
                if isinstance(outcome, ItemError):
                    errors[index] = outcome
                else:
                    verdicts_by_text.setdefault(index, []).append(outcome)
        for index in range(len(texts)):
            if results[index] is None:
                results[index] = errors.get(index) or combine_windows(verdicts_by_text.get(index, []))
        return results  # type: ignore[return-value]  # every slot is filled above

    def _score(self, prompts: list[str]) -> list[Verdict | ItemError]:
        """Scores a batch; on CUDA out-of-memory, halves it until single prompts fail alone."""
        try:
            return self._forward(prompts)
        except torch.cuda.OutOfMemoryError:
            torch.cuda.empty_cache()
            if len(prompts) == 1:
                return [ItemError("out of GPU memory scoring this transcript", "classify_error")]
            middle = len(prompts) // 2
            self._log.warning("out of GPU memory; splitting the batch", extra={"size": len(prompts)})
            return self._score(prompts[:middle]) + self._score(prompts[middle:])

    @torch.inference_mode()
    def _forward(self, prompts: list[str]) -> list[Verdict]:
        encoded = self._tokenizer(prompts, return_tensors="pt", padding=True).to(self._model.device)
        # With left padding the positions must start at each prompt's first real token.
        position_ids = (encoded["attention_mask"].cumsum(-1) - 1).clamp(min=0)
        kwargs = {"use_cache": False, "position_ids": position_ids}
        if self._logits_kwarg:
            kwargs[self._logits_kwarg] = 1
        # Only ids and mask: some tokenizers also return token_type_ids, which Gemma-2 rejects.
        logits = self._model(
            input_ids=encoded["input_ids"], attention_mask=encoded["attention_mask"], **kwargs
        ).logits[:, -1, :].float()
        # P("1") among the two answers CoPE-A gives, not among all 256k tokens: a prompt where the
        # model spreads mass over other tokens still gets a score that reads as "how sure of yes".
        answers = logits[:, [self._zero_id, self._one_id]]
        scores = torch.softmax(answers, dim=-1)[:, 1].tolist()
        return [Verdict(flagged=score > 0.5, score=min(1.0, max(0.0, score))) for score in scores]


def _has_tokenizer(directory: Path) -> bool:
    return any((directory / name).is_file() for name in _TOKENIZER_FILES)


def _transformers_at_least(major: int, minor: int) -> bool:
    parts = transformers.__version__.split(".")
    try:
        return (int(parts[0]), int(parts[1])) >= (major, minor)
    except (ValueError, IndexError):
        return True

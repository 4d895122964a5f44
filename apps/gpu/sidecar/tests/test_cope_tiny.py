"""The CoPE-A code path on a tiny random-weight Gemma-2 with a random LoRA.

Runs in CI on the CPU (torch 2.13 CPU, transformers, peft from the project's venv) and on CUDA under
`pnpm gpu:check`. It checks loading (base + adapter, and merged weights), eager attention, scoring,
window splitting of long transcripts, and that left-padded batches score a prompt as it scores alone.
A word-level tokenizer keeps the window arithmetic readable.
"""

from __future__ import annotations

import logging

import pytest
import torch

from audio_sidecar.backends.cope_classifier import CopeClassifier
from audio_sidecar.backends.cope_prompt import Verdict, build_prompt, render_policy, split_content
from audio_sidecar.config import Settings
from audio_sidecar.errors import ConfigError
from audio_sidecar.policy import PolicyCache
from audio_sidecar.protocol import PolicyRef
from conftest import TEST_DEVICE

DEVICE = TEST_DEVICE
# bf16 on the GPU: batch composition changes the rounding a little.
TOLERANCE = 2e-2 if DEVICE == "cuda" else 1e-4

WORDS = (
    "we will attack the station at noon weather is lovely today threats of violence against people "
    "examine given policy and determine if content meets criteria for any labels answer yes no "
    "instructions overview"
).split()

POLICY = PolicyCache().get(
    PolicyRef(
        id="tiny",
        version="1",
        sha256="1" * 64,
        document={"id": "tiny", "version": "1", "title": "t", "sections": [{"name": "Overview", "text": "threats of violence"}]},
    )
)


def _tokenizer():
    from tokenizers import Tokenizer, models, pre_tokenizers
    from tokenizers.processors import TemplateProcessing
    from transformers import PreTrainedTokenizerFast

    vocab = {t: i for i, t in enumerate(["<pad>", "<eos>", "<bos>", "<unk>", "0", "1", *sorted(set(WORDS))])}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = TemplateProcessing(single="<bos> $A", special_tokens=[("<bos>", vocab["<bos>"])])
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<bos>", eos_token="<eos>", pad_token="<pad>", unk_token="<unk>"
    )
    fast.model_input_names = ["input_ids", "attention_mask"]
    return fast, len(vocab)


@pytest.fixture(scope="module")
def models_root(tmp_path_factory):
    from peft import LoraConfig, get_peft_model
    from transformers import Gemma2Config, Gemma2ForCausalLM

    root = tmp_path_factory.mktemp("models")
    tokenizer, vocab_size = _tokenizer()
    torch.manual_seed(0)
    config = Gemma2Config(
        vocab_size=vocab_size,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=32,
        max_position_embeddings=1024,
        pad_token_id=0,
        eos_token_id=1,
        bos_token_id=2,
    )
    Gemma2ForCausalLM(config).save_pretrained(root / "gemma-tiny")
    tokenizer.save_pretrained(root / "gemma-tiny")
    lora = get_peft_model(
        Gemma2ForCausalLM.from_pretrained(root / "gemma-tiny"),
        LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False, task_type="CAUSAL_LM"),
    )
    lora.save_pretrained(root / "lora-tiny")
    merged = lora.merge_and_unload()
    merged.save_pretrained(root / "merged-tiny")
    tokenizer.save_pretrained(root / "merged-tiny")
    return root


def settings(root, merged: bool, **env: str) -> Settings:
    return Settings.from_env(
        {
            "MODELS_ROOT": str(root),
            "SIDECAR_DEVICE": DEVICE,
            "COPE_BASE_DIR": "gemma-tiny",
            "COPE_ADAPTER_DIR": "lora-tiny",
            "COPE_MERGED_DIR": "merged-tiny" if merged else "no-merged-weights",
            "COPE_MAX_TOKENS": "256",
            "COPE_CHUNK_OVERLAP_TOKENS": "8",
            "COPE_BATCH_SIZE": "4",
            **env,
        }
    )


@pytest.fixture(scope="module")
def classifier(models_root) -> CopeClassifier:
    return CopeClassifier(settings(models_root, merged=False), DEVICE, logging.getLogger("test"))


def test_scores_are_probabilities_and_silence_is_not_flagged(classifier) -> None:
    assert classifier.model_name == "cope-a:lora-tiny+gemma-tiny"
    short, empty = classifier.classify(["we will attack the station", ""], POLICY)
    assert isinstance(short, Verdict) and 0.0 <= short.score <= 1.0
    assert empty == Verdict(False, 0.0)


def test_left_padded_batches_score_like_single_prompts(classifier) -> None:
    short = "we will attack"
    longer = " ".join(WORDS[:40])
    [alone] = classifier.classify([short], POLICY)
    together = classifier.classify([short, longer], POLICY)
    assert together[0].score == pytest.approx(alone.score, abs=TOLERANCE)


def test_long_transcripts_are_split_and_take_the_highest_window(classifier) -> None:
    text = " ".join(WORDS[i % len(WORDS)] for i in range(1500))
    tokenizer = classifier._tokenizer
    windows = split_content(
        text,
        render_policy(POLICY),
        lambda s: tokenizer.encode(s, add_special_tokens=False),
        lambda ids: tokenizer.decode(ids),
        256,
        8,
    )
    assert len(windows) > 5
    for window in windows:
        assert len(tokenizer.encode(build_prompt(render_policy(POLICY), window.text))) <= 256
    [whole] = classifier.classify([text], POLICY)
    parts = classifier.classify([w.text for w in windows], POLICY)
    assert whole.score == pytest.approx(max(p.score for p in parts), abs=TOLERANCE)
    assert whole.flagged == any(p.flagged for p in parts)


def test_merged_weights_score_like_base_plus_adapter(models_root, classifier) -> None:
    merged = CopeClassifier(settings(models_root, merged=True), DEVICE, logging.getLogger("test"))
    assert merged.model_name == "cope-a:merged-tiny"
    texts = ["we will attack the station at noon", "the weather is lovely today"]
    for a, b in zip(classifier.classify(texts, POLICY), merged.classify(texts, POLICY)):
        assert b.score == pytest.approx(a.score, abs=TOLERANCE)


def test_gemma_2_runs_with_eager_attention(classifier) -> None:
    # The sdpa path drops Gemma-2's attention-logit soft-capping.
    assert classifier._model.config._attn_implementation == "eager"


def test_the_score_is_p_of_1_against_0_and_flags_above_one_half(classifier) -> None:
    text = "we will attack the station at noon"
    tokenizer = classifier._tokenizer
    encoded = tokenizer(build_prompt(render_policy(POLICY), text), return_tensors="pt").to(classifier._model.device)
    with torch.inference_mode():
        logits = classifier._model(input_ids=encoded["input_ids"], attention_mask=encoded["attention_mask"]).logits[0, -1].float()
    zero, one = logits[classifier._zero_id].item(), logits[classifier._one_id].item()
    expected = torch.softmax(torch.tensor([zero, one]), dim=0)[1].item()
    [verdict] = classifier.classify([text], POLICY)
    assert verdict.score == pytest.approx(expected, abs=TOLERANCE)
    assert verdict.flagged == (verdict.score > 0.5)
    # Not P("1") over the whole vocabulary, which a random model spreads thin.
    assert verdict.score != pytest.approx(torch.softmax(logits, dim=0)[classifier._one_id].item(), abs=1e-3)


def test_the_window_is_the_models_own_when_the_setting_is_larger(models_root) -> None:
    wide = CopeClassifier(settings(models_root, merged=False, COPE_MAX_TOKENS="8192"), DEVICE, logging.getLogger("test"))
    assert wide._max_tokens == 1024  # the tiny model's max_position_embeddings
    text = " ".join(WORDS[i % len(WORDS)] for i in range(3000))
    [verdict] = wide.classify([text], POLICY)  # windows of at most 1024 tokens, not 8192
    assert 0.0 <= verdict.score <= 1.0


def test_cope_max_tokens_cannot_exceed_gemma_2s_window() -> None:
    with pytest.raises(ConfigError, match=r"COPE_MAX_TOKENS is invalid \('16384'\): must be between 256 and 8192"):
        Settings.from_env({"COPE_MAX_TOKENS": "16384"})

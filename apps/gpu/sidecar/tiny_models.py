"""Tiny random-weight models in the exact MODELS_ROOT layout: a test double for the real backends.

    python -m tiny_models DIR        (in apps/gpu/sidecar, with the sidecar's venv; or: pnpm models:tiny DIR)

Writes, offline, in a few seconds:

    DIR/tiny-random-whisper/      a Whisper with random weights converted to CTranslate2 (int8), with
                                  tokenizer.json and preprocessor_config.json, as faster-whisper reads it
    DIR/tiny-random-gemma-2/      a 2-layer Gemma-2 with random weights and a small tokenizer
    DIR/tiny-random-cope-lora/    a random LoRA on it, saved by peft (adapter_config.json + weights)
    DIR/whisperx -> tiny-random-whisper, DIR/gemma-2-9b -> tiny-random-gemma-2,
    DIR/cope-a-lora -> tiny-random-cope-lora     the default directory names the sidecar looks for

The sidecar names a model by its resolved directory, so every result made with these says
``whisperx:tiny-random-whisper`` and ``cope-a:tiny-random-cope-lora+tiny-random-gemma-2``: nothing
they produce can pass for a real transcript or verdict. They exercise every line of the real code
path (loading, VAD, batching, decoding, prompt building, scoring, window splitting); their words are
noise. The Whisper vocabulary is under 51,865 tokens, so CTranslate2 treats it as English-only, like
``tiny.en``. No alignment model: alignment is off unless WHISPERX_ALIGN_DIR exists.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

WHISPER_DIR = "tiny-random-whisper"
GEMMA_DIR = "tiny-random-gemma-2"
LORA_DIR = "tiny-random-cope-lora"
LINKS = {"whisperx": WHISPER_DIR, "gemma-2-9b": GEMMA_DIR, "cope-a-lora": LORA_DIR}

# Whisper's special tokens in Whisper's order (English-only models keep the language tokens too):
# text tokens first, <|endoftext|> after them, <|notimestamps|> last; the timestamp tokens follow.
WHISPER_SPECIALS = [
    "<|endoftext|>",
    "<|startoftranscript|>",
    "<|en|>",
    "<|translate|>",
    "<|transcribe|>",
    "<|startoflm|>",
    "<|startofprev|>",
    "<|nocaptions|>",
    "<|notimestamps|>",
]
TIMESTAMP_TOKENS = 1501  # <|0.00|> .. <|30.00|>

CORPUS = (
    "hello there, this is a recorded call about the delivery schedule for next week. "
    "we will meet at the station at noon and talk about the weather, the plan and the attack on the depot. "
    "examine the given policy and determine if the content meets the criteria for any of the labels. "
    "answer 1 if yes and 0 if no. threats of violence against people or property. instructions overview. "
)


def make_tiny_models(root: Path, seed: int = 0) -> dict[str, Path]:
    """Writes the three models and the default-name links under ``root``; returns the links."""
    import torch

    torch.manual_seed(seed)
    root.mkdir(parents=True, exist_ok=True)
    _whisper(root / WHISPER_DIR)
    _gemma_and_lora(root / GEMMA_DIR, root / LORA_DIR)
    # Where the weights came from, for anyone who finds these directories later.
    for directory in LINKS.values():
        note = {"what": "random weights made by apps/gpu/sidecar/tiny_models.py; outputs are noise", "seed": seed}
        (root / directory / "TEST-DOUBLE.json").write_text(json.dumps(note) + "\n")
    links = {}
    for name, target in LINKS.items():
        link = root / name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(target, target_is_directory=True)
        links[name] = link
    return links


def _byte_level_tokenizer(vocab_size: int, specials: list[str]):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator([CORPUS] * 4, trainer=trainer)
    return tokenizer


def _whisper(out: Path) -> None:
    import ctranslate2
    import torch
    from tokenizers import Tokenizer
    from transformers import WhisperConfig, WhisperFeatureExtractor, WhisperForConditionalGeneration, WhisperTokenizerFast

    # Text tokens first (the trainer puts special tokens at the front, so train without them and add
    # them after, in Whisper's order).
    text = _byte_level_tokenizer(400, [])
    text_vocab = text.get_vocab()
    backend = Tokenizer.from_str(text.to_str())
    backend.add_special_tokens(WHISPER_SPECIALS)
    ids = {t: backend.token_to_id(t) for t in WHISPER_SPECIALS}
    assert ids["<|endoftext|>"] == len(text_vocab) and ids["<|notimestamps|>"] == len(text_vocab) + len(WHISPER_SPECIALS) - 1
    eot, sot = ids["<|endoftext|>"], ids["<|startoftranscript|>"]

    with tempfile.TemporaryDirectory(prefix="tiny-whisper-hf-") as hf_dir:
        tokenizer = WhisperTokenizerFast(
            tokenizer_object=backend,
            unk_token="<|endoftext|>",
            bos_token="<|endoftext|>",
            eos_token="<|endoftext|>",
            pad_token="<|endoftext|>",
            additional_special_tokens=WHISPER_SPECIALS[1:],
        )
        tokenizer.save_pretrained(hf_dir)
        WhisperFeatureExtractor(feature_size=80).save_pretrained(hf_dir)
        config = WhisperConfig(
            vocab_size=len(text_vocab) + len(WHISPER_SPECIALS) + TIMESTAMP_TOKENS,
            num_mel_bins=80,
            d_model=64,
            encoder_layers=2,
            encoder_attention_heads=2,
            decoder_layers=2,
            decoder_attention_heads=2,
            encoder_ffn_dim=128,
            decoder_ffn_dim=128,
            max_source_positions=1500,
            max_target_positions=448,
            pad_token_id=eot,
            bos_token_id=eot,
            eos_token_id=eot,
            decoder_start_token_id=sot,
        )
        model = WhisperForConditionalGeneration(config)
        model.generation_config.suppress_tokens = []
        model.generation_config.begin_suppress_tokens = [eot]
        # Random logits would mostly pick one of the 1,501 timestamp tokens, which decode to nothing.
        # Zeroing the (tied) output rows after <|endoftext|> makes the noise come out as text.
        with torch.no_grad():
            model.get_output_embeddings().weight[eot + 1 :] = 0
        model.save_pretrained(hf_dir)
        converter = ctranslate2.converters.TransformersConverter(
            hf_dir, copy_files=["tokenizer.json", "preprocessor_config.json"]
        )
        converter.convert(str(out), quantization="int8", force=True)


def _gemma_and_lora(base_out: Path, lora_out: Path) -> None:
    from peft import LoraConfig, get_peft_model
    from tokenizers import processors
    from transformers import Gemma2Config, Gemma2ForCausalLM, PreTrainedTokenizerFast

    specials = ["<pad>", "<eos>", "<bos>", "<unk>"]
    backend = _byte_level_tokenizer(300, specials)  # specials get ids 0..3, as in Gemma
    bos = backend.token_to_id("<bos>")
    # Gemma's tokenizer adds BOS to every prompt; CoPE-A's prompt expects it.
    backend.post_processor = processors.TemplateProcessing(single="<bos> $A", special_tokens=[("<bos>", bos)])
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token="<bos>", eos_token="<eos>", pad_token="<pad>", unk_token="<unk>"
    )
    tokenizer.model_input_names = ["input_ids", "attention_mask"]
    for digit in ("0", "1"):
        if len(tokenizer.encode(digit, add_special_tokens=False)) != 1:
            raise RuntimeError(f"the tiny tokenizer splits {digit!r}; CoPE-A scores single tokens")
    config = Gemma2Config(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=32,
        max_position_embeddings=8192,
        sliding_window=4096,
        pad_token_id=backend.token_to_id("<pad>"),
        eos_token_id=backend.token_to_id("<eos>"),
        bos_token_id=bos,
    )
    Gemma2ForCausalLM(config).save_pretrained(base_out)
    tokenizer.save_pretrained(base_out)
    model = get_peft_model(
        Gemma2ForCausalLM.from_pretrained(base_out),
        LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False, task_type="CAUSAL_LM"),
    )
    model.save_pretrained(lora_out)


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0].startswith("-"):
        print("usage: python -m tiny_models DIR   (pnpm models:tiny DIR)", file=sys.stderr)
        return 2
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    # pnpm runs root scripts in the checkout; INIT_CWD is where the command was typed.
    root = (Path(os.environ.get("INIT_CWD", ".")) / argv[0]).resolve()
    links = make_tiny_models(root)
    print(f"tiny random-weight models (a test double) written to {root}:", file=sys.stderr)
    for name, link in links.items():
        print(f"  {name} -> {os.readlink(link)}", file=sys.stderr)
    print(f"use them with: SIDECAR_BACKEND=whisperx-cope MODELS_ROOT={root}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

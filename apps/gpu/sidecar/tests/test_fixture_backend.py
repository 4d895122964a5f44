"""The fixture backend's contract: transcript = title tag, language en, flagged on a flag word."""

from __future__ import annotations

import pytest

from audio_sidecar.backends.fixture import FixtureBackend
from audio_sidecar.policy import PolicyCache
from audio_sidecar.protocol import Item, PolicyRef


@pytest.mark.parametrize(
    ("title", "flagged"),
    [
        ("We will ATTACK the station", True),
        ("kill", True),
        ("shoot!", True),
        ("a bomb, they said", True),
        ("this skill is killer", False),  # whole words only
        ("nothing to see here", False),
        ("", False),
    ],
)
def test_flag_words(audio, demo_policy_ref, title: str, flagged: bool) -> None:
    path = audio.opus(f"fx-{abs(hash(title))}.opus", title or None)
    policy = PolicyCache().get(demo_policy_ref)
    [result] = FixtureBackend().process([Item("k", str(path))], policy)
    assert result["ok"] is True
    assert result["transcript"]["text"] == title
    assert result["transcript"]["language"] == "en"
    assert result["classification"]["flagged"] is flagged
    assert result["classification"]["score"] == (1.0 if flagged else 0.0)


def test_results_name_the_fixture_and_echo_the_policy(audio, demo_policy_ref) -> None:
    path = audio.mp3("fx.mp3", "shoot the messenger")
    policy = PolicyCache().get(demo_policy_ref)
    [result] = FixtureBackend().process([Item("k", str(path))], policy)
    assert result["transcript"]["model"] == "fixture"
    assert result["classification"]["model"] == "fixture"
    assert result["classification"]["policyId"] == "violent-threats"
    assert result["classification"]["policyVersion"] == demo_policy_ref.version
    assert result["classification"]["policySha256"] == demo_policy_ref.sha256
    assert result["durationSeconds"] > 0.3
    assert result["transcript"]["segments"] == [{"start": 0.0, "end": result["durationSeconds"], "text": "shoot the messenger"}]


def test_per_item_errors_do_not_fail_the_batch(audio, demo_policy_ref, tmp_path) -> None:
    good = audio.opus("fx-good.opus", "hello")
    junk = tmp_path / "junk.opus"
    junk.write_bytes(b"definitely not audio")
    policy = PolicyCache().get(demo_policy_ref)
    results = FixtureBackend().process(
        [Item("good", str(good)), Item("missing", str(tmp_path / "missing.opus")), Item("junk", str(junk))], policy
    )
    assert [r["key"] for r in results] == ["good", "missing", "junk"]
    assert results[0]["ok"] is True
    assert results[1]["error"]["code"] == "not_found"
    assert results[2]["error"]["code"] == "decode_error"


def test_a_policy_without_flag_words_is_a_classify_error(audio, demo_policy_ref) -> None:
    document = {k: v for k, v in demo_policy_ref.document.items() if k != "fixture"}
    ref = PolicyRef(demo_policy_ref.id, demo_policy_ref.version, "0" * 64, document)
    [result] = FixtureBackend().process([Item("k", str(audio.opus("fx-nw.opus", "kill")))], PolicyCache().get(ref))
    assert result["ok"] is False
    assert result["error"]["code"] == "classify_error"
    assert "flagWords" in result["error"]["message"]


def test_simulated_inference_takes_its_time_per_item(audio, demo_policy_ref) -> None:
    slept: list[float] = []
    path = str(audio.opus("fx-sleep.opus", "hello"))
    backend = FixtureBackend(seconds_per_item=0.25, sleep=slept.append)
    results = backend.process([Item(f"k{i}", path) for i in range(4)], PolicyCache().get(demo_policy_ref))
    assert slept == [1.0] and all(r["ok"] for r in results)


def test_fixture_seconds_per_item_is_read_and_checked() -> None:
    from audio_sidecar.config import Settings
    from audio_sidecar.errors import ConfigError

    assert Settings.from_env({"FIXTURE_SECONDS_PER_ITEM": "0.05"}).fixture_seconds_per_item == 0.05
    assert Settings.from_env({}).fixture_seconds_per_item == 0.0
    with pytest.raises(ConfigError, match="FIXTURE_SECONDS_PER_ITEM is invalid"):
        Settings.from_env({"FIXTURE_SECONDS_PER_ITEM": "soon"})

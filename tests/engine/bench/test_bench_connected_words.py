"""``python -m recognizers.bench.connected --words-model``: the word model with and without its connected-digit
companion, on the same digit strings, in one run (issue 16, item 8)."""
import json
import shutil
import subprocess

import pytest
from testdata import REPO

from recognizers.bench import connected

MODELS = REPO / "assets" / "models"
WORDS = "zero one two three four five six seven eight nine".split()


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_companion_reads_strings_the_word_model_alone_misses(tmp_path, capsys):
    data = tmp_path / "digits"
    for d, word in enumerate(WORDS):
        for voice in ("en-us", "en-gb"):
            (data / str(d)).mkdir(parents=True, exist_ok=True)
            subprocess.run(["espeak-ng", "-v", voice, "-s", "170", word, "-w", str(data / str(d) / f"{voice}__0.wav")],
                           check=True, capture_output=True)
    rc = connected.main(["--model", str(MODELS / "digits-connected-en"), "--data", str(data), "--groups", "all",
                         "--words-model", str(MODELS / "digits-en"), "--strings", "12", "--snr", "clean",
                         "--non-speech-minutes", "0.2", "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    by = {r["decoder"]: r for r in out["results"]}
    assert set(by) == {"connected", "words+connected", "words alone"}
    assert by["words+connected"]["digits"] == by["words alone"]["digits"] > 0        # the same streams
    assert by["words+connected"]["digit_accuracy"] > by["words alone"]["digit_accuracy"]
    assert set(out["non_speech"]) == set(by)

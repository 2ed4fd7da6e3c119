"""load_audio: any rate / channel count becomes 16 kHz mono float32; unusable files give one-line errors."""
import numpy as np
import pytest
import soundfile as sf

from recognizers.errors import AudioFileError
from recognizers.io.audio import load_audio, resample, save_wav, to_mono


def _tone(freq, rate, seconds=0.5, amp=0.5):
    t = np.arange(int(rate * seconds)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _dominant_hz(x, rate):
    spec = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return np.fft.rfftfreq(x.size, 1 / rate)[np.argmax(spec)]


@pytest.mark.parametrize("rate", [8000, 11025, 22050, 44100, 48000])
def test_wrong_rate_is_resampled_to_16k(tmp_path, rate):
    p = tmp_path / f"tone_{rate}.wav"
    sf.write(str(p), _tone(440.0, rate), rate, subtype="PCM_16")
    x = load_audio(p)
    assert x.dtype == np.float32 and x.ndim == 1
    assert abs(x.size - 8000) <= 2  # 0.5 s at 16 kHz
    assert _dominant_hz(x, 16000) == pytest.approx(440.0, abs=3)
    assert np.sqrt(np.mean(x[500:-500] ** 2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.02)


def test_content_above_target_nyquist_is_removed(tmp_path):
    p = tmp_path / "hi.wav"
    sf.write(str(p), _tone(12000.0, 48000), 48000)  # 12 kHz cannot exist at 16 kHz: must vanish, not alias
    x = load_audio(p)
    assert np.sqrt(np.mean(x[500:-500] ** 2)) < 0.01


@pytest.mark.parametrize("rate", [16000, 44100])
def test_stereo_is_downmixed_by_averaging(tmp_path, rate):
    left, right = _tone(300.0, rate, amp=0.4), _tone(1000.0, rate, amp=0.2)
    p = tmp_path / "stereo.wav"
    sf.write(str(p), np.stack([left, right], 1), rate, subtype="FLOAT")
    x = load_audio(p)
    expected = resample((left + right) / 2, rate, 16000)
    np.testing.assert_allclose(x, expected, atol=1e-5)
    assert x.ndim == 1


def test_other_containers_and_sample_formats(tmp_path):
    y = _tone(500.0, 16000)
    for name, subtype in (("a.flac", "PCM_24"), ("b.wav", "FLOAT"), ("c.wav", "PCM_32"), ("d.ogg", "VORBIS")):
        sf.write(str(tmp_path / name), y, 16000, subtype=subtype)
        x = load_audio(tmp_path / name)
        assert x.size == y.size
        assert _dominant_hz(x, 16000) == pytest.approx(500.0, abs=3)


def test_16k_mono_pcm_is_returned_as_is(tmp_path):
    y = _tone(700.0, 16000)
    sf.write(str(tmp_path / "x.wav"), y, 16000, subtype="FLOAT")
    np.testing.assert_array_equal(load_audio(tmp_path / "x.wav"), y)


def test_silent_file_is_valid(tmp_path):
    sf.write(str(tmp_path / "s.wav"), np.zeros(4000, np.float32), 16000)
    x = load_audio(tmp_path / "s.wav")
    assert x.shape == (4000,) and not x.any()


def test_target_rate_other_than_16k(tmp_path):
    sf.write(str(tmp_path / "x.wav"), _tone(440.0, 16000), 16000)
    assert load_audio(tmp_path / "x.wav", sample_rate_hz=8000).size == 4000


def _wav_header(n_data_bytes, rate=16000):
    import struct
    return (b"RIFF" + struct.pack("<I", 36 + n_data_bytes) + b"WAVEfmt " +
            struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16) + b"data" + struct.pack("<I", n_data_bytes))


@pytest.mark.parametrize("make, why", [
    (lambda p: p.write_bytes(b""), "empty"),
    (lambda p: p.write_text("this is not audio, just text\n" * 20), "not a readable audio file"),
    (lambda p: p.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes()),
     "not a readable audio file"),
    (lambda p: p.write_bytes(_wav_header(0)), "no audio samples"),
    (lambda p: p.write_bytes(_wav_header(32000)), "no audio samples"),  # header claims data, none there
])
def test_unusable_files_raise_one_line_errors(tmp_path, make, why):
    p = tmp_path / "bad.wav"
    make(p)
    with pytest.raises(AudioFileError, match=why) as e:
        load_audio(p)
    msg = str(e.value)
    assert "\n" not in msg and str(p) in msg


def test_truncated_mid_data_reads_what_is_there(tmp_path):
    p = tmp_path / "cut.wav"
    y = _tone(440.0, 16000)
    sf.write(str(p), y, 16000, subtype="PCM_16")
    data = p.read_bytes()
    p.write_bytes(data[: 44 + 2 * 3000 + 1])  # header + 3000.5 samples (the header still says 8000)
    x = load_audio(p)
    assert 2990 <= x.size <= 3001
    np.testing.assert_allclose(x[:2990], y[:2990], atol=1e-4)


def test_missing_and_folder(tmp_path):
    with pytest.raises(AudioFileError, match="no such file"):
        load_audio(tmp_path / "nope.wav")
    with pytest.raises(AudioFileError, match="folder"):
        load_audio(tmp_path)


def test_too_long_is_refused_before_decoding(tmp_path):
    p = tmp_path / "long.wav"
    sf.write(str(p), np.zeros(16000 * 3, np.float32), 16000)
    with pytest.raises(AudioFileError, match="longer than"):
        load_audio(p, max_seconds=2)


def test_non_finite_samples_are_refused(tmp_path):
    y = _tone(440.0, 16000)
    y[100] = np.nan
    sf.write(str(tmp_path / "nan.wav"), y, 16000, subtype="FLOAT")
    with pytest.raises(AudioFileError, match="NaN"):
        load_audio(tmp_path / "nan.wav")


def test_save_wav_round_trip_is_atomic_and_clips(tmp_path):
    y = _tone(440.0, 16000, amp=1.5)
    save_wav(tmp_path / "o.wav", y)
    assert sorted(q.name for q in tmp_path.iterdir()) == ["o.wav"]
    x = load_audio(tmp_path / "o.wav")
    assert x.max() <= 1.0 and x.max() > 0.99
    np.testing.assert_allclose(x, np.clip(y, -1, 1), atol=1e-4)


def test_to_mono_and_resample_helpers():
    st = np.array([[1.0, 0.0], [0.5, 0.5]], np.float32)
    np.testing.assert_array_equal(to_mono(st), [0.5, 0.5])
    assert resample(np.zeros(0, np.float32), 8000, 16000).size == 0
    assert resample(np.ones(80, np.float32), 8000, 16000).size == 160

"""Tests of spikelearn.streaming and spikelearn.datasets.long_recordings."""

import sys

import numpy as np
import pytest
from fake_sounddevice import fake_sounddevice

from spikelearn import Model
from spikelearn.datasets import Corpus, extract_features, save_wav
from spikelearn.datasets.long_recordings import (
    LongRecording,
    add_background,
    as_recorded,
    cut_keyword,
    make_long_recording,
    place_cuts,
    score_detections,
)
from spikelearn.errors import DataError, MissingDependencyError
from spikelearn.layers import Conv2D, FullyConnected, InputConv2D, SeparableConv2D
from spikelearn.layers.reference import activate
from spikelearn.streaming import (
    SMOOTHING_S,
    Detection,
    FrameExtractor,
    Stream,
    StreamingNetwork,
    listen_file,
    listen_microphone,
    start_lag,
)

CLASSES, NEURONS = 3, 2


def _random_model(seed=0, frames=49, global_avg=True):
    """InputConv2D stride 2 + two SeparableConv2D (+ global sum) + FullyConnected."""
    rng = np.random.default_rng(seed)
    last = dict(pool="global_avg", activation_bits=1) if global_avg else dict(
        pool="none", activation_bits=None)
    model = Model([
        InputConv2D((frames, 10, 1), 6, (5, 5), strides=(2, 2), weight_bits=8),
        SeparableConv2D(5, 3),
        SeparableConv2D(4, 3, **last),
    ])
    for layer in model.layers:
        for name, value in layer.variables.items():
            if name in ("weights", "depthwise", "pointwise"):
                high = 127 if value.dtype == np.int8 and layer.is_input_layer else 7
                layer.set_variable(name, rng.integers(-high, high + 1, value.shape))
        if layer.activation_bits is not None:
            levels = layer.variables["thresholds"].shape[1]
            scale = 2000 if layer.is_input_layer else 60
            start = rng.integers(-scale, scale, (layer.output_shape[2], 1))
            layer.set_variable("thresholds", start + scale // 4 * np.arange(levels))
    if global_avg:
        model.add(FullyConnected(CLASSES * NEURONS, weight_bits=1))
        model.layers[-1].set_variable("weights", rng.integers(0, 2, (4, CLASSES * NEURONS)))
    return model


def _full_forward(model, windows):
    x = windows
    for layer in model.layers:
        x = layer.call(np.ascontiguousarray(x))
    return x


def test_frames_equal_batch_features():
    rng = np.random.default_rng(1)
    audio = (rng.standard_normal(16000 + 320 * 30 + 100) * 0.1).astype(np.float32)
    extractor = FrameExtractor()
    frames = np.concatenate([extractor.push(audio[i:i + 301]) for i in range(0, audio.size, 301)])
    assert extractor.frames_emitted == frames.shape[0] == (audio.size - 480) // 320 + 1
    windows = np.stack([audio[320 * s:320 * s + 16000] for s in range(frames.shape[0] - 48)])
    expected = extract_features(windows)
    streamed = np.stack([frames[s:s + 49] for s in range(frames.shape[0] - 48)])[..., None]
    np.testing.assert_array_equal(streamed, expected)


@pytest.mark.parametrize("seed", [0, 1])
def test_exact_network_equals_full_window(seed):
    model = _random_model(seed)
    frames = np.random.default_rng(seed + 10).integers(0, 256, (49 + 12, 10), np.uint8)
    network = StreamingNetwork(model, exact=True)
    outputs = np.concatenate([network.push(frames[:30]), network.push(frames[30:])])
    windows = np.stack([frames[s:s + 49] for s in range(13)])[..., None]
    expected = _full_forward(model, windows)
    assert outputs.dtype == np.int32 and outputs.shape == expected.shape
    np.testing.assert_array_equal(outputs, expected)
    assert network.hop_macs() < sum(layer.macs() for layer in model.layers)


def _randomize(model, seed):
    """Random weights and thresholds for every layer of ``model``."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        for name, value in layer.variables.items():
            if name in ("weights", "depthwise", "pointwise"):
                high = {8: 127, 4: 7, 1: 1}[layer.config["weight_bits"]]
                low = 0 if layer.config["weight_bits"] == 1 else -high
                layer.set_variable(name, rng.integers(low, high + 1, value.shape))
        if layer.activation_bits is not None:
            levels = layer.variables["thresholds"].shape[1]
            scale = 30000 if layer.is_input_layer else 600  # about the potentials' spread
            start = rng.integers(-scale, scale, (layer.output_shape[2], 1))
            layer.set_variable("thresholds", start + scale // 4 * np.arange(levels))
    return model


@pytest.mark.parametrize("layers", [
    # the global sum in a Conv2D instead of a SeparableConv2D (its potentials are the output)
    lambda: [InputConv2D((49, 10, 1), 6, (5, 5), strides=(2, 2)), SeparableConv2D(5, 3),
             Conv2D(4, 3, pool="global_avg", activation_bits=None)],
    # the global sum in the input layer: no row layers
    lambda: [InputConv2D((49, 10, 1), 4, (3, 3), strides=(2, 2), pool="global_avg",
                         activation_bits=None)],
    # no global sum: the fully connected layer reads every row of the last convolution
    lambda: [InputConv2D((49, 10, 1), 3, (5, 5), strides=(2, 2)), SeparableConv2D(2, 3),
             FullyConnected(CLASSES * NEURONS, weight_bits=1)],
])
def test_exact_network_equals_full_window_for_other_layouts(layers):
    model = _randomize(Model(layers()), 5)
    frames = np.random.default_rng(6).integers(0, 256, (49 + 7, 10), np.uint8)
    outputs = StreamingNetwork(model, exact=True).push(frames)
    windows = np.stack([frames[s:s + 49] for s in range(8)])[..., None]
    expected = _full_forward(model, windows)
    assert len(np.unique(expected.reshape(8, -1), axis=0)) > 4  # the hops differ
    np.testing.assert_array_equal(outputs, expected)


def test_approximate_network_equals_extended_context():
    """exact=False: the model on all frames since the phase's first window, with the global
    sum over the last window's rows."""
    model = _random_model(3)
    frames = np.random.default_rng(4).integers(0, 256, (49 + 9, 10), np.uint8)
    outputs = StreamingNetwork(model, exact=False).push(frames)
    assert len(outputs) == 10
    for hop, output in enumerate(outputs):
        start = hop % 2  # first window of this phase starts at frame 0 or 1
        extended = frames[start:hop + 49][None, ..., None]
        context = _random_model(3, frames=extended.shape[1], global_avg=False)
        for source, target in zip(model.layers, context.layers, strict=False):
            for name, value in source.variables.items():
                if name in target.variables:
                    target.set_variable(name, value)
        potentials = _full_forward(context, extended)[0, -25:].sum(axis=(0, 1)).astype(np.int64)
        spikes = activate(potentials, model.layers[2].variables["thresholds"])
        expected = model.layers[-1].call(spikes.reshape(1, 1, 1, -1))
        np.testing.assert_array_equal(output, expected[0])


def test_unsupported_models_raise():
    with pytest.raises(ValueError, match="pool"):
        StreamingNetwork(Model([InputConv2D((49, 10, 1), 2, 3, pool="max")]))
    with pytest.raises(ValueError, match="time stride 1"):
        StreamingNetwork(Model([InputConv2D((49, 10, 1), 2, 3), Conv2D(2, 3, strides=2)]))
    with pytest.raises(ValueError, match="only FullyConnected layers may follow"):
        StreamingNetwork(Model([
            InputConv2D((49, 10, 1), 4, 3, strides=(2, 2), pool="global_avg", activation_bits=1),
            FullyConnected(4, activation_bits=1), Conv2D(2, 1)]))


def test_weights_are_read_when_the_network_is_built():
    model = _random_model()
    frames = np.random.default_rng(2).integers(0, 256, (52, 10), np.uint8)
    before = StreamingNetwork(model).push(frames)
    network = StreamingNetwork(model)
    model.layers[-1].set_variable("bias", model.layers[-1].variables["bias"] + 5)
    np.testing.assert_array_equal(network.push(frames), before)
    np.testing.assert_array_equal(StreamingNetwork(model).push(frames), before + 5)


def _stream(**options):
    return Stream(_random_model(), words=["yes", "no", "_silence_"], **options)


def test_stream_keeps_earlier_rows_unless_exact():
    assert _stream().network.exact is False
    assert _stream(exact=True).network.exact is True
    assert StreamingNetwork(_random_model()).exact is True  # the network alone is exact


def test_smoothing_threshold_and_refractory():
    stream = _stream(smoothing=0.04, threshold=0.7, refractory_s=0.1, start_lag_s=0.5)
    low, yes, silence = [0.2, 0.3, 0.5], [0.9, 0.05, 0.05], [0.0, 0.0, 1.0]
    rows = np.array([low, yes, yes, yes, yes, yes, yes, yes, silence, silence])
    detections = stream.detect(rows, first_frame=48)
    # hop 1: mean(low, yes) = 0.55 < 0.7; hop 2: 0.9 -> detect at (320*50 + 480) / 16000
    first = (320 * 50 + 480) / 16000
    assert [d.word for d in detections] == ["yes", "yes"]
    assert detections[0].detected_s == pytest.approx(first)
    assert detections[0].time_s == pytest.approx(first - 0.5)
    assert detections[0].score == pytest.approx(0.9)
    assert detections[1].detected_s == pytest.approx(first + 0.1)  # 5 hops later
    assert detections[0].to_dict()["class_index"] == 0


def test_smooth_is_a_moving_average_across_calls():
    rows = np.random.default_rng(4).dirichlet(np.ones(3), 12)
    stream = _stream(smoothing=0.08)  # 4 hops
    smoothed = np.concatenate([stream.smooth(rows[:5]), stream.smooth(rows[5:])])
    by_hand = [rows[max(0, i - 3):i + 1].mean(axis=0) for i in range(12)]
    np.testing.assert_allclose(smoothed, by_hand)
    assert smoothed.dtype == np.float64
    with pytest.raises(ValueError, match=r"shape \(m, 3\)"):
        stream.smooth(rows[:, :2])
    with pytest.raises(ValueError, match=r"shape \(m, 3\)"):
        stream.smooth(rows[0])


def test_reported_classes_leave_out_ignored_ones():
    assert _stream().reported.tolist() == [True, True, False]
    assert _stream(ignore=()).reported.tolist() == [True, True, True]


def test_start_lag_follows_smoothing_unless_given():
    assert _stream().start_lag_s == pytest.approx(start_lag(SMOOTHING_S))
    assert _stream(smoothing=0.7).start_lag_s == pytest.approx(start_lag(0.7))
    assert start_lag(0.7) > start_lag(0.3) > 0  # longer smoothing, later detections
    assert _stream(smoothing=0.7, start_lag_s=0.1).start_lag_s == 0.1
    with pytest.raises(ValueError, match="start_lag_s"):
        _stream(start_lag_s=-0.1)


def test_detection_state_carries_over_pushes():
    rows = np.random.default_rng(3).dirichlet(np.ones(3) * 0.3, 60)
    whole = _stream(smoothing=0.1, threshold=0.6, refractory_s=0.2).detect(rows, 48)
    stream = _stream(smoothing=0.1, threshold=0.6, refractory_s=0.2)
    parts = stream.detect(rows[:7], 48) + stream.detect(rows[7:9], 55) + stream.detect(
        rows[9:], 57)
    assert len(whole) >= 3
    assert [(d.word, d.detected_s) for d in parts] == [(d.word, d.detected_s) for d in whole]
    np.testing.assert_allclose([d.score for d in parts], [d.score for d in whole])


def test_ignored_class_is_never_reported():
    stream = _stream(smoothing=0.02, threshold=0.5)
    assert stream.detect(np.tile([0.0, 0.0, 1.0], (20, 1)), first_frame=48) == []


def test_push_and_reset():
    stream = _stream(threshold=0.01, refractory_s=0.0)
    audio = np.random.default_rng(0).uniform(-0.5, 0.5, 16000 + 320 * 4).astype(np.float32)
    detections = stream.push(audio)
    assert len(detections) == 5 and all(isinstance(d, Detection) for d in detections)
    assert stream.push(np.zeros(100, np.float32)) == []
    stream.reset()
    assert stream.network.frames_seen == 0 and stream.push(audio[:8000]) == []


@pytest.mark.parametrize("samples, match", [
    (np.zeros(10, np.int16), "dtype"),
    (np.zeros((10, 2), np.float32), "1-D"),
    (np.array([0.0, np.nan], np.float32), "NaN"),
])
def test_bad_samples(samples, match):
    with pytest.raises(DataError, match=match):
        _stream().push(samples)


def test_bad_options():
    with pytest.raises(DataError, match="16000"):
        _stream(sample_rate=8000)
    for option, value in (("threshold", 0.0), ("refractory_s", -1.0), ("smoothing", -0.1),
                          ("temperature", 0.0)):
        with pytest.raises(ValueError, match=option):
            _stream(**{option: value})
    with pytest.raises(ValueError, match="divide"):
        Stream(_random_model(), words=["a", "b", "c", "d"])


def test_listen_file(tmp_path):
    path = tmp_path / "a.wav"
    save_wav(path, np.random.default_rng(0).uniform(-0.5, 0.5, 20000).astype(np.float32))
    detections = listen_file(_random_model(), path, threshold=0.01, refractory_s=0.0,
                             words=["yes", "no", "_silence_"])
    assert len(detections) == (20000 - 480) // 320 + 1 - 48
    save_wav(tmp_path / "b.wav", np.zeros(20000, np.float32), sample_rate=8000)
    with pytest.raises(DataError, match="16000"):
        listen_file(_random_model(), tmp_path / "b.wav")


def test_listen_microphone_equals_the_file(tmp_path, monkeypatch):
    audio = np.random.default_rng(0).uniform(-0.5, 0.5, 20000).astype(np.float32)
    save_wav(tmp_path / "a.wav", audio)
    options = dict(threshold=0.01, refractory_s=0.0, words=["yes", "no", "_silence_"])
    expected = listen_file(_random_model(), tmp_path / "a.wav", **options)
    monkeypatch.setitem(sys.modules, "sounddevice", fake_sounddevice(audio))
    live = list(listen_microphone(_random_model(), seconds=20000 / 16000, chunk_s=0.3,
                                  **options))
    assert live == expected and len(live) == (20000 - 480) // 320 + 1 - 48


def test_listen_microphone_warns_on_lost_audio_and_checks_options(monkeypatch):
    monkeypatch.setitem(sys.modules, "sounddevice",
                        fake_sounddevice(np.zeros(16000, np.float32), overflowed=True))
    words = ["yes", "no", "_silence_"]
    with pytest.warns(RuntimeWarning, match="dropped audio") as caught:
        list(listen_microphone(_random_model(), seconds=2.0, words=words))
    assert len(caught) == 1
    with pytest.raises(ValueError, match="seconds"):
        next(listen_microphone(_random_model(), seconds=0, words=words))
    monkeypatch.setitem(sys.modules, "sounddevice", None)
    with pytest.raises(MissingDependencyError, match="pip install sounddevice"):
        next(listen_microphone(_random_model(), words=words))


def _corpus():
    rng = np.random.default_rng(0)
    audio = (rng.standard_normal((6, 16000)) * 0.001).astype(np.float32)
    offsets = np.array([2000, 4000, 1000, 3000, -1, 5000])
    for clip, offset in zip(audio, offsets, strict=True):
        if offset >= 0:
            clip[offset:offset + 4800] += 0.3 * np.sin(np.arange(4800) * 0.2)
    return Corpus(audio=audio, labels=np.array([0, 1, 0, 1, 2, 0]),
                  words=["yes", "no", "_silence_"], speakers=np.arange(6),
                  split=np.array(["test"] * 5 + ["train"]),
                  clip_info={"offset": offsets, "length": np.where(offsets >= 0, 4800, 0)})


def test_make_long_recording():
    recording = make_long_recording(_corpus(), duration_s=20.0, seed=3)
    again = make_long_recording(_corpus(), duration_s=20.0, seed=3)
    np.testing.assert_array_equal(recording.audio, again.audio)
    assert recording.audio.shape == (320000,) and recording.audio.dtype == np.float32
    assert len(recording.words) >= 3 and set(recording.words) <= {"yes", "no"}
    assert np.all(np.diff(recording.starts) > 0) and np.all(recording.ends > recording.starts)
    assert 5 not in recording.info["clips"]  # train split
    np.testing.assert_allclose(recording.ends - recording.starts, 0.3)  # the recorded length
    for start, end in zip(recording.starts, recording.ends, strict=True):
        first, last = int(round(start * 16000)), int(round(end * 16000))
        assert np.abs(recording.audio[first:first + 1000]).max() > 0.2  # the word's first and
        assert np.abs(recording.audio[last - 1000:last]).max() > 0.2  # last samples are in
        assert np.abs(recording.audio[last + 800:last + 1600]).max() < 0.05  # then background
    no_lengths = _corpus()
    del no_lengths.clip_info["length"]
    with pytest.raises(ValueError, match=r"lacks \['length'\]"):
        make_long_recording(no_lengths)
    with pytest.raises(ValueError, match="no clip"):
        make_long_recording(_corpus(), words=["cat"])



def test_long_recording_only_keeps_the_events_of_some_words():
    recording = make_long_recording(_corpus(), duration_s=20.0, seed=3)
    yes = recording.only(["yes"])
    kept = [k for k, word in enumerate(recording.words) if word == "yes"]
    assert 0 < len(kept) < len(recording.words) and yes.words == ["yes"] * len(kept)
    assert yes.audio is recording.audio
    np.testing.assert_array_equal(yes.starts, recording.starts[kept])
    np.testing.assert_array_equal(yes.ends, recording.ends[kept])
    assert yes.info["clips"] == [recording.info["clips"][k] for k in kept]
    assert yes.info["keywords"] == ["yes"] and "keywords" not in recording.info
    # a detection of a word that is no longer a keyword is a false alarm away from keywords
    k = recording.words.index("no")
    detection = Detection(1, "no", recording.starts[k], 0.9, recording.ends[k])
    assert score_detections([detection], recording)["hits"] == 1
    scored = score_detections([detection], yes)
    assert scored["hits"] == 0 and scored["background_false_alarms"] == 1
    with pytest.raises(ValueError, match=r"no event of \['cat'\]"):
        recording.only(["yes", "cat"])

def test_cut_keyword_is_what_the_recording_holds():
    corpus = _corpus()
    clip = corpus.audio[0]
    cut, begin = cut_keyword(clip, 2000, 4800)
    assert begin == 1200 and cut.shape == (4800 + 1600,) and cut.dtype == np.float32
    np.testing.assert_array_equal(cut[160:-160], clip[1360:7440])  # unfaded middle
    ramp = np.linspace(0.0, 1.0, 160, dtype=np.float32)  # 10 ms linear fades
    np.testing.assert_array_equal(cut[:160], clip[1200:1360] * ramp)
    np.testing.assert_array_equal(cut[-160:], clip[7440:7600] * ramp[::-1])
    assert not np.shares_memory(cut, clip)
    near_edges, _ = cut_keyword(clip, 400, 15500)  # the margins stop at the clip's ends
    assert near_edges.shape == (16000,)
    for offset, length in ((-1, 4800), (2000, 0), (12000, 4800)):
        with pytest.raises(ValueError, match="must lie inside"):
            cut_keyword(clip, offset, length)
    with pytest.raises(ValueError, match="1-D clip"):
        cut_keyword(corpus.audio[:2], 2000, 4800)
    recording = make_long_recording(corpus, duration_s=20.0, seed=3)
    quiet = make_long_recording(corpus, duration_s=20.0, seed=3, noise_dbfs=(-300, -300))
    for k, index in enumerate(quiet.info["clips"]):
        offset = int(corpus.clip_info["offset"][index])
        cut, begin = cut_keyword(corpus.audio[index], offset, 4800)
        first = int(round(quiet.starts[k] * 16000)) - (offset - begin)
        np.testing.assert_allclose(quiet.audio[first:first + cut.size], cut, atol=1e-6)
    assert recording.info["clips"] == quiet.info["clips"]


def test_place_cuts_puts_each_cut_where_its_clip_has_it():
    clips = np.random.default_rng(0).normal(0, 0.1, (3, 16000)).astype(np.float32)
    placed = place_cuts(clips, [2000, -1, 400], [4800, 0, 15500])
    assert placed.shape == (3, 16000) and placed.dtype == np.float32
    cut, begin = cut_keyword(clips[0], 2000, 4800)
    np.testing.assert_array_equal(placed[0, begin:begin + cut.size], cut)
    assert not placed[0, :begin].any() and not placed[0, begin + cut.size:].any()
    np.testing.assert_array_equal(placed[1], clips[1])  # no word: kept whole
    np.testing.assert_array_equal(placed[2], cut_keyword(clips[2], 400, 15500)[0])
    with pytest.raises(ValueError, match="one offset and one length per clip"):
        place_cuts(clips, [2000, 2000], [4800, 4800, 4800])
    with pytest.raises(ValueError, match="must lie inside"):
        place_cuts(clips, [2000, 12000, 0], [4800, 4800, 4800])



def test_as_recorded_is_each_cut_over_the_background_chunk_by_chunk(monkeypatch):
    from spikelearn.datasets import long_recordings

    monkeypatch.setattr(long_recordings, "RECORDED_CHUNK", 2)  # chunks of clips 0-1 and 2
    clips = np.random.default_rng(0).normal(0, 0.1, (3, 16000)).astype(np.float32)
    offsets, lengths = [2000, -1, 400], [4800, 0, 15500]
    recorded = as_recorded(clips, offsets, lengths, seed=7)
    assert recorded.shape == (3, 16000) and recorded.dtype == np.float32
    placed = place_cuts(clips, offsets, lengths)
    np.testing.assert_array_equal(recorded[:2], add_background(placed[:2], seed=7))
    np.testing.assert_array_equal(recorded[2:], add_background(placed[2:], seed=9))
    assert not np.array_equal(recorded, as_recorded(clips, offsets, lengths, seed=8))
    with pytest.raises(ValueError, match="one offset and one length per clip"):
        as_recorded(clips, offsets[:2], lengths[:2])
    with pytest.raises(DataError):
        as_recorded(clips[:, :8000], offsets, lengths)

def test_add_background_is_the_recordings_background():
    corpus = _corpus()
    recording = make_long_recording(corpus, duration_s=20.0, seed=3)
    background = add_background(np.zeros((20, 16000), np.float32), seed=3)
    assert background.shape == (20, 16000) and background.dtype == np.float32
    expected = recording.audio.copy()
    for k, index in enumerate(recording.info["clips"]):  # take the keywords away again
        offset = int(corpus.clip_info["offset"][index])
        cut, begin = cut_keyword(corpus.audio[index], offset, 4800)
        first = int(round(recording.starts[k] * 16000)) - (offset - begin)
        expected[first:first + cut.size] -= cut
    np.testing.assert_allclose(background.ravel(), expected, atol=1e-6)
    levels = 20 * np.log10(np.sqrt(np.mean(np.square(background[:, 1000:15000]), axis=1)))
    assert np.all((levels > -62) & (levels < -38))  # drawn in [-60, -40] dBFS per segment
    clips = corpus.audio[:3]
    noisy = add_background(clips, seed=3)
    np.testing.assert_allclose(noisy - clips, background[:3], atol=1e-6)
    np.testing.assert_array_equal(noisy, add_background(clips, seed=3))
    assert not np.array_equal(noisy, add_background(clips, seed=4))
    with pytest.raises(DataError):
        add_background(np.zeros((2, 8000), np.float32))
    with pytest.raises(ValueError, match="segment_s"):
        add_background(clips, segment_s=0)


def test_score_detections():
    recording = LongRecording(np.zeros(16000 * 36, np.float32), ["yes", "no", "yes"],
                              np.array([1.0, 5.0, 9.0]), np.array([1.5, 5.5, 9.5]))
    detections = [
        Detection(0, "yes", 1.3, 0.9, 1.8),   # second detection of the same keyword: FA
        Detection(0, "yes", 1.2, 0.9, 1.9),   # closest: hit, latency 1.9 - 1.5
        Detection(1, "no", 5.7, 0.9, 6.0),    # too far from the start: FA, miss
        Detection(1, "no", 9.0, 0.9, 9.6),    # wrong word: FA; the third keyword is missed
        Detection(1, "no", 10.3, 0.9, 10.6),  # detected 1.1 s after the last keyword's end:
        Detection(0, "yes", 2.0, 0.9, 2.4),   # a background FA, unlike this one (0.9 s after)
    ]
    result = score_detections(detections, recording)
    assert result["hits"] == 1 and result["misses"] == 2 and result["false_alarms"] == 5
    assert result["missed_keywords"] == [1, 2]
    assert result["background_false_alarms"] == 1
    assert result["detection_rate"] == pytest.approx(1 / 3)
    assert result["false_alarms_per_hour"] == pytest.approx(5 / 0.01)
    assert result["latency_s"] == pytest.approx(0.4)
    assert np.isnan(score_detections([], recording)["latency_s"])


def test_score_detections_matches_every_pair():
    # The search near each detection pairs exactly as testing every keyword would.
    rng = np.random.default_rng(0)
    starts = np.sort(rng.uniform(0, 300, 200))
    words = [str(w) for w in rng.integers(0, 3, 200)]
    recording = LongRecording(np.zeros(16000 * 301, np.float32), words, starts, starts + 0.5)
    times = np.concatenate([starts[rng.integers(0, 200, 300)] + rng.uniform(-0.6, 0.6, 300),
                            starts[:20] + 0.5, starts[20:40] - 0.5])
    detections = [Detection(0, str(rng.integers(0, 3)), t, 0.9, t + 0.8) for t in times]
    pairs = sorted((abs(det.time_s - start), d, k) for d, det in enumerate(detections)
                   for k, (word, start) in enumerate(zip(words, starts, strict=True))
                   if det.word == word and abs(det.time_s - start) <= 0.5)
    matched_d, matched_k = set(), set()
    for _, d, k in pairs:
        if d not in matched_d and k not in matched_k:
            matched_d.add(d)
            matched_k.add(k)
    result = score_detections(detections, recording)
    assert 0 < result["hits"] == len(matched_k) < len(words)
    assert result["missed_keywords"] == sorted(set(range(len(words))) - matched_k)
    assert result["false_alarms"] == len(detections) - len(matched_d)


def test_stream_scores_follow_the_model_readout():
    from spikelearn.learning import Competitive
    from spikelearn.learning.scores import class_scores

    model = _random_model()
    model.compile(Competitive(2, CLASSES, score_neurons=NEURONS, seed=0))
    stream = Stream(model, words=["yes", "no", "_silence_"])
    assert stream.score_neurons == NEURONS
    outputs = np.random.default_rng(1).integers(0, 5, (6, 1, 1, CLASSES * NEURONS))
    expected = outputs.reshape(6, CLASSES, NEURONS).mean(axis=2)
    np.testing.assert_allclose(stream.scores(outputs), expected, rtol=1e-6)
    np.testing.assert_array_equal(stream.scores(outputs),
                                  class_scores(outputs.reshape(6, -1), CLASSES, NEURONS)[0])
    model.add_classes(1)
    model.new_class_bonus = 3
    stream = Stream(model, words=["yes", "no", "_silence_", "wow"])
    outputs = np.random.default_rng(2).integers(0, 5, (6, 1, 1, (CLASSES + 1) * NEURONS))
    expected = outputs.reshape(6, CLASSES + 1, NEURONS).mean(axis=2)
    expected[:, CLASSES] += 3 / NEURONS  # the added class only
    np.testing.assert_allclose(stream.scores(outputs), expected, rtol=1e-6)

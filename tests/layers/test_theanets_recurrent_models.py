"""theanets.recurrent helpers: batches, Text, Classifier.predict_sequence."""

from __future__ import annotations

import numpy as np
import pytest

from graphc import theanets
from graphc.theanets.recurrent import Text, batches

TXT = "hello world, how are you!"


def test_batches_shapes_dtypes_and_aligned_windows():
    t = np.arange(40)
    feats = np.stack([t, -t, 2 * t], axis=1).astype("f")  # (40, 3)
    labels = t.astype("int32")  # (40,)
    f = batches([feats, labels], steps=7, batch_size=5, rng=3)
    xs, ys = f()
    assert xs.shape == (5, 7, 3) and xs.dtype == np.float32
    assert ys.shape == (5, 7) and ys.dtype == np.int32
    # each window is contiguous and the arrays share the start
    np.testing.assert_array_equal(np.diff(xs[:, :, 0], axis=1), 1)
    np.testing.assert_array_equal(xs[:, :, 0], ys)
    np.testing.assert_array_equal(xs[:, :, 1], -ys)
    assert ys.min() >= 0 and ys.max() <= 39
    assert len(batches([feats], steps=7, batch_size=5)()) == 1


def test_batches_reach_every_start_and_are_seeded():
    a = np.arange(10)[:, None].astype("f")
    f = batches([a], steps=4, batch_size=64, rng=0)
    starts = {int(x) for _ in range(20) for x in f()[0][:, 0, 0]}
    assert starts == set(range(7))  # 0 .. T - steps
    g1, g2 = batches([a], steps=4, batch_size=8, rng=5), batches([a], steps=4, batch_size=8, rng=5)
    np.testing.assert_array_equal(g1()[0], g2()[0])


def test_batches_errors():
    a = np.zeros((10, 2))
    with pytest.raises(ValueError, match="same length"):
        batches([a, np.zeros(9)], steps=3)
    with pytest.raises(ValueError, match="fewer than steps"):
        batches([a], steps=11)
    with pytest.raises(ValueError, match="batch_size"):
        batches([a], steps=3, batch_size=1)
    with pytest.raises(ValueError, match="list or tuple"):
        batches(a, steps=3)


def test_text_min_count_and_alpha():
    txt = Text(TXT, min_count=2, unknown="_")
    assert (txt.text, txt.alpha) == ("hello worl__ how _re _o__", " ehlorw")
    txt = Text(TXT, min_count=3, unknown="_")
    assert (txt.text, txt.alpha) == ("__llo _o_l__ _o_ ___ _o__", " lo")
    txt = Text(TXT, alpha="helo wrd,!", unknown="_")
    assert (txt.text, txt.alpha) == ("hello world, how _re _o_!", "helo wrd,!")
    assert Text("aab\0b").alpha == "ab"  # the default unknown is not counted
    with pytest.raises(ValueError, match="may not be in alpha"):
        Text(TXT, alpha="ab_", unknown="_")


def test_text_encode_decode_round_trip():
    txt = Text(TXT, alpha="helo wrd,!", unknown="_")
    assert txt.encode("hello!") == [1, 2, 3, 3, 4, 10]
    assert txt.encode("you!") == [0, 4, 0, 10]
    assert txt.decode([1, 2, 3, 3, 4, 10]) == "hello!"
    assert txt.decode([0, 4, 0, 10]) == "_o_!"
    assert txt.decode(txt.encode(txt.text)) == txt.text


def test_classifier_batches_one_hot_and_next_char_labels():
    txt = Text(TXT * 3, min_count=2, unknown="_")
    b = txt.classifier_batches(steps=8, batch_size=5, rng=1)
    x, y = b()
    width = 1 + len(txt.alpha)
    assert x.shape == (5, 8, width) and x.dtype == np.float32
    assert y.shape == (5, 8) and y.dtype == np.int32
    np.testing.assert_array_equal(x.sum(axis=-1), 1)
    enc = np.asarray(txt.encode(txt.text))
    for row_x, row_y in zip(x, y):
        cls = row_x.argmax(-1)
        starts = [
            s for s in range(len(enc) - 8) if (enc[s : s + 8] == cls).all() and (enc[s + 1 : s + 9] == row_y).all()
        ]
        assert starts, "each window is a piece of the text, labelled by the next characters"
    assert not np.allclose(b()[0], b()[0])
    with pytest.raises(ValueError, match="steps"):
        Text("abcab").classifier_batches(steps=5, batch_size=2)


def test_text_batches_train_a_recurrent_classifier():
    txt = Text("abcabcabcabcabcabcabc" * 4, min_count=1)
    width = 1 + len(txt.alpha)
    net = theanets.recurrent.Classifier([width, (6, "rnn"), width])
    gen = net.itertrain(txt.classifier_batches(6, 8, rng=2), algo="rmsprop", learning_rate=0.05, train_batches=4,
                        valid_batches=4, progress=False)  # fmt: skip
    _, v0 = next(gen)
    for _ in range(10):
        t, _ = next(gen)
    gen.close()
    assert t["loss"] < v0["loss"]


@pytest.fixture(scope="module")
def clf():
    return theanets.recurrent.Classifier([6, (5, "rnn"), 6])


def test_predict_sequence_yields_ints_for_one_stream(clf):
    out = list(clf.predict_sequence([0, 1, 2], 5, rng=13))
    assert len(out) == 5 and all(type(c) is int and 0 <= c < 6 for c in out)
    assert list(clf.predict_sequence([0, 1, 2], 5, rng=13)) == out  # seeded


def test_predict_sequence_streams_give_lists(clf):
    out = list(clf.predict_sequence([3], 4, streams=3, rng=0))
    assert len(out) == 4 and all(isinstance(s, list) and len(s) == 3 for s in out)


def test_predict_sequence_reads_the_last_step_of_the_whole_sequence_as_upstream(clf, monkeypatch):
    seen = []
    real = clf.predict_proba

    def spy(x):
        seen.append(x.copy())
        return real(x)

    monkeypatch.setattr(clf, "predict_proba", spy)
    out = list(clf.predict_sequence([0, 1], 3, rng=4))
    # upstream feeds at least two streams, every step (zeros not drawn yet), and reads the last step
    assert [s.shape for s in seen] == [(2, 5, 6)] * 3
    np.testing.assert_array_equal(seen[-1][0, :4].argmax(-1), [0, 1, *out[:2]])
    assert not seen[0][:, 2:].any() and not seen[-1][:, 4].any()


def test_predict_sequence_draws_as_upstream(clf):
    # an independent replay of upstream's loop: two streams, one multinomial draw per stream per step
    rng = np.random.RandomState(13)
    x = np.zeros((2, 8, 6), "f")
    x[:, np.arange(3), [0, 1, 2]] = 1
    want = []
    for i in range(3, 8):
        chars = [int(rng.multinomial(1, pdf).argmax()) for pdf in clf.predict_proba(x)[:, -1]]
        x[np.arange(2), i, chars] = 1
        want.append(chars[0])
    assert list(clf.predict_sequence([0, 1, 2], 5, rng=13)) == want
    # a negative seed label counts from the end, as numpy indexes
    assert list(clf.predict_sequence([0, 1, -4], 5, rng=13)) == want


def test_predict_sequence_rejects_bad_labels(clf):
    with pytest.raises(ValueError, match="labels must lie"):
        list(clf.predict_sequence([7], 2))

"""theano.misc.pkl_utils: zip archives of a pickle with its arrays beside it."""

import io
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import graphc
import graphc.tensor as T
from graphc.misc import pkl_utils


def test_round_trip_through_a_file_object_keeps_values_and_sharing():
    w = graphc.shared(np.arange(6, dtype=np.float32).reshape(2, 3), name="w")
    x = T.matrix("x")
    f = graphc.function([x], T.dot(x, w))
    buf = io.BytesIO()
    pkl_utils.dump({"w": w, "f": f, "plain": np.eye(3), "again": w}, buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zf:
        names = set(zf.namelist())
        assert "pkl" in names and {"array_0.npy", "array_1.npy"} <= names
        arrays = [np.load(io.BytesIO(zf.read(n))) for n in sorted(names - {"pkl"})]
    assert any(np.array_equal(a, w.get_value()) for a in arrays)  # readable without unpickling
    buf.seek(0)
    got = pkl_utils.load(buf)
    assert got["again"] is got["w"] and got["w"].name == "w"
    np.testing.assert_array_equal(got["w"].get_value(), w.get_value())
    np.testing.assert_array_equal(got["plain"], np.eye(3))
    xv = np.ones((4, 2), np.float32)
    np.testing.assert_allclose(got["f"](xv), xv @ w.get_value())


def test_a_path_is_written_atomically_and_bad_files_are_named(tmp_path):
    path = tmp_path / "obj.zip"
    pkl_utils.dump([1, np.zeros(3)], str(path))
    assert pkl_utils.load(str(path))[0] == 1
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a zip archive written by pkl_utils.dump"):
        pkl_utils.load(str(junk))
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("x", b"1")
    with pytest.raises(ValueError, match="has no 'pkl' entry"):
        pkl_utils.load(str(other))


def test_theano_misc_resolves_under_the_import_hook():
    code = (
        "import graphc.compat; graphc.compat.install()\n"
        "import io, numpy as np, theano\n"
        "from theano.misc.pkl_utils import dump, load\n"
        "b = io.BytesIO(); dump(theano.shared(np.ones(2)), b); b.seek(0); print(load(b).get_value().sum())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "2.0"

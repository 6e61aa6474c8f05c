"""Index arrays are read in place from the bytes of their files: the same values, dtypes and shapes as
``np.load`` gives, writable, sharing the buffer (no copy), and anything but plain numbers refused."""

import io

import numpy as np
import pytest

from embeddings.array_files import npy_array, npz_arrays, npz_bytes

ARRAYS = {"data": np.linspace(0, 1, 7, dtype=np.float32), "indices": np.arange(12, dtype=np.int32).reshape(3, 4),
          "keys": np.asfortranarray(np.arange(6, dtype=np.int64).reshape(2, 3)), "empty": np.zeros(0, dtype=bool),
          "alphabet": np.array([0x4E2D, 0x6587], dtype=np.uint32)}


def test_npz_members_are_writable_views_of_the_buffer_equal_to_np_load():
    buffer = bytearray(npz_bytes(ARRAYS))
    arrays = npz_arrays(buffer)
    with np.load(io.BytesIO(bytes(buffer))) as expected:
        assert sorted(arrays) == sorted(expected.files)
        for name, array in arrays.items():
            assert array.dtype == expected[name].dtype and array.shape == expected[name].shape
            assert np.array_equal(array, expected[name]) and array.flags.writeable
    assert np.shares_memory(arrays["data"], np.frombuffer(buffer, dtype=np.uint8))  # not a copy
    arrays["data"][0] = 5.0  # writable in place
    assert npz_arrays(buffer)["data"][0] == 5.0


@pytest.mark.parametrize("version", [(1, 0), (2, 0)])
def test_npy_round_trips_in_both_header_versions(version):
    out = io.BytesIO()
    np.lib.format.write_array(out, ARRAYS["keys"], version=version)
    array = npy_array(bytearray(out.getvalue()))
    assert array.flags.f_contiguous and np.array_equal(array, ARRAYS["keys"])


def test_object_arrays_truncated_and_foreign_data_are_refused():
    out = io.BytesIO()
    np.save(out, np.array([object()], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="pickle"):
        npy_array(out.getvalue())
    whole = io.BytesIO()
    np.save(whole, np.arange(100, dtype=np.int64))
    assert np.array_equal(npy_array(whole.getvalue()), np.arange(100))
    with pytest.raises(ValueError, match="长度不符"):  # one value short: a file cut off
        npy_array(whole.getvalue()[:-8])
    with pytest.raises(ValueError, match="npy"):
        npy_array(b"not an array at all")
    compressed = io.BytesIO()
    np.savez_compressed(compressed, a=np.arange(3))
    with pytest.raises(ValueError, match="未压缩"):
        npz_arrays(compressed.getvalue())
    with pytest.raises(ValueError, match="npz"):
        npz_arrays(b"PK\x03\x04 garbage")

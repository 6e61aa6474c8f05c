"""Arrays to and from ``.npy`` / uncompressed ``.npz`` bytes, read in place: numbers only, never a pickle.

``np.load`` copies every array out of the bytes it is given; at 100k achievements that copy was ~1 s of a
start-up (two lexical matrices of ~200 MB, the vectors). Here an array is a view of the buffer the file was
read into (a ``bytearray``, so the arrays stay writable), after its header has been checked.
"""

import io
import struct
import zipfile

import numpy as np

_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature, ..., file name length, extra field length
_LOCAL_SIGNATURE = b"PK\x03\x04"
_HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}


class _ViewStream(io.RawIOBase):
    """A read-only file over a memoryview, for zipfile to find the members without copying the buffer
    (``io.BytesIO`` copies anything but ``bytes``)."""

    def __init__(self, view: memoryview):
        self.view, self.pos = view, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: len(self.view)}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def readinto(self, target) -> int:
        chunk = self.view[self.pos:self.pos + len(target)]
        target[:len(chunk)] = chunk
        self.pos += len(chunk)
        return len(chunk)


def npy_array(buffer) -> np.ndarray:
    """The array stored in ``buffer`` (the bytes of one ``.npy`` file) as a view of it; ValueError when it
    is not a plain numeric ``.npy`` or is shorter than its header says."""
    view = memoryview(buffer)
    head = io.BytesIO(bytes(view[:65536 + 16]))  # the header only (numpy caps its length well below this)
    try:
        version = np.lib.format.read_magic(head)
        if version not in _HEADER_READERS:
            raise ValueError(f"不支持的 .npy 版本 {version}")
        shape, fortran, dtype = _HEADER_READERS[version](head)
    except (ValueError, EOFError, OSError) as exc:
        raise ValueError(f"不是有效的 .npy 数据（{exc}）") from exc
    if dtype.hasobject:
        raise ValueError(".npy 中含有对象数组（读出它要运行 pickle：拒绝，只接受数值）")
    count = int(np.prod(shape, dtype=np.int64))
    needed = head.tell() + count * dtype.itemsize
    if len(view) != needed:
        raise ValueError(f".npy 数据长度不符：实际 {len(view)} 字节，应为 {needed} 字节")
    flat = np.frombuffer(view, dtype=dtype, count=count, offset=head.tell())
    return flat.reshape(shape, order="F" if fortran else "C")


def npz_arrays(buffer) -> dict[str, np.ndarray]:
    """Name -> array of an uncompressed ``.npz`` (as ``npz_bytes`` writes), each a view of ``buffer``."""
    view = memoryview(buffer)
    try:
        with zipfile.ZipFile(_ViewStream(view)) as archive:
            members = archive.infolist()
        arrays = {}
        for info in members:
            if info.compress_type != zipfile.ZIP_STORED or not info.filename.endswith(".npy"):
                raise ValueError(f"成员 {info.filename} 不是未压缩的 .npy")
            signature, name_length, extra_length = _LOCAL_HEADER.unpack_from(view, info.header_offset)
            if signature != _LOCAL_SIGNATURE:
                raise ValueError(f"成员 {info.filename} 的本地文件头无效")
            start = info.header_offset + _LOCAL_HEADER.size + name_length + extra_length
            arrays[info.filename[:-4]] = npy_array(view[start:start + info.file_size])
        return arrays
    except (zipfile.BadZipFile, struct.error, OSError, EOFError) as exc:
        raise ValueError(f"不是有效的 .npz 文件（{exc}）") from exc


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """An uncompressed .npz with fixed timestamps: equal arrays give equal bytes (and checksums)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name in sorted(arrays):
            with archive.open(zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0)), "w") as out:
                np.lib.format.write_array(out, np.ascontiguousarray(arrays[name]), allow_pickle=False)
    return buffer.getvalue()

"""Messages between the grader and its worker: JSON plus safetensors, never pickle.

One message on the wire is::

    <JSON length: 8 bytes, little-endian> <blob length: 8 bytes> <JSON> <safetensors blob>

Tensors anywhere in a payload travel in the safetensors blob and stand in the
JSON as ``{"__tensor__": "<key>"}``; everything else must be plain JSON
(dict with string keys, list, str, int, float including nan/inf, bool, None).
Decoding only ever builds plain ``torch.Tensor`` objects and Python
built-ins, so nothing a worker sends can run code or smuggle a tensor
subclass into the grader.
"""
import json
import os
import select
import struct
import sys
import time

# torch and safetensors are imported only when a message holds tensors: the sandbox's
# self-test and grade-all's own process speak this format without loading torch.

HEADER = struct.Struct("<QQ")
MAX_JSON_BYTES = 16 * 2**20
MAX_BLOB_BYTES = 512 * 2**20
_REF = "__tensor__"


class WireError(Exception):
    """A message that is malformed, too large, or cut short."""


class Timeout(WireError):
    """The other side did not finish sending or receiving in time."""


class TooLarge(WireError):
    """A message larger than its reader accepts (refused from its header, before reading it)."""


class Closed(WireError):
    """The other side closed the channel (the worker exited)."""


def _plain(tensor):
    """A detached, contiguous CPU copy of ``tensor`` as a plain torch.Tensor."""
    import torch

    copy = tensor.detach().to("cpu").contiguous().clone()
    if type(copy) is not torch.Tensor:
        copy = copy.as_subclass(torch.Tensor)
    return copy


def encode(payload):
    """Serialize ``payload`` (JSON values and tensors) to one message."""
    tensors = {}
    torch = sys.modules.get("torch")  # no torch loaded: no tensor can be in the payload

    def walk(value):
        if torch is not None and isinstance(value, torch.Tensor):
            key = f"t{len(tensors)}"
            tensors[key] = _plain(value)
            return {_REF: key}
        if isinstance(value, dict):
            return {str(k): walk(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [walk(v) for v in value]
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        raise TypeError(f"cannot send a {type(value).__name__} over the wire")

    text = json.dumps(walk(payload)).encode("utf-8")
    if tensors:
        from safetensors.torch import save as _save_tensors

        blob = _save_tensors(tensors)
    else:
        blob = b""
    return HEADER.pack(len(text), len(blob)) + text + blob


def decode(text, blob):
    """Rebuild a payload from its JSON bytes and safetensors blob."""
    try:
        tree = json.loads(text.decode("utf-8"))
        if blob:
            from safetensors.torch import load as _load_tensors

            tensors = _load_tensors(blob)
        else:
            tensors = {}
    except Exception as err:  # any parse failure is the sender's problem
        raise WireError(f"unreadable message: {type(err).__name__}: {str(err)[:200]}") from None

    def walk(value):
        if isinstance(value, dict):
            if set(value) == {_REF}:
                key = value[_REF]
                if not isinstance(key, str) or key not in tensors:
                    raise WireError(f"message refers to a missing tensor {key!r}")
                return tensors[key]
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    try:
        return walk(tree)
    except RecursionError:
        raise WireError("unreadable message: nested too deeply") from None
    except WireError:
        raise
    except Exception as err:  # whatever a malformed message makes go wrong is the sender's problem
        raise WireError(f"unreadable message: {type(err).__name__}") from None


def _remaining(deadline):
    if deadline is None:
        return None
    left = deadline - time.monotonic()
    if left <= 0:
        raise Timeout("time limit reached")
    return left


def write_message(fd, data, deadline=None):
    """Write all of ``data`` to ``fd``; with a deadline, ``fd`` must be non-blocking."""
    view = memoryview(data)
    while view:
        if deadline is not None:
            _, ready, _ = select.select([], [fd], [], _remaining(deadline))
            if not ready:
                continue
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            continue
        except (BrokenPipeError, OSError) as err:
            raise Closed(f"channel closed while writing ({err})") from None
        view = view[written:]


def _read_exactly(fd, n, deadline):
    chunks, got = [], 0
    while got < n:
        if deadline is not None:
            ready, _, _ = select.select([fd], [], [], _remaining(deadline))
            if not ready:
                continue
        try:
            chunk = os.read(fd, min(n - got, 1 << 20))
        except BlockingIOError:
            continue
        except OSError as err:
            raise Closed(f"channel closed while reading ({err})") from None
        if not chunk:
            raise Closed("channel closed")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def read_message(fd, deadline=None, max_bytes=None):
    """Read one message from ``fd`` and decode it (``deadline``: a time.monotonic() value).

    The sizes in the header are checked against ``max_bytes`` (and the fixed
    caps) before a byte of the body is read or allocated.
    """
    text_len, blob_len = HEADER.unpack(_read_exactly(fd, HEADER.size, deadline))
    if text_len > MAX_JSON_BYTES or blob_len > MAX_BLOB_BYTES or (
            max_bytes is not None and text_len + blob_len > max_bytes):
        allowed = min(MAX_JSON_BYTES + MAX_BLOB_BYTES, max_bytes or MAX_JSON_BYTES + MAX_BLOB_BYTES)
        raise TooLarge(f"message too large: {text_len} + {blob_len} bytes (at most {MAX_JSON_BYTES} of JSON, "
                       f"{allowed} in all, for this request)")
    text = _read_exactly(fd, text_len, deadline)
    blob = _read_exactly(fd, blob_len, deadline) if blob_len else b""
    return decode(text, blob)

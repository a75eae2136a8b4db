"""Text to speech with eSpeak NG, loaded by ctypes from the `espeakng_loader` wheel.

The library is initialised once per process, lazily, in synchronous mode: a
callback collects the int16 samples that `espeak_Synth` produces, and
`synthesize` returns them as float32 in [-1, 1] at eSpeak's own rate
(22050 Hz for the bundled voices). A voice is a language optionally followed
by a variant, e.g. "en", "en-us+f2", "en+m3"; `list_variants` names the
variants in the data folder. eSpeak is not thread-safe, so calls are
serialised by a lock; separate processes each load their own copy.

eSpeak keeps state between calls (pitch-flutter phase, roughness cycle count,
the C library's random numbers), so the samples for a text depend slightly on
what was spoken before. `reset` unloads the library so that the next call
starts from the initial state: reset before each call for reproducible audio.
"""

from __future__ import annotations

import _ctypes
import ctypes
import functools
import threading
from pathlib import Path

import numpy as np

from asr.errors import AsrError

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_RATE, _PITCH, _RANGE = 1, 3, 4  # espeak_PARAMETER values
# int callback(short *wav, int numsamples, espeak_EVENT *events)
_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)

_lock = threading.Lock()
_state: dict = {}  # "lib", "rate", "callback" once initialised
_chunks: list[np.ndarray] = []


def _data_path() -> Path:
    try:
        import espeakng_loader
    except ImportError:
        raise AsrError("eSpeak NG is not installed (pip install espeakng-loader)") from None
    return Path(espeakng_loader.get_data_path())


def _collect(wav, numsamples: int, events) -> int:
    if numsamples > 0 and wav:
        _chunks.append(np.ctypeslib.as_array(wav, shape=(numsamples,)).copy())
    return 0  # 0 = continue synthesis


def _library() -> tuple[ctypes.CDLL, int]:
    """Load and initialise eSpeak NG once; return (library, sample rate in Hz). Hold `_lock`."""
    if "lib" in _state:
        return _state["lib"], _state["rate"]
    data = _data_path()
    import espeakng_loader

    try:
        lib = ctypes.CDLL(espeakng_loader.get_library_path())
    except OSError as e:
        raise AsrError(f"cannot load the eSpeak NG library ({e}); reinstall espeakng-loader") from None
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_SetSynthCallback.argtypes = [_CALLBACK]
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_Synth.argtypes = [
        ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
        ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
    ]
    rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, str(data).encode(), 0)
    if rate <= 0:
        raise AsrError(f"eSpeak NG failed to initialise with data folder {data}")
    lib.espeak_ng_SetRandSeed(1)
    ctypes.CDLL(None).srand(1)  # eSpeak also draws breath noise from the C library's rand()
    callback = _CALLBACK(_collect)
    lib.espeak_SetSynthCallback(callback)
    _state.update(lib=lib, rate=rate, callback=callback)  # keep the callback alive
    return lib, rate


def synthesize(
    text: str, voice: str = "en", rate: int = 175, pitch: int = 50, pitch_range: int = 50
) -> tuple[np.ndarray, int]:
    """Speak `text` with eSpeak NG.

    Args:
        text: UTF-8 text to speak.
        voice: language, optionally "+variant", e.g. "en-us+f2".
        rate: speaking rate, words per minute (80-450).
        pitch: base pitch, 0-100 (50 is the voice's normal).
        pitch_range: pitch variation, 0-100 (0 is monotone).

    Returns:
        (samples,) float32 wave in [-1, 1] and its sample rate in Hz.

    Raises:
        AsrError if the library cannot be loaded, the voice is unknown or
        synthesis fails.
    """
    with _lock:
        lib, sample_rate = _library()
        variant = voice.partition("+")[2]
        known = not variant or variant in _variants()
        if not known or lib.espeak_SetVoiceByName(voice.encode()) != 0:
            variants = ", ".join(_variants())
            raise AsrError(f"unknown eSpeak NG voice {voice!r} (language[+variant], variants: {variants})")
        for parameter, value in ((_RATE, rate), (_PITCH, pitch), (_RANGE, pitch_range)):
            lib.espeak_SetParameter(parameter, int(value), 0)
        data = text.encode("utf-8") + b"\0"
        _chunks.clear()
        status = lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        lib.espeak_Synchronize()
        if status != 0:
            raise AsrError(f"eSpeak NG failed to synthesise {text!r} (status {status})")
        samples = np.concatenate(_chunks) if _chunks else np.zeros(0, np.int16)
        _chunks.clear()
    return (samples.astype(np.float32) / 32768.0), sample_rate


def reset() -> None:
    """Unload eSpeak NG (if loaded) so that the next `synthesize` starts from its initial state."""
    with _lock:
        lib = _state.pop("lib", None)
        if lib is None:
            return
        lib.espeak_Terminate()
        _state.clear()
        close = getattr(_ctypes, "dlclose", None) or getattr(_ctypes, "FreeLibrary")
        close(lib._handle)


def list_variants() -> list[str]:
    """Names of the voice variants (e.g. "m3", "f2", "klatt") in the data folder's `voices/!v`."""
    return list(_variants())


@functools.lru_cache(maxsize=1)
def _variants() -> tuple[str, ...]:
    folder = _data_path() / "voices" / "!v"
    return tuple(sorted(p.name for p in folder.iterdir() if p.is_file()))

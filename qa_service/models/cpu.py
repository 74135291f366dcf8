"""What the CPU can do: the instruction sets that decide how fast our models run on it.

The int8 reader runs about 2.5x faster with AVX-512 VNNI than on an AVX2-only CPU, and bf16 is
emulated (several times slower than float32) without AVX-512 BF16 or AMX, so every benchmark
figure is recorded with these flags.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

#: The flags that matter here, in the order they are reported.
NOTABLE = (
    "avx2", "fma", "avx_vnni", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8",
)  # fmt: skip


@cache
def cpu_flags() -> tuple[str, ...]:
    """The NOTABLE flags this CPU has (Linux ``/proc/cpuinfo``; empty where unreadable)."""
    try:
        with Path("/proc/cpuinfo").open(encoding="utf-8") as f:
            line = next((line for line in f if line.startswith("flags")), "")
    except OSError:
        return ()
    have = set(line.partition(":")[2].split())
    return tuple(flag for flag in NOTABLE if flag in have)


def cpu_has_bf16() -> bool:
    """Whether the CPU computes bf16 natively (AVX-512 BF16 or AMX); elsewhere it is emulated
    and several times slower than float32 (measured: 400-token prefill 11 s vs 2.2 s on AVX2)."""
    return any(flag in cpu_flags() for flag in ("avx512_bf16", "amx_bf16"))

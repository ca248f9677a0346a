"""What the CPU can do: the one place that describes the machine a figure was measured on.

Speed on a CPU depends on its class far more than on its clock: the vector width PyTorch's
kernels use (AVX2, AVX-512, ARM's NEON/SVE), whether bfloat16 runs natively (AVX-512 or
ARM bf16; elsewhere oneDNN emulates it, many times slower than float32), and whether int8
dot products have their own instructions (VNNI, AMX). `cpu_info` gathers those facts,
`cpu_class` names the class in a few words, and `describe` makes the one line that every
benchmark figure and training run records.

PyTorch can be held to a lower class for a comparison on one machine
(`ATEN_CPU_CAPABILITY=avx2` for ATen's kernels, `ONEDNN_MAX_CPU_ISA=AVX2` for oneDNN's);
`cpu_info` reports both variables when they are set, and bfloat16 does not count as native
when oneDNN is held below AVX-512.
"""

from __future__ import annotations

import functools
import os
import platform

import torch

# oneDNN ISA limits below AVX-512: under these, bfloat16 convolutions are emulated
_ONEDNN_BELOW_AVX512 = ("SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2")


def _cpuinfo_fields() -> dict[str, str]:
    """The first processor's fields of /proc/cpuinfo ({} where there is none)."""
    fields: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if not line.strip():
                    if fields:
                        break
                    continue
                key, _, value = line.partition(":")
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    return fields


def _torch_cpu_flag(name: str) -> bool | None:
    fn = getattr(torch.cpu, name, None)
    try:
        return bool(fn()) if fn is not None else None
    except Exception:  # noqa: BLE001 - a build without the check: fall back to /proc/cpuinfo
        return None


def isa_level() -> str:
    """The vector instruction set PyTorch's CPU kernels run with: "AVX2", "AVX512",
    "DEFAULT" (no vector kernels, e.g. ARM without SVE), "SVE256", ..."""
    return torch.backends.cpu.get_cpu_capability()


def bf16_native() -> bool:
    """True where oneDNN runs bfloat16 natively on this CPU (AVX-512 or ARM bf16 and not held
    below AVX-512 by ONEDNN_MAX_CPU_ISA); elsewhere it emulates bfloat16, many times slower."""
    held = os.environ.get("ONEDNN_MAX_CPU_ISA", "").upper()
    if held in _ONEDNN_BELOW_AVX512:
        return False
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except Exception:  # noqa: BLE001 - PyTorch built without oneDNN
        return False


@functools.lru_cache(maxsize=1)
def _static_info() -> dict:
    fields = _cpuinfo_fields()
    flags = set(fields.get("flags", fields.get("Features", "")).split())
    model = (fields.get("model name") or fields.get("Model") or fields.get("Hardware")
             or platform.processor() or platform.machine() or "unknown CPU")

    def flag(torch_name: str, *cpu_flags: str) -> bool:
        # torch's check where it has one (it reads CPUID), or the kernel's flags
        return bool(_torch_cpu_flag(torch_name)) or any(f in flags for f in cpu_flags)

    return {
        "model": model,
        "arch": platform.machine(),
        "avx512": flag("_is_avx512_supported", "avx512f"),
        "avx512_bf16": flag("_is_avx512_bf16_supported", "avx512_bf16"),
        "vnni": flag("_is_vnni_supported", "avx512_vnni", "avx_vnni"),
        "amx": flag("_is_amx_tile_supported", "amx_tile"),
        "arm_bf16": "bf16" in flags,
        "cores": os.cpu_count(),
        "torch": str(torch.__version__),  # a plain str: TorchVersion does not load with weights_only
    }


def cpu_info() -> dict:
    """This CPU's capabilities as PyTorch sees them (a JSON-ready dict):

    model, arch, isa (get_cpu_capability), bf16_native, avx512, avx512_bf16, vnni, amx,
    cores, threads (torch.get_num_threads), torch, held (ATEN_CPU_CAPABILITY /
    ONEDNN_MAX_CPU_ISA when set: the run was held below what the CPU can do), and class
    (cpu_class: a few words that group CPUs of the same speed profile)."""
    info = {**_static_info(), "isa": isa_level(), "bf16_native": bf16_native(),
            "threads": torch.get_num_threads()}
    held = {k: os.environ[k] for k in ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA") if os.environ.get(k)}
    if held:
        info["held"] = held
    info["class"] = cpu_class(info)
    return info


def cpu_class(info: dict | None = None) -> str:
    """The class of a CPU in a few words, e.g. "AVX2, no native bf16" or
    "AVX-512, native bf16, VNNI": CPUs of one class have the same speed profile."""
    info = info or cpu_info()
    isa = info.get("isa", "")
    if isa.startswith("AVX512"):
        level = "AVX-512"
    elif isa == "AVX2":
        level = "AVX2"
    elif info.get("arch", "") in ("aarch64", "arm64"):
        level = "ARM" + (f" {isa}" if isa not in ("", "DEFAULT") else "")
    else:
        level = isa or "unknown ISA"
    words = [level, "native bf16" if info.get("bf16_native") else "no native bf16"]
    words += [name for name in ("VNNI", "AMX") if info.get(name.lower()) and _usable(name, info)]
    if info.get("held"):
        words.append("held by " + ", ".join(f"{k}={v}" for k, v in info["held"].items()))
    return ", ".join(words)


def _usable(feature: str, info: dict) -> bool:
    """Whether oneDNN may use a CPU feature under the run's ONEDNN_MAX_CPU_ISA (if any):
    held to AVX2, a CPU's VNNI and AMX instructions go unused."""
    held = info.get("held", {}).get("ONEDNN_MAX_CPU_ISA", "").upper()
    if held in ("", "ALL", "DEFAULT") or feature in held:
        return True
    return feature == "VNNI" and held.startswith(("AVX512_CORE_", "AVX10"))


def class_slug(info: dict | None = None) -> str:
    """cpu_class as a short identifier ("avx2", "avx512-bf16-vnni"), for file and section names."""
    info = info or cpu_info()
    isa = info.get("isa", "").lower() or "unknown"
    parts = [isa] + [name for name, on in (("bf16", info.get("bf16_native")),
                                            ("vnni", info.get("vnni") and _usable("VNNI", info)),
                                            ("amx", info.get("amx") and _usable("AMX", info))) if on]
    if info.get("held"):
        parts.append("held")
    return "-".join(parts)


def describe(info: dict | None = None) -> str:
    """One line: model, class, cores, torch threads and version, e.g.
    "AMD EPYC (AVX2, no native bf16), 2 cores, torch 2.13.0 on 2 threads"."""
    info = info or cpu_info()
    return (f"{info['model']} ({info['class']}), {info['cores']} cores, "
            f"torch {info['torch']} on {info['threads']} threads")

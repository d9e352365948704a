"""A one-line description of the machine a measurement ran on."""

from __future__ import annotations

import os
import platform

import torch


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe_hardware() -> str:
    """e.g. 'AMD EPYC, 2 CPU cores, no GPU; torch 2.14.1, Python 3.11.7, Linux'."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if torch.cuda.is_available():
        names = sorted({torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())})
        gpu = f"{torch.cuda.device_count()} x {', '.join(names)}"
    else:
        gpu = "no GPU"
    return (
        f"{cpu_name()}, {cores} CPU cores, {gpu}; torch {torch.__version__.split('+')[0]}, "
        f"Python {platform.python_version()}, {platform.system()}"
    )

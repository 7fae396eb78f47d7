"""Kubernetes quantities as people type them (``500m`` cores, ``512Mi``): the one parser.

Submission bounds each resource by what a node could give (NODE_LIMITS, or the listed nodes);
usage accounting and the backends read requests back through the same functions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]+)?|\.[0-9]+)(m|k|M|G|T|P|Ki|Mi|Gi|Ti|Pi)?$")
_FACTORS = {
    None: Decimal(1),
    "m": Decimal("0.001"),
    "k": Decimal(10**3),
    "M": Decimal(10**6),
    "G": Decimal(10**9),
    "T": Decimal(10**12),
    "P": Decimal(10**15),
    "Ki": Decimal(2**10),
    "Mi": Decimal(2**20),
    "Gi": Decimal(2**30),
    "Ti": Decimal(2**40),
    "Pi": Decimal(2**50),
}
MAX_QUANTITY_CHARS = 32
GIB = 2**30


@dataclass(frozen=True)
class NodeLimits:
    """The most any one job may ask for, whatever the cluster: no node is larger."""

    cpu: float = 1024.0
    memory: int = 64 * 2**40
    gpu: int = 64


NODE_LIMITS = NodeLimits()


def _decimal(value: Any, what: str) -> Decimal:
    if isinstance(value, bool):
        raise ValueError(f"must be {what}, not {value!r}")
    if isinstance(value, int | float):
        value = repr(value) if isinstance(value, float) else str(value)
    if not isinstance(value, str) or len(value.strip()) > MAX_QUANTITY_CHARS:
        raise ValueError(f"must be {what}")
    match = _QUANTITY.match(value.strip())
    if match is None:
        raise ValueError(f"must be {what}")
    try:
        return Decimal(match.group(1)) * _FACTORS[match.group(2)]
    except InvalidOperation:
        raise ValueError(f"must be {what}") from None


def cpu_cores(value: Any, limit: float = NODE_LIMITS.cpu) -> float:
    """Cores from ``2``, ``0.5``, ``"500m"`` or ``"2"``: positive, at most ``limit``."""
    cores = _decimal(value, "a number of cores such as 2, 0.5 or 500m")
    if cores <= 0:
        raise ValueError("must be a positive number of cores")
    if cores > Decimal(str(limit)):
        raise ValueError(f"asks for {cores} cores; at most {limit:g} can be given")
    return float(cores)


def memory_bytes(value: Any, limit: int = NODE_LIMITS.memory) -> int:
    """Bytes from ``"512Mi"``, ``"2Gi"``, ``"1G"`` or a number of bytes; at most ``limit``."""
    amount = _decimal(value, "a quantity such as 512Mi or 2Gi")
    if amount <= 0:
        raise ValueError("must be a positive quantity such as 512Mi or 2Gi")
    if amount > limit:
        raise ValueError(f"is more than {format_memory(limit)}, the most that can be given")
    return int(amount.to_integral_value())


def gpu_count(value: Any, limit: int = NODE_LIMITS.gpu) -> int:
    """A whole number of GPUs, 0 to ``limit``."""
    count = _decimal(value, "a whole number of GPUs")
    if count != count.to_integral_value() or count < 0:
        raise ValueError("must be a whole number of GPUs, 0 or more")
    if count > limit:
        raise ValueError(f"asks for {count} GPUs; at most {limit} can be given")
    return int(count)


def format_memory(amount: int) -> str:
    """The largest binary unit that divides ``amount`` exactly: 2Gi, 512Mi, 1000."""
    for suffix in ("Pi", "Ti", "Gi", "Mi", "Ki"):
        factor = int(_FACTORS[suffix])
        if amount >= factor and amount % factor == 0:
            return f"{amount // factor}{suffix}"
    return str(amount)

"""The `[scorer]` section of the config file."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ScorerSettings:
    mode: str = "block"          # "block" | "warn-only" | "off"
    block_threshold: float = 0.85
    warn_threshold: float = 0.6
    brands_file: str = ""        # an admin's extra brands, added to the shipped ones

    def __post_init__(self) -> None:
        if self.mode not in ("block", "warn-only", "off"):
            raise ValueError(f"mode: must be one of block, warn-only, off, not {self.mode!r}")
        for key in ("block_threshold", "warn_threshold"):
            if not 0.0 <= getattr(self, key) <= 1.0:
                raise ValueError(f"{key}: must be between 0 and 1")
        if self.warn_threshold > self.block_threshold:
            raise ValueError("warn_threshold: must not be above block_threshold")

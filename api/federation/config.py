"""Federation settings, read from ``LOOKOUT_FED_*`` environment variables (or ``.env``).

They sit beside the API's ``Settings`` rather than inside it so the federation package can
be tuned (deadlines, retry backoff) without touching the service's configuration; the unit
folder defaults to ``<data_dir>/unit``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class FederationSettings(BaseSettings):
    """Deadlines, delivery retry policy and file locations of the unit.

    >>> FederationSettings(deadline_urgent_seconds=60).deadline_for("urgent")
    60.0
    """

    model_config = SettingsConfigDict(env_prefix="LOOKOUT_FED_", env_file=".env", extra="ignore")

    unit_dir: Path | None = Field(
        default=None, description="folder of unit.yaml and the key pair; default <data_dir>/unit"
    )
    directory: Path | None = Field(
        default=None, description="partner directory YAML; default <unit_dir>/partners.yaml"
    )
    deadline_urgent_seconds: float = Field(default=4 * 3600, gt=0, description="urgent deadline")
    deadline_routine_seconds: float = Field(default=72 * 3600, gt=0, description="routine deadline")
    retry_base_seconds: float = Field(default=2.0, gt=0, description="first retry delay")
    retry_max_seconds: float = Field(default=600.0, gt=0, description="longest retry delay")
    poll_seconds: float = Field(default=1.0, gt=0, description="worker wake-up interval")
    request_timeout_seconds: float = Field(default=10.0, gt=0, description="one delivery attempt")
    clock_skew_seconds: float = Field(
        default=300.0, gt=0, description="inbound envelopes older or newer than this are refused"
    )
    worker: bool = Field(default=True, description="run the delivery worker inside the server")

    def deadline_for(self, priority: str) -> float:
        """Seconds allowed to answer a query of ``priority``."""
        return (
            self.deadline_urgent_seconds if priority == "urgent" else self.deadline_routine_seconds
        )

    def resolved_unit_dir(self, data_dir: Path) -> Path:
        """The unit folder, defaulting to ``<data_dir>/unit``."""
        return self.unit_dir if self.unit_dir is not None else data_dir / "unit"

    def resolved_directory(self, data_dir: Path) -> Path:
        """The partner directory file, defaulting to ``<unit_dir>/partners.yaml``."""
        if self.directory is not None:
            return self.directory
        return self.resolved_unit_dir(data_dir) / "partners.yaml"
